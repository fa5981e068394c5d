/**
 * The appreg provider: implements the protocol-facing {@link ProviderServer}
 * by dispatching to the resources, doing the generic parts (configuration,
 * defaults and replacement from the schema, error mapping) once for all.
 */
import { DATA_SOURCES, RESOURCES } from '../resources';
import type { DataSource, Resource, ResourceContext } from '../resources/resource';
import { decodePrivate, encodePrivate, hasErrors, planFromSpec, providerSchemaJson, validateReadOnly, type State, type StoredState } from '../framework';
import { appregProvider } from '../schema';
import { checkProviderEndpoint, resolveAllowInsecureHttp, validateProviderConfig } from './config-validation';
import {
  isUnknown,
  type ApplyResult,
  type Diagnostic,
  type ImportedResource,
  type PlanResult,
  type ProviderSchemaJson,
  type ProviderServer,
  type ReadResult,
  type TfValue,
} from '../tfplugin/types';
import { decodeJsonValue } from '../tfplugin/codec';
import { blockType } from '../tfplugin/schema';
import { VERSION } from '../version';
import { TenantView } from '../resources/tenant';
import { ReadSnapshot } from '../resources/snapshot';
import { diagnosticsFor } from './diagnostics';

const asState = (v: TfValue): State => v as State;

function err(summary: string, detail: string): Diagnostic {
  return { severity: 'error', summary, detail };
}

/** Options for {@link AppregProvider}; tests set a short retry policy. */
export interface AppregProviderOptions {
  /** Where `APPREG_ENDPOINT`, `APPREG_TOKEN` and `APPREG_ALLOW_INSECURE_HTTP` are read from. */
  env?: NodeJS.ProcessEnv;
  resources?: readonly Resource[];
  dataSources?: readonly DataSource[];
}

/** The appreg provider. */
export class AppregProvider implements ProviderServer {
  private readonly env: NodeJS.ProcessEnv;
  private readonly resources: Map<string, Resource>;
  private readonly dataSources: Map<string, DataSource>;
  private ctx: ResourceContext | undefined;
  private schemaCache: ProviderSchemaJson | undefined;

  constructor(options: AppregProviderOptions = {}) {
    this.env = options.env ?? process.env;
    this.resources = new Map((options.resources ?? RESOURCES).map((r) => [r.spec.typeName, r]));
    this.dataSources = new Map((options.dataSources ?? DATA_SOURCES).map((d) => [d.spec.typeName, d]));
  }

  schema(): ProviderSchemaJson {
    return (this.schemaCache ??= providerSchemaJson(appregProvider));
  }

  async validateProviderConfig(config: TfValue): Promise<Diagnostic[]> {
    return validateProviderConfig(asState(config), this.env);
  }

  async configureProvider(config: TfValue, terraformVersion: string): Promise<Diagnostic[]> {
    const c = asState(config);
    // Checks the endpoint of the provider block, with allow_insecure_http resolved against the environment.
    const diags = validateProviderConfig(c, this.env);
    if (isUnknown(c.endpoint) || isUnknown(c.token) || isUnknown(c.allow_insecure_http)) {
      // Values from resources not yet created: nothing can be read or planned against the service yet.
      diags.push(err('Provider configuration not known yet', 'endpoint, token and allow_insecure_http must be known at plan time; do not derive them from resources created in the same run.'));
    }
    const endpoint = typeof c.endpoint === 'string' ? c.endpoint : this.env.APPREG_ENDPOINT;
    const token = typeof c.token === 'string' ? c.token : this.env.APPREG_TOKEN;
    if (!endpoint) diags.push({ ...err('Missing registration service endpoint', 'Set endpoint in the appreg provider block, or the APPREG_ENDPOINT environment variable, to the URL of the registration service (e.g. http://127.0.0.1:8787).'), attribute: ['endpoint'] });
    else if (c.endpoint === null || c.endpoint === undefined) {
      // The endpoint from the environment gets the same checks as one in the provider block:
      // no token goes over plain http to another host unless allow_insecure_http says so.
      const { allow } = resolveAllowInsecureHttp(c, this.env);
      diags.push(...checkProviderEndpoint(endpoint, allow === true, 'endpoint (from APPREG_ENDPOINT)'));
    }
    if (!token) diags.push({ ...err('Missing API token', 'Set token in the appreg provider block, or the APPREG_TOKEN environment variable (see `appreg admin token create`).'), attribute: ['token'] });
    if (hasErrors(diags)) return diags;
    // Loaded here, not at start: Terraform starts the provider several times per
    // command, mostly for the schema, and axios and zod are most of the load time.
    const { AppregClient } = await import('../client');
    const client = new AppregClient({
      endpoint: endpoint!,
      token: token!,
      userAgent: `terraform-provider-appreg/${VERSION} (terraform ${terraformVersion})`,
    });
    // One view of the tenant per configuration: the plan-time checks of every client share its one
    // read of the settings, and a client sees that an earlier-planned tenant setting turns OAuth on.
    // One snapshot too: refresh reads are served from one walk of each group's list, and
    // Terraform configures the provider at the start of each command, so neither outlives it.
    this.ctx = { client, tenant: new TenantView(client), snapshot: new ReadSnapshot(client) };
    return diags;
  }

  async validateResourceConfig(typeName: string, config: TfValue): Promise<Diagnostic[]> {
    const res = this.resource(typeName);
    return [...validateReadOnly(res.spec, asState(config)), ...res.validate(asState(config))];
  }

  async validateDataResourceConfig(typeName: string, config: TfValue): Promise<Diagnostic[]> {
    const ds = this.dataSource(typeName);
    return [...validateReadOnly(ds.spec, asState(config)), ...ds.validate(asState(config))];
  }

  async upgradeResourceState(typeName: string, version: number, rawStateJson: string): Promise<{ state: TfValue; diagnostics: Diagnostic[] }> {
    const res = this.resource(typeName);
    const spec = res.spec;
    if (version > spec.version) {
      return { state: null, diagnostics: [err('State from a newer provider', `The state of this ${typeName} was written by a newer appreg provider (schema version ${version}, this one knows ${spec.version}). Upgrade the provider.`)] };
    }
    if (res.upgradeState) return res.upgradeState(version, rawStateJson);
    // Without an upgrade of its own, decoding with the current type keeps known
    // attributes, gives new ones null and drops removed ones.
    const block = this.schema().resource_schemas[typeName]!.block;
    return { state: decodeJsonValue(rawStateJson, blockType(block)), diagnostics: [] };
  }

  async readResource(typeName: string, currentState: TfValue, priv: Uint8Array | undefined): Promise<ReadResult> {
    const res = this.resource(typeName);
    const ctx = this.configured();
    try {
      const got = await res.read(ctx, asState(currentState), decodePrivate(priv));
      if (got === null) return { newState: null, diagnostics: [] };
      return { newState: got.state, private: encodePrivate(got.private), diagnostics: [] };
    } catch (e) {
      return { newState: currentState, private: priv, diagnostics: diagnosticsFor(e, `read ${res.noun}`) };
    }
  }

  async planResourceChange(
    typeName: string,
    priorState: TfValue,
    proposedNewState: TfValue,
    config: TfValue,
    priorPrivate: Uint8Array | undefined,
  ): Promise<PlanResult> {
    if (proposedNewState === null) {
      return { plannedState: null, requiresReplace: [], plannedPrivate: priorPrivate, diagnostics: [] };
    }
    const res = this.resource(typeName);
    const cfg = asState(config);
    const diagnostics = res.validate(cfg);
    if (hasErrors(diagnostics)) return { plannedState: proposedNewState, requiresReplace: [], diagnostics };
    const prior = priorState === null ? null : asState(priorState);
    const { planned, requiresReplace } = planFromSpec(res.spec, prior, asState(proposedNewState), cfg);
    try {
      diagnostics.push(...(await res.modifyPlan(this.ctx, { prior, planned, config: cfg, replacing: requiresReplace.length > 0 })));
    } catch (e) {
      diagnostics.push(...diagnosticsFor(e, `plan ${res.noun}`));
    }
    return { plannedState: planned, requiresReplace, plannedPrivate: priorPrivate, diagnostics };
  }

  async applyResourceChange(
    typeName: string,
    priorState: TfValue,
    plannedState: TfValue,
    _config: TfValue,
    plannedPrivate: Uint8Array | undefined,
  ): Promise<ApplyResult> {
    const res = this.resource(typeName);
    const ctx = this.configured();
    const priv = decodePrivate(plannedPrivate);
    if (plannedState === null) {
      try {
        await res.delete(ctx, asState(priorState), priv);
        return { newState: null, diagnostics: [] };
      } catch (e) {
        return { newState: priorState, private: plannedPrivate, diagnostics: diagnosticsFor(e, `delete ${res.noun}`) };
      }
    }
    const creating = priorState === null;
    try {
      const stored: StoredState = creating
        ? await res.create(ctx, asState(plannedState))
        : await res.update(ctx, asState(priorState), asState(plannedState), priv);
      return { newState: stored.state, private: encodePrivate(stored.private), diagnostics: [] };
    } catch (e) {
      // On a failed update the prior state stays; on a failed create nothing was made.
      return { newState: creating ? null : priorState, private: plannedPrivate, diagnostics: diagnosticsFor(e, `${creating ? 'create' : 'update'} ${res.noun}`) };
    }
  }

  async importResourceState(typeName: string, id: string): Promise<{ imported: ImportedResource[]; diagnostics: Diagnostic[] }> {
    const res = this.resource(typeName);
    const ctx = this.configured();
    try {
      const stored = await res.importState(ctx, id);
      return { imported: [{ typeName, state: stored.state, private: encodePrivate(stored.private) }], diagnostics: [] };
    } catch (e) {
      return { imported: [], diagnostics: diagnosticsFor(e, `import ${res.noun} ${JSON.stringify(id)}`) };
    }
  }

  async readDataSource(typeName: string, config: TfValue): Promise<{ state: TfValue; diagnostics: Diagnostic[] }> {
    const ds = this.dataSource(typeName);
    const cfg = asState(config);
    const diagnostics = ds.validate(cfg);
    if (hasErrors(diagnostics)) return { state: config, diagnostics };
    try {
      return { state: await ds.read(this.configured(), cfg), diagnostics };
    } catch (e) {
      return { state: config, diagnostics: [...diagnostics, ...diagnosticsFor(e, `read ${ds.noun}`)] };
    }
  }

  async stop(): Promise<void> {
    this.ctx?.client.cancel();
  }

  private configured(): ResourceContext {
    if (!this.ctx) throw new Error('the provider was used before ConfigureProvider succeeded');
    return this.ctx;
  }

  private resource(typeName: string): Resource {
    const r = this.resources.get(typeName);
    if (!r) throw new Error(`unknown resource type ${typeName}`);
    return r;
  }

  private dataSource(typeName: string): DataSource {
    const d = this.dataSources.get(typeName);
    if (!d) throw new Error(`unknown data source ${typeName}`);
    return d;
  }
}
