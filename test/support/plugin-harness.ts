/**
 * Drives a real provider executable over Terraform plugin protocol 6, the
 * way Terraform does, without Terraform.
 *
 * {@link ProviderHarness.start} performs the host side of the go-plugin
 * handshake (a fresh client certificate in `PLUGIN_CLIENT_CERT`, the magic
 * cookie, `PLUGIN_PROTOCOL_VERSIONS=6`), reads the handshake line and
 * connects over mutual TLS to the unix socket, trusting only the certificate
 * the line announced. Then:
 *
 * - typed RPCs take and return {@link TfValue}s, encoded with the schema the
 *   provider itself serves (`validateResourceConfig`, `planResourceChange`,
 *   …); they return diagnostics and never throw on them;
 * - lifecycle steps do what Terraform does around them and throw a
 *   {@link DiagnosticsError} on error diagnostics (`apply` = validate, plan,
 *   check the plan, apply, check the result; `refresh` = upgrade + read;
 *   `import` = import + read; `destroy`), so a test reads like the
 *   lifecycle: create, refresh, plan is a no-op, replace, import, destroy;
 * - `raw` gives the gRPC clients and wire messages for anything else.
 *
 * The checks Terraform makes on a provider's answers (a planned value must
 * equal the configured one; applied state must match the plan and be wholly
 * known) are made here too, so a resource test catches "Provider produced
 * inconsistent result" without running Terraform.
 *
 * The harness supports attributes and nested blocks in values, but computes
 * Terraform's proposed new state for top-level attributes only (nested blocks
 * are taken from the configuration as they are).
 */
import { type ChildProcess, spawn } from 'child_process';
import * as grpc from '@grpc/grpc-js';
import { type SelfSignedCert, derToPem, generateSelfSignedCert } from '../../src/tfplugin/certs';
import { decodeDynamicValue, encodeDynamicValue, encodeJsonValue } from '../../src/tfplugin/codec';
import { diagnosticFromWire, pathFromWire } from '../../src/tfplugin/diagnostics';
import { type HandshakeLine, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, parseHandshakeLine } from '../../src/tfplugin/handshake';
import { serviceDefinition } from '../../src/tfplugin/proto';
import { blockType, schemaFromWire } from '../../src/tfplugin/schema';
import { formatPath } from '../../src/tfplugin/tftype';
import {
  type ApplyResult,
  type AttributePath,
  type Diagnostic,
  type ImportedResource,
  type PlanResult,
  type ProviderSchemaJson,
  type ReadResult,
  type SchemaBlockJson,
  type TfType,
  type TfValue,
  isUnknown,
} from '../../src/tfplugin/types';
import { conformsToPlan, isWhollyKnown, valueEquals } from '../../src/tfplugin/values';
import type { DynamicValue, GetMetadataResponse, HealthCheckResponse, ProviderRpcName, ProviderRpcs, WireServerCapabilities } from '../../src/tfplugin/wire';

/** How to start a provider. */
export interface StartOptions {
  /** The provider executable (e.g. `bin/terraform-provider-appreg`). */
  executable: string;
  args?: string[];
  /** Added to (and overriding) this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Give up waiting for the handshake line after this long. Default 30 s. */
  handshakeTimeoutMs?: number;
  /** `PLUGIN_PROTOCOL_VERSIONS` to offer. Default `6`. */
  protocolVersions?: string;
  /** Leave out automatic mutual TLS (no `PLUGIN_CLIENT_CERT`), as go-plugin hosts that disable it do. */
  noTls?: boolean;
}

/** Error diagnostics from a lifecycle step; the message lists them the way Terraform prints them. */
export class DiagnosticsError extends Error {
  constructor(
    readonly step: string,
    readonly diagnostics: Diagnostic[],
  ) {
    super(`${step} failed:\n${formatDiagnostics(diagnostics)}`);
    this.name = 'DiagnosticsError';
  }
}

/** A provider answer Terraform would reject ("Provider produced invalid plan" / "inconsistent result after apply"). */
export class ProviderContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderContractError';
  }
}

/** Diagnostics as text, one block per diagnostic: `Error: summary (at path)\n  detail`. */
export function formatDiagnostics(diags: readonly Diagnostic[]): string {
  return diags
    .map((d) => {
      const head = `${d.severity === 'error' ? 'Error' : 'Warning'}: ${d.summary}${d.attribute ? ` (at ${formatPath(d.attribute)})` : ''}`;
      return d.detail ? `${head}\n  ${d.detail.replace(/\n/g, '\n  ')}` : head;
    })
    .join('\n');
}

/** What Terraform would do with a planned change. */
export type PlannedAction = 'create' | 'update' | 'replace' | 'noop';

/** The outcome of {@link ProviderHarness.plan}. */
export interface PlanOutcome extends PlanResult {
  action: PlannedAction;
  /** The proposed new state sent to the provider. */
  proposed: TfValue;
}

/** The outcome of {@link ProviderHarness.apply}. */
export interface ApplyOutcome {
  action: PlannedAction;
  plan: PlanOutcome;
  /** The state after apply (the prior state for a no-op). */
  newState: TfValue;
  private?: Uint8Array;
  /** Warnings collected along the way. */
  diagnostics: Diagnostic[];
}

type Obj = { [k: string]: TfValue };
const isObj = (v: TfValue): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !isUnknown(v);

/** The value at a path, or null where the path leads nowhere. */
function valueAt(value: TfValue, path: AttributePath): TfValue {
  let v: TfValue = value;
  for (const step of path) {
    if (v === null || isUnknown(v)) return v;
    if (typeof step === 'string' || 'key' in step) {
      const k = typeof step === 'string' ? step : step.key;
      v = isObj(v) ? (v[k] ?? null) : null;
    } else {
      v = Array.isArray(v) ? (v[step.index] ?? null) : null;
    }
  }
  return v;
}

function typeAt(type: TfType, path: AttributePath): TfType {
  let t = type;
  for (const step of path) {
    if (typeof t === 'string') return 'dynamic';
    const [kind, arg] = t;
    if (kind === 'object') t = arg[typeof step === 'string' ? step : 'key' in step ? step.key : ''] ?? 'dynamic';
    else if (kind === 'tuple') t = typeof step === 'object' && 'index' in step ? (arg[step.index] ?? 'dynamic') : 'dynamic';
    else t = arg;
  }
  return t;
}

/**
 * Terraform's proposed new state: configured values, except that a computed
 * attribute left out of the configuration keeps its prior value (null on
 * create, for the provider to fill in).
 */
export function proposedNewState(block: SchemaBlockJson, prior: TfValue, config: TfValue): TfValue {
  if (config === null) return null;
  const p = isObj(prior) ? prior : {};
  const c = config as Obj;
  const out: Obj = {};
  for (const [name, attr] of Object.entries(block.attributes ?? {})) {
    const cv = c[name] ?? null;
    out[name] = attr.computed && cv === null ? (p[name] ?? null) : cv;
  }
  for (const name of Object.keys(block.block_types ?? {})) out[name] = c[name] ?? null;
  return out;
}

type UnaryClient = grpc.Client & { [rpc: string]: (req: object, cb: (err: grpc.ServiceError | null, res: object) => void) => grpc.ClientUnaryCall };

/** A running provider process and the clients connected to it. */
export class ProviderHarness {
  private static running = new Set<ProviderHarness>();

  /** Everything the provider wrote to stderr so far. */
  private stderrText = '';
  private stdoutRest = '';
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;
  private schemaCache: Promise<ProviderSchemaJson> | undefined;
  private readonly clients: { provider: UnaryClient; controller: UnaryClient; health: UnaryClient; stdio: grpc.Client };

  private constructor(
    /** The child process. */
    readonly process: ChildProcess,
    /** The parsed handshake line. */
    readonly handshake: HandshakeLine,
    /** The certificate this host presented. */
    readonly clientCert: SelfSignedCert | undefined,
    stderrSoFar: string,
    stdoutSoFar: string,
  ) {
    this.stderrText = stderrSoFar;
    this.stdoutRest = stdoutSoFar;
    process.stderr!.on('data', (d: Buffer) => (this.stderrText += d.toString()));
    process.stdout!.on('data', (d: Buffer) => (this.stdoutRest += d.toString()));
    this.exited = new Promise((resolve) => {
      if (process.exitCode !== null) resolve(process.exitCode);
      process.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });

    const creds =
      handshake.serverCertDer && clientCert
        ? grpc.credentials.createSsl(Buffer.from(derToPem(handshake.serverCertDer)), Buffer.from(clientCert.keyPem), Buffer.from(clientCert.certPem))
        : grpc.credentials.createInsecure();
    const target = handshake.network === 'unix' ? `unix:${handshake.address}` : handshake.address;
    const options: grpc.ChannelOptions = {
      // go-plugin's certificates name localhost; the socket path is no host name.
      'grpc.ssl_target_name_override': 'localhost',
      'grpc.default_authority': 'localhost',
      'grpc.max_receive_message_length': 256 << 20,
      'grpc.max_send_message_length': 256 << 20,
    };
    const make = (service: string): UnaryClient => {
      const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(service), service);
      return new Ctor(target, creds, options) as unknown as UnaryClient;
    };
    this.clients = {
      provider: make('tfplugin6.Provider'),
      controller: make('plugin.GRPCController'),
      health: make('grpc.health.v1.Health'),
      stdio: make('plugin.GRPCStdio'),
    };
    ProviderHarness.running.add(this);
  }

  /** Starts a provider and completes the handshake. */
  static async start(opts: StartOptions): Promise<ProviderHarness> {
    const clientCert = opts.noTls ? undefined : generateSelfSignedCert({ organization: 'appreg test harness' });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
      PLUGIN_PROTOCOL_VERSIONS: opts.protocolVersions ?? '6',
      ...(clientCert ? { PLUGIN_CLIENT_CERT: clientCert.certPem } : {}),
      ...opts.env,
    };
    if (!clientCert) delete env.PLUGIN_CLIENT_CERT;
    const child = spawn(opts.executable, opts.args ?? [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const onStderr = (d: Buffer): void => {
      stderr += d.toString();
    };
    child.stderr!.on('data', onStderr);

    const { line, rest } = await new Promise<{ line: string; rest: string }>((resolve, reject) => {
      let out = '';
      const timeoutMs = opts.handshakeTimeoutMs ?? 30_000;
      const fail = (why: string): void => {
        cleanup();
        child.kill('SIGKILL');
        reject(new Error(`${opts.executable}: ${why}\n--- stderr ---\n${stderr}`));
      };
      const timer = setTimeout(() => fail(`no handshake line within ${timeoutMs} ms`), timeoutMs);
      const onData = (d: Buffer): void => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          cleanup();
          resolve({ line: out.slice(0, nl), rest: out.slice(nl + 1) });
        }
      };
      const onExit = (code: number | null, signal: string | null): void => fail(`exited (code ${code}, signal ${signal}) before the handshake`);
      const onError = (err: Error): void => fail(`could not start: ${err.message}`);
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });
    child.stderr!.off('data', onStderr);
    const handshake = parseHandshakeLine(line);
    if (handshake.protocolVersion !== 6) throw new Error(`provider answered protocol ${handshake.protocolVersion}, expected 6`);
    if (clientCert && !handshake.serverCertDer) throw new Error('provider offered no certificate although the host asked for mutual TLS');
    return new ProviderHarness(child, handshake, clientCert, stderr, rest);
  }

  /** Shuts down every harness still running (for `afterAll`). */
  static async closeAll(): Promise<void> {
    await Promise.all([...ProviderHarness.running].map((h) => h.close()));
  }

  /** What the provider wrote to stderr so far. */
  stderr(): string {
    return this.stderrText;
  }

  /**
   * Stderr once it matches `pattern`, or as it is after `timeoutMs`. A log line
   * written before an RPC's answer can still arrive after it: the answer and
   * the stderr pipe are separate streams.
   */
  async stderrMatching(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(this.stderrText) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.stderrText;
  }

  /** What the provider wrote to stdout after the handshake line. */
  stdout(): string {
    return this.stdoutRest;
  }

  /** The process's exit code once it has exited (undefined while running). */
  get exitStatus(): number | null | undefined {
    return this.exitCode;
  }

  // ---------------------------------------------------------------- raw

  /** The gRPC clients and a typed raw call, for what the typed methods do not cover. */
  get raw(): {
    clients: { provider: grpc.Client; controller: grpc.Client; health: grpc.Client; stdio: grpc.Client };
    call: <K extends ProviderRpcName>(rpc: K, req: ProviderRpcs[K]['req']) => Promise<ProviderRpcs[K]['res']>;
  } {
    return { clients: this.clients, call: (rpc, req) => this.unary(this.clients.provider, rpc, req) as never };
  }

  private unary(client: UnaryClient, rpc: string, req: object): Promise<object> {
    return new Promise((resolve, reject) => {
      client[rpc](req, (err, res) => (err ? reject(new Error(`${rpc}: ${err.message}\n--- provider stderr ---\n${this.stderrText}`)) : resolve(res)));
    });
  }

  private call<K extends ProviderRpcName>(rpc: K, req: ProviderRpcs[K]['req']): Promise<ProviderRpcs[K]['res']> {
    return this.unary(this.clients.provider, rpc, req) as Promise<ProviderRpcs[K]['res']>;
  }

  // ---------------------------------------------------------------- schema

  /** GetProviderSchema, converted back to the JSON shape; with its diagnostics and capabilities. */
  async getProviderSchema(): Promise<{ schema: ProviderSchemaJson; diagnostics: Diagnostic[]; capabilities: WireServerCapabilities }> {
    const res = await this.call('GetProviderSchema', {});
    const map = (m: { [t: string]: import('../../src/tfplugin/wire').WireSchema }): { [t: string]: import('../../src/tfplugin/types').SchemaJson } =>
      Object.fromEntries(Object.entries(m).map(([t, s]) => [t, schemaFromWire(s)]));
    return {
      schema: {
        provider: res.provider ? schemaFromWire(res.provider) : { version: 0, block: {} },
        resource_schemas: map(res.resource_schemas),
        data_source_schemas: map(res.data_source_schemas),
      },
      diagnostics: res.diagnostics.map(diagnosticFromWire),
      capabilities: res.server_capabilities ?? {},
    };
  }

  /** The schema the provider serves (fetched once). */
  schema(): Promise<ProviderSchemaJson> {
    this.schemaCache ??= this.getProviderSchema().then((r) => {
      if (r.diagnostics.some((d) => d.severity === 'error')) throw new DiagnosticsError('GetProviderSchema', r.diagnostics);
      return r.schema;
    });
    return this.schemaCache;
  }

  /** GetMetadata as the provider answers it. */
  getMetadata(): Promise<GetMetadataResponse> {
    return this.call('GetMetadata', {});
  }

  private async resourceSchema(typeName: string): Promise<{ block: SchemaBlockJson; type: TfType; version: number }> {
    const s = (await this.schema()).resource_schemas[typeName];
    if (!s) throw new Error(`the provider has no resource type ${typeName}`);
    return { block: s.block, type: blockType(s.block), version: s.version };
  }

  private async dataSourceType(typeName: string): Promise<TfType> {
    const s = (await this.schema()).data_source_schemas[typeName];
    if (!s) throw new Error(`the provider has no data source type ${typeName}`);
    return blockType(s.block);
  }

  private async providerType(): Promise<TfType> {
    return blockType((await this.schema()).provider.block);
  }

  // ---------------------------------------------------------------- typed RPCs

  /** ValidateProviderConfig. */
  async validateProviderConfig(config: TfValue): Promise<Diagnostic[]> {
    const res = await this.call('ValidateProviderConfig', { config: encodeDynamicValue(config, await this.providerType()) });
    return res.diagnostics.map(diagnosticFromWire);
  }

  /** ConfigureProvider. */
  async configureProvider(config: TfValue, terraformVersion = '1.11.4'): Promise<Diagnostic[]> {
    const res = await this.call('ConfigureProvider', { terraform_version: terraformVersion, config: encodeDynamicValue(config, await this.providerType()) });
    return res.diagnostics.map(diagnosticFromWire);
  }

  /** ValidateResourceConfig. */
  async validateResourceConfig(typeName: string, config: TfValue): Promise<Diagnostic[]> {
    const { type } = await this.resourceSchema(typeName);
    const res = await this.call('ValidateResourceConfig', { type_name: typeName, config: encodeDynamicValue(config, type) });
    return res.diagnostics.map(diagnosticFromWire);
  }

  /** ValidateDataResourceConfig. */
  async validateDataResourceConfig(typeName: string, config: TfValue): Promise<Diagnostic[]> {
    const res = await this.call('ValidateDataResourceConfig', { type_name: typeName, config: encodeDynamicValue(config, await this.dataSourceType(typeName)) });
    return res.diagnostics.map(diagnosticFromWire);
  }

  /** UpgradeResourceState with stored JSON (text, or a value encoded with the current schema). */
  async upgradeResourceState(typeName: string, version: number, rawState: string | TfValue): Promise<{ state: TfValue; diagnostics: Diagnostic[] }> {
    const { type } = await this.resourceSchema(typeName);
    const json = typeof rawState === 'string' ? rawState : encodeJsonValue(rawState, type);
    const res = await this.call('UpgradeResourceState', { type_name: typeName, version, raw_state: { json: Buffer.from(json) } });
    return { state: this.decode(res.upgraded_state, type), diagnostics: res.diagnostics.map(diagnosticFromWire) };
  }

  /** ReadResource. */
  async readResource(typeName: string, state: TfValue, priv?: Uint8Array): Promise<ReadResult> {
    const { type } = await this.resourceSchema(typeName);
    const res = await this.call('ReadResource', { type_name: typeName, current_state: encodeDynamicValue(state, type), ...(priv ? { private: priv } : {}) });
    return { newState: this.decode(res.new_state, type), ...nonEmpty('private', res.private), diagnostics: res.diagnostics.map(diagnosticFromWire) };
  }

  /** PlanResourceChange, with the proposed new state given as is. */
  async planResourceChange(typeName: string, prior: TfValue, proposed: TfValue, config: TfValue, priorPrivate?: Uint8Array): Promise<PlanResult> {
    const { type } = await this.resourceSchema(typeName);
    const res = await this.call('PlanResourceChange', {
      type_name: typeName,
      prior_state: encodeDynamicValue(prior, type),
      proposed_new_state: encodeDynamicValue(proposed, type),
      config: encodeDynamicValue(config, type),
      ...(priorPrivate ? { prior_private: priorPrivate } : {}),
    });
    return {
      plannedState: this.decode(res.planned_state, type),
      requiresReplace: res.requires_replace.map(pathFromWire),
      ...(res.planned_private?.length ? { plannedPrivate: res.planned_private } : {}),
      diagnostics: res.diagnostics.map(diagnosticFromWire),
    };
  }

  /** ApplyResourceChange. */
  async applyResourceChange(typeName: string, prior: TfValue, planned: TfValue, config: TfValue, plannedPrivate?: Uint8Array): Promise<ApplyResult> {
    const { type } = await this.resourceSchema(typeName);
    const res = await this.call('ApplyResourceChange', {
      type_name: typeName,
      prior_state: encodeDynamicValue(prior, type),
      planned_state: encodeDynamicValue(planned, type),
      config: encodeDynamicValue(config, type),
      ...(plannedPrivate ? { planned_private: plannedPrivate } : {}),
    });
    return { newState: this.decode(res.new_state, type), ...nonEmpty('private', res.private), diagnostics: res.diagnostics.map(diagnosticFromWire) };
  }

  /** ImportResourceState. */
  async importResourceState(typeName: string, id: string): Promise<{ imported: ImportedResource[]; diagnostics: Diagnostic[] }> {
    const res = await this.call('ImportResourceState', { type_name: typeName, id });
    const imported: ImportedResource[] = [];
    for (const r of res.imported_resources) {
      const { type } = await this.resourceSchema(r.type_name);
      imported.push({ typeName: r.type_name, state: this.decode(r.state, type), ...nonEmpty('private', r.private) });
    }
    return { imported, diagnostics: res.diagnostics.map(diagnosticFromWire) };
  }

  /** ReadDataSource. */
  async readDataSource(typeName: string, config: TfValue): Promise<{ state: TfValue; diagnostics: Diagnostic[] }> {
    const type = await this.dataSourceType(typeName);
    const res = await this.call('ReadDataSource', { type_name: typeName, config: encodeDynamicValue(config, type) });
    return { state: this.decode(res.state, type), diagnostics: res.diagnostics.map(diagnosticFromWire) };
  }

  /** StopProvider; resolves to the error text the provider reported, if any. */
  async stopProvider(): Promise<string | undefined> {
    const res = await this.call('StopProvider', {});
    return res.Error || undefined;
  }

  /** The gRPC health check go-plugin uses. */
  health(service = 'plugin'): Promise<HealthCheckResponse> {
    return this.unary(this.clients.health, 'Check', { service }) as Promise<HealthCheckResponse>;
  }

  private decode(dv: DynamicValue | null | undefined, type: TfType): TfValue {
    return decodeDynamicValue(dv, type);
  }

  // ---------------------------------------------------------------- lifecycle steps

  /** Validates and configures the provider, as Terraform does before any resource call. */
  async configure(config: TfValue, terraformVersion?: string): Promise<Diagnostic[]> {
    const v = await this.validateProviderConfig(config);
    throwOnErrors('ValidateProviderConfig', v);
    const c = await this.configureProvider(config, terraformVersion);
    throwOnErrors('ConfigureProvider', c);
    return [...v, ...c];
  }

  /**
   * Validates a configuration and plans it against a prior state (null to
   * create), then checks the plan as Terraform would. Throws
   * {@link DiagnosticsError} on error diagnostics and
   * {@link ProviderContractError} on a plan Terraform would reject.
   */
  async plan(typeName: string, prior: TfValue, config: TfValue, priorPrivate?: Uint8Array): Promise<PlanOutcome> {
    const { block, type } = await this.resourceSchema(typeName);
    const v = await this.validateResourceConfig(typeName, config);
    throwOnErrors(`ValidateResourceConfig ${typeName}`, v);
    const proposed = proposedNewState(block, prior, config);
    const res = await this.planResourceChange(typeName, prior, proposed, config, priorPrivate);
    throwOnErrors(`PlanResourceChange ${typeName}`, res.diagnostics);
    checkPlan(typeName, block, config, res.plannedState);
    return { ...res, diagnostics: [...v, ...res.diagnostics], proposed, action: plannedAction(type, prior, res) };
  }

  /**
   * Plans and applies a configuration like `terraform apply`: creates (prior
   * null), updates in place, replaces (destroy, then plan and apply a create,
   * when a changed attribute requires it), or does nothing when the plan
   * equals the prior state. Checks the plan and the applied state the way
   * Terraform does.
   */
  async apply(typeName: string, prior: TfValue, config: TfValue, priorPrivate?: Uint8Array): Promise<ApplyOutcome> {
    const { type } = await this.resourceSchema(typeName);
    const plan = await this.plan(typeName, prior, config, priorPrivate);
    const diagnostics = [...plan.diagnostics];
    if (plan.action === 'noop') return { action: 'noop', plan, newState: prior, ...(priorPrivate ? { private: priorPrivate } : {}), diagnostics };
    let toApply: PlanResult = plan;
    let from: TfValue = prior;
    if (plan.action === 'replace') {
      // As Terraform: plan the create while the old object still exists, then destroy, then create.
      toApply = await this.plan(typeName, null, config);
      diagnostics.push(...toApply.diagnostics);
      diagnostics.push(...(await this.destroy(typeName, prior, priorPrivate)));
      from = null;
    }
    const res = await this.applyResourceChange(typeName, from, toApply.plannedState, config, toApply.plannedPrivate);
    throwOnErrors(`ApplyResourceChange ${typeName}`, res.diagnostics);
    checkApplied(typeName, type, toApply.plannedState, res.newState);
    diagnostics.push(...res.diagnostics);
    return { action: plan.action, plan, newState: res.newState, ...(res.private ? { private: res.private } : {}), diagnostics };
  }

  /** Destroys an object the way Terraform does without `plan_destroy`: ApplyResourceChange with a null plan and config. */
  async destroy(typeName: string, prior: TfValue, priorPrivate?: Uint8Array): Promise<Diagnostic[]> {
    const res = await this.applyResourceChange(typeName, prior, null, null, priorPrivate);
    throwOnErrors(`ApplyResourceChange ${typeName} (destroy)`, res.diagnostics);
    if (res.newState !== null) throw new ProviderContractError(`${typeName}: destroy returned a non-null state`);
    return res.diagnostics;
  }

  /**
   * Refreshes a stored object as `terraform plan` does: UpgradeResourceState
   * (the state as JSON, at the current schema version unless given), then
   * ReadResource. The state is null when the object is gone.
   */
  async refresh(typeName: string, state: TfValue, priv?: Uint8Array, opts: { version?: number } = {}): Promise<ReadResult> {
    const { version } = await this.resourceSchema(typeName);
    const up = await this.upgradeResourceState(typeName, opts.version ?? version, state);
    throwOnErrors(`UpgradeResourceState ${typeName}`, up.diagnostics);
    const res = await this.readResource(typeName, up.state, priv);
    throwOnErrors(`ReadResource ${typeName}`, res.diagnostics);
    if (res.newState !== null && !isWhollyKnown(res.newState)) throw new ProviderContractError(`${typeName}: ReadResource returned unknown values`);
    return { ...res, diagnostics: [...up.diagnostics, ...res.diagnostics] };
  }

  /** Imports like `terraform import`: ImportResourceState, then ReadResource of each object (an object that reads as gone is an error, as in Terraform). */
  async import(typeName: string, id: string): Promise<ImportedResource[]> {
    const res = await this.importResourceState(typeName, id);
    throwOnErrors(`ImportResourceState ${typeName}`, res.diagnostics);
    if (res.imported.length === 0) throw new ProviderContractError(`${typeName}: import of ${id} returned no object`);
    const out: ImportedResource[] = [];
    for (const r of res.imported) {
      const read = await this.readResource(r.typeName, r.state, r.private);
      throwOnErrors(`ReadResource ${r.typeName} (after import)`, read.diagnostics);
      if (read.newState === null) throw new DiagnosticsError(`import ${typeName} ${id}`, [{ severity: 'error', summary: 'Cannot import non-existent remote object' }]);
      out.push({ typeName: r.typeName, state: read.newState, ...(read.private ? { private: read.private } : {}) });
    }
    return out;
  }

  /** Reads a data source like Terraform: validate, then read; throws on error diagnostics. */
  async read(typeName: string, config: TfValue): Promise<TfValue> {
    throwOnErrors(`ValidateDataResourceConfig ${typeName}`, await this.validateDataResourceConfig(typeName, config));
    const res = await this.readDataSource(typeName, config);
    throwOnErrors(`ReadDataSource ${typeName}`, res.diagnostics);
    return res.state;
  }

  // ---------------------------------------------------------------- process

  /** Asks the provider to exit (GRPCController.Shutdown, as Terraform does) and resolves to its exit code. */
  async shutdown(timeoutMs = 5000): Promise<number | null> {
    if (this.exitCode === undefined) {
      await this.unary(this.clients.controller, 'Shutdown', {}).catch(() => undefined);
      const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.closeClients();
    return this.exitCode ?? null;
  }

  /** Waits for the process to exit on its own. */
  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  /** Shuts down if still running; never throws. */
  async close(): Promise<void> {
    try {
      await this.shutdown();
    } catch {
      this.process.kill('SIGKILL');
    }
  }

  private closeClients(): void {
    for (const c of Object.values(this.clients)) c.close();
    ProviderHarness.running.delete(this);
  }
}

function nonEmpty(key: 'private', b: Uint8Array | undefined): { private?: Uint8Array } {
  return b && b.length ? { [key]: b } : {};
}

function throwOnErrors(step: string, diags: Diagnostic[]): void {
  if (diags.some((d) => d.severity === 'error')) throw new DiagnosticsError(step, diags);
}

/** What Terraform does with a plan: replace if a path that requires replacement changed, no-op if nothing changed. */
export function plannedAction(type: TfType, prior: TfValue, plan: PlanResult): PlannedAction {
  if (prior === null) return 'create';
  const changed = plan.requiresReplace.some((path) => {
    const before = valueAt(prior, path);
    const after = valueAt(plan.plannedState, path);
    return isUnknown(after) || !valueEquals(typeAt(type, path), before, after);
  });
  if (changed) return 'replace';
  return valueEquals(type, prior, plan.plannedState) ? 'noop' : 'update';
}

/** Terraform's checks of a plan against the configuration ("Provider produced invalid plan"). */
function checkPlan(typeName: string, block: SchemaBlockJson, config: TfValue, planned: TfValue): void {
  if (!isObj(planned)) throw new ProviderContractError(`${typeName}: Provider produced invalid plan: planned state is ${planned === null ? 'null' : 'not an object'}`);
  const c = (config ?? {}) as Obj;
  for (const [name, attr] of Object.entries(block.attributes ?? {})) {
    const cv = c[name] ?? null;
    const pv = planned[name] ?? null;
    // A computed attribute the configuration leaves unset is the provider's to choose.
    if (attr.computed && cv === null) continue;
    if (!valueEquals(attr.type, cv, pv)) {
      throw new ProviderContractError(
        `${typeName}: Provider produced invalid plan: planned value ${show(pv)} for ${name} does not match config value ${show(cv)}`,
      );
    }
  }
}

/** Terraform's checks of applied state against the plan ("Provider produced inconsistent result after apply"). */
function checkApplied(typeName: string, type: TfType, planned: TfValue, actual: TfValue): void {
  if (actual === null) throw new ProviderContractError(`${typeName}: Provider produced inconsistent result after apply: the new state is null`);
  if (!isWhollyKnown(actual)) throw new ProviderContractError(`${typeName}: Provider produced inconsistent result after apply: the new state has unknown values`);
  const attrs = typeof type !== 'string' && type[0] === 'object' ? type[1] : {};
  for (const [name, t] of Object.entries(attrs)) {
    const p = (planned as Obj)[name] ?? null;
    const a = (actual as Obj)[name] ?? null;
    if (!conformsToPlan(t, p, a)) {
      throw new ProviderContractError(`${typeName}: Provider produced inconsistent result after apply: .${name} was ${show(p)}, but now ${show(a)}`);
    }
  }
}

function show(v: TfValue): string {
  return JSON.stringify(v, (_k, x: unknown) => (isUnknown(x) ? '(known after apply)' : x));
}
