/**
 * `appreg drift`: the command a scheduled job runs. It asks Terraform for a
 * refresh-only plan of a stack (Terraform stays the engine: state, locking,
 * provider), reports every attribute changed outside Terraform, and lists the
 * registrations in the service that no resource in the state manages.
 *
 * Exit codes: 0 nothing found, 2 drift or unmanaged apps found, 1 error.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { runTerraform } from './terraform';

/** One attribute that differs between the state and the real object. */
export interface DriftedAttribute {
  /** Top-level attribute name. */
  attribute: string;
  /** What the state says; `"(sensitive value)"` when sensitive. */
  before: unknown;
  /** What the service has now; `"(sensitive value)"` when sensitive. */
  after: unknown;
  sensitive: boolean;
}

/** One resource whose real object differs from the state. */
export interface DriftedResource {
  address: string;
  type: string;
  /** `update`: changed by hand; `delete`: deleted by hand. */
  action: 'update' | 'delete';
  attributes: DriftedAttribute[];
}

/** An app in the service that no `appreg_oauth_client` in the state manages. */
export interface UnmanagedApp {
  id: string;
  name: string;
  group_id: string;
  client_id: string;
  scope: string;
}

/** The whole report. */
export interface DriftReport {
  directory: string;
  drifted: DriftedResource[];
  /** Null when the check was turned off (`--no-unmanaged`). */
  unmanaged: UnmanagedApp[] | null;
}

const MASK = '(sensitive value)';

interface PlanChange {
  actions: string[];
  before: { [k: string]: unknown } | null;
  after: { [k: string]: unknown } | null;
  before_sensitive?: unknown;
  after_sensitive?: unknown;
}
interface PlanJson {
  resource_drift?: Array<{ address: string; type: string; mode?: string; change: PlanChange }>;
  prior_state?: { values?: { root_module?: ModuleJson } };
}
interface ModuleJson {
  resources?: Array<{ address: string; type: string; mode?: string; values: { [k: string]: unknown } }>;
  child_modules?: ModuleJson[];
}

/**
 * Whether Terraform's sensitivity mask marks an attribute: `true` for the
 * whole value, or a nested structure with a `true` somewhere (a set with no
 * sensitive element comes as `[]`, which is not sensitive).
 */
function isSensitive(mask: unknown, attr: string): boolean {
  if (mask === true) return true;
  if (typeof mask !== 'object' || mask === null) return false;
  const anyTrue = (m: unknown): boolean =>
    m === true || (typeof m === 'object' && m !== null && Object.values(m).some(anyTrue));
  return anyTrue((mask as { [k: string]: unknown })[attr]);
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
/** Sets come back from Terraform in its own order; compare them sorted. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, normalize(x)]));
  return v;
}

/** Extracts the drifted resources from `terraform show -json` of a refresh-only plan, masking sensitive values. */
export function driftFromPlan(plan: PlanJson): DriftedResource[] {
  const out: DriftedResource[] = [];
  for (const d of plan.resource_drift ?? []) {
    if (d.mode === 'data') continue;
    const { change } = d;
    const before = change.before ?? {};
    const after = change.after;
    const action = after === null || change.actions.includes('delete') ? 'delete' : 'update';
    const attributes: DriftedAttribute[] = [];
    if (action === 'update' && after) {
      for (const attr of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
        if (sameJson(before[attr], after[attr])) continue;
        const sensitive = isSensitive(change.before_sensitive, attr) || isSensitive(change.after_sensitive, attr);
        attributes.push({ attribute: attr, before: sensitive ? MASK : before[attr] ?? null, after: sensitive ? MASK : after[attr] ?? null, sensitive });
      }
      if (attributes.length === 0) continue;
    }
    out.push({ address: d.address, type: d.type, action, attributes });
  }
  return out;
}

/** The ids of every `appreg_oauth_client` in the plan's prior state, modules included. */
export function managedAppIds(plan: PlanJson): Set<string> {
  const ids = new Set<string>();
  const walk = (m: ModuleJson | undefined): void => {
    for (const r of m?.resources ?? []) {
      if (r.mode !== 'data' && r.type === 'appreg_oauth_client' && typeof r.values.id === 'string') ids.add(r.values.id);
    }
    for (const c of m?.child_modules ?? []) walk(c);
  };
  walk(plan.prior_state?.values?.root_module);
  return ids;
}

/** Options of {@link checkDrift}. */
export interface DriftOptions {
  dir: string;
  terraform?: string;
  /** Service to list unmanaged apps from; defaults to APPREG_ENDPOINT / APPREG_TOKEN. */
  endpoint?: string;
  token?: string;
  /** False skips the unmanaged-app check. */
  unmanaged?: boolean;
}

/** Runs the refresh-only plan and the unmanaged-app check; throws on any error. */
export async function checkDrift(opts: DriftOptions): Promise<DriftReport> {
  const dir = path.resolve(opts.dir);
  const tf = opts.terraform ?? 'terraform';
  if (!fs.existsSync(dir)) throw new Error(`stack directory ${dir} does not exist`);
  const endpoint = opts.endpoint ?? process.env.APPREG_ENDPOINT;
  if (opts.unmanaged !== false && endpoint) {
    // The same rule as the provider's: the token must not cross the network in clear. Checked before
    // Terraform runs, so nothing is sent.
    const { checkProviderEndpoint, parseAllowInsecureHttpEnv, ALLOW_INSECURE_HTTP_ENV } = await import('../schema/validate');
    const allow = parseAllowInsecureHttpEnv(process.env[ALLOW_INSECURE_HTTP_ENV]) === true;
    const [problem] = checkProviderEndpoint(endpoint, allow, opts.endpoint !== undefined ? '--endpoint' : 'APPREG_ENDPOINT');
    if (problem) throw new Error(`${problem.summary}: ${problem.detail ?? ''}`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-drift-'));
  try {
    const planFile = path.join(tmp, 'drift.tfplan');
    // -lock=false: a read-only check must not block (or be blocked by) an apply in progress.
    const plan = await runTerraform(tf, ['plan', '-refresh-only', '-input=false', '-no-color', '-lock=false', `-out=${planFile}`], dir);
    if (plan.code !== 0) throw new Error(`terraform plan -refresh-only failed in ${dir}:\n${plan.stderr.trim() || plan.stdout.trim()}`);
    const show = await runTerraform(tf, ['show', '-json', planFile], dir);
    if (show.code !== 0) throw new Error(`terraform show -json failed:\n${show.stderr.trim()}`);
    const planJson = JSON.parse(show.stdout) as PlanJson;
    const drifted = driftFromPlan(planJson);
    let unmanaged: UnmanagedApp[] | null = null;
    if (opts.unmanaged !== false) {
      const token = opts.token ?? process.env.APPREG_TOKEN;
      if (!endpoint || !token) {
        throw new Error('listing unmanaged apps needs the service: set APPREG_ENDPOINT and APPREG_TOKEN (or --endpoint/--token), or pass --no-unmanaged');
      }
      const { AppregClient } = await import('../client');
      const client = new AppregClient({ endpoint, token });
      try {
        // Only the groups the token sees: a group admin's report covers its own group, not the browse list.
        const groups = new Set((await client.listAllGroups()).map((g) => g.id));
        const managed = managedAppIds(planJson);
        unmanaged = (await client.listAllApps())
          .filter((a) => groups.has(a.group_id) && !managed.has(a.id))
          .map((a) => ({ id: a.id, name: a.name, group_id: a.group_id, client_id: a.client_id, scope: a.scope }));
      } finally {
        client.close();
      }
    }
    return { directory: dir, drifted, unmanaged };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Whether the report found anything (exit code 2). */
export function foundDrift(r: DriftReport): boolean {
  return r.drifted.length > 0 || (r.unmanaged?.length ?? 0) > 0;
}

const show = (v: unknown): string => (typeof v === 'string' ? (v === MASK ? v : JSON.stringify(v)) : JSON.stringify(v));

/** Plain text for a terminal or a job log. */
export function formatText(r: DriftReport): string {
  const lines: string[] = [];
  if (!foundDrift(r)) return `No drift: ${r.directory} matches the registration service.\n`;
  for (const d of r.drifted) {
    if (d.action === 'delete') {
      lines.push(`${d.address}: deleted outside Terraform (apply would create it again)`);
      continue;
    }
    lines.push(`${d.address}: changed outside Terraform`);
    for (const a of d.attributes) lines.push(`  ${a.attribute}: ${show(a.before)} -> ${show(a.after)}`);
  }
  if (r.unmanaged && r.unmanaged.length > 0) {
    lines.push(`Registrations managed by no resource in this stack (${r.unmanaged.length}):`);
    for (const a of r.unmanaged) lines.push(`  ${a.id} ${JSON.stringify(a.name)} (group ${a.group_id}, client id ${a.client_id})`);
  }
  return `${lines.join('\n')}\n`;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown for a CI job summary. */
export function formatMarkdown(r: DriftReport): string {
  if (!foundDrift(r)) return `### appreg drift: none\n\n\`${r.directory}\` matches the registration service.\n`;
  const out: string[] = ['### appreg drift found', ''];
  if (r.drifted.length > 0) {
    out.push('| Resource | Attribute | In state | In the service |', '| --- | --- | --- | --- |');
    for (const d of r.drifted) {
      if (d.action === 'delete') out.push(`| \`${d.address}\` | *(whole object)* | present | **deleted** |`);
      for (const a of d.attributes) out.push(`| \`${d.address}\` | \`${a.attribute}\` | ${cell(show(a.before))} | ${cell(show(a.after))} |`);
    }
    out.push('');
  }
  if (r.unmanaged && r.unmanaged.length > 0) {
    out.push('**Registrations managed by no resource in this stack**', '', '| App id | Name | Group | Client id |', '| --- | --- | --- | --- |');
    for (const a of r.unmanaged) out.push(`| \`${a.id}\` | ${cell(a.name)} | \`${a.group_id}\` | \`${a.client_id}\` |`);
    out.push('');
  }
  return out.join('\n');
}

/** Adds `drift` to the command line. */
export function registerDriftCommand(program: Command): void {
  program
    .command('drift')
    .description('report registrations changed outside Terraform, and apps no resource manages (exit 0 none, 2 found, 1 error)')
    .option('--dir <dir>', 'Terraform stack directory (initialized)', '.')
    .option('--json', 'print the report as JSON')
    .option('--markdown', 'print the report as Markdown (for a CI job summary)')
    .option('--endpoint <url>', 'registration service URL for the unmanaged-app check (default APPREG_ENDPOINT)')
    .option('--token <token>', 'API token for the unmanaged-app check (default APPREG_TOKEN); an auditor token is enough')
    .option('--no-unmanaged', 'skip listing apps that no resource manages')
    .option('--terraform <bin>', 'terraform executable', 'terraform')
    .action(async (opts: { dir: string; json?: boolean; markdown?: boolean; endpoint?: string; token?: string; unmanaged: boolean; terraform: string }) => {
      try {
        const report = await checkDrift({ dir: opts.dir, terraform: opts.terraform, endpoint: opts.endpoint, token: opts.token, unmanaged: opts.unmanaged });
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : opts.markdown ? formatMarkdown(report) : formatText(report));
        process.exitCode = foundDrift(report) ? 2 : 0;
      } catch (e) {
        process.stderr.write(`appreg drift: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      }
    });
}
