/**
 * `appreg drift`: the command a scheduled job runs. It asks Terraform for a
 * refresh-only plan of a stack (Terraform stays the engine: state, locking,
 * provider), reports every attribute changed outside Terraform, and lists the
 * registrations in the service that no resource in the state manages.
 *
 * Unmanaged apps are looked for only in the groups the stack itself manages
 * (the `group_id` of its clients and consents), so that several stacks of one
 * tenant each pass their own nightly check; `--group` or `--all-groups` says
 * otherwise. The report says which groups were checked and why.
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

/** Why these groups were checked for unmanaged apps. */
export type GroupScopeSource = 'state' | '--group' | '--all-groups';

/** A group checked for unmanaged apps. */
export interface ScopeGroup {
  id: string;
  name: string;
}

/** Where unmanaged apps were looked for, and why. */
export interface GroupScope {
  /**
   * `state`: the groups of the stack's clients and consents (the default);
   * `--group`: the groups named on the command line; `--all-groups`: every
   * group the token can see.
   */
  source: GroupScopeSource;
  /** The groups checked; empty when the state manages nothing (then nothing was checked). */
  groups: ScopeGroup[];
  /** Group ids of the state that the token cannot see, so were not checked. */
  not_visible: string[];
}

/** The whole report. */
export interface DriftReport {
  directory: string;
  drifted: DriftedResource[];
  /** Null when the check was turned off (`--no-unmanaged`). */
  unmanaged: UnmanagedApp[] | null;
  /** Where {@link unmanaged} was looked for; null with `--no-unmanaged`. */
  unmanaged_scope: GroupScope | null;
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

/**
 * The groups the stack manages: the `group_id` of every `appreg_oauth_client`
 * and `appreg_app_consent`, in the prior (refreshed) state and in the drift
 * (whose `before` still has a resource deleted by hand), modules included.
 */
export function managedGroupIds(plan: PlanJson): Set<string> {
  const ids = new Set<string>();
  const add = (type: string, mode: string | undefined, values: { [k: string]: unknown } | null | undefined): void => {
    if (mode === 'data' || (type !== 'appreg_oauth_client' && type !== 'appreg_app_consent')) return;
    if (typeof values?.group_id === 'string' && values.group_id !== '') ids.add(values.group_id);
  };
  const walk = (m: ModuleJson | undefined): void => {
    for (const r of m?.resources ?? []) add(r.type, r.mode, r.values);
    for (const c of m?.child_modules ?? []) walk(c);
  };
  walk(plan.prior_state?.values?.root_module);
  for (const d of plan.resource_drift ?? []) add(d.type, d.mode, d.change.before);
  return ids;
}

/**
 * Resolves each `--group` value to a visible group, by id first and then by
 * name; throws one error naming every value that matches none.
 */
export function resolveGroups(wanted: readonly string[], visible: readonly ScopeGroup[]): ScopeGroup[] {
  const out = new Map<string, ScopeGroup>();
  const unknown: string[] = [];
  for (const w of wanted) {
    const g = visible.find((v) => v.id === w) ?? visible.find((v) => v.name === w);
    if (g) out.set(g.id, { id: g.id, name: g.name });
    else unknown.push(JSON.stringify(w));
  }
  if (unknown.length > 0) {
    throw new Error(
      `--group ${unknown.join(', ')}: no group with that id or name is visible to this token; ` +
        'check the spelling against GET /v1/groups (or "appreg admin group list"), or use a token that can see the group',
    );
  }
  return [...out.values()];
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
  /** Look for unmanaged apps in these groups (ids or names) instead of the state's. */
  groups?: readonly string[];
  /** Look for unmanaged apps in every group the token can see. */
  allGroups?: boolean;
}

/** Runs the refresh-only plan and the unmanaged-app check; throws on any error. */
export async function checkDrift(opts: DriftOptions): Promise<DriftReport> {
  const dir = path.resolve(opts.dir);
  const tf = opts.terraform ?? 'terraform';
  const wanted = opts.groups ?? [];
  // Flag conflicts first: nothing should run for a command line that cannot mean anything.
  if (wanted.length > 0 && opts.allGroups === true) {
    throw new Error('--group and --all-groups cannot be used together: pass --group for some groups, or --all-groups for every group the token can see');
  }
  if (opts.unmanaged === false && (wanted.length > 0 || opts.allGroups === true)) {
    throw new Error(`${opts.allGroups === true ? '--all-groups' : '--group'} says where to look for unmanaged apps, so it cannot be used with --no-unmanaged; drop one of them`);
  }
  if (!fs.existsSync(dir)) throw new Error(`stack directory ${dir} does not exist`);
  const endpoint = opts.endpoint ?? process.env.APPREG_ENDPOINT;
  if (opts.unmanaged !== false && endpoint) {
    // The same rule as the provider's: the token must not cross the network in clear. Checked before
    // Terraform runs, so nothing is sent.
    const { checkProviderEndpoint, parseAllowInsecureHttpEnv, ALLOW_INSECURE_HTTP_ENV } = await import('../provider/config-validation');
    const allow = parseAllowInsecureHttpEnv(process.env[ALLOW_INSECURE_HTTP_ENV]) === true;
    const [problem] = checkProviderEndpoint(endpoint, allow, opts.endpoint !== undefined ? '--endpoint' : 'APPREG_ENDPOINT');
    if (problem) throw new Error(`${problem.summary}: ${problem.detail ?? ''}`);
  }
  let client: import('../client').AppregClient | undefined;
  if (opts.unmanaged !== false) {
    const token = opts.token ?? process.env.APPREG_TOKEN;
    if (!endpoint || !token) {
      throw new Error('listing unmanaged apps needs the service: set APPREG_ENDPOINT and APPREG_TOKEN (or --endpoint/--token), or pass --no-unmanaged');
    }
    const { AppregClient } = await import('../client');
    client = new AppregClient({ endpoint, token });
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-drift-'));
  try {
    // Only the groups the token sees: a group admin's report covers its own group, not the browse list.
    const visible: ScopeGroup[] = client ? (await client.listAllGroups()).map((g) => ({ id: g.id, name: g.name })) : [];
    // --group is resolved before Terraform runs, so a misspelt name fails at once.
    const named = wanted.length > 0 ? resolveGroups(wanted, visible) : undefined;
    const planFile = path.join(tmp, 'drift.tfplan');
    // -lock=false: a read-only check must not block (or be blocked by) an apply in progress.
    const plan = await runTerraform(tf, ['plan', '-refresh-only', '-input=false', '-no-color', '-lock=false', `-out=${planFile}`], dir);
    if (plan.code !== 0) throw new Error(`terraform plan -refresh-only failed in ${dir}:\n${plan.stderr.trim() || plan.stdout.trim()}`);
    const show = await runTerraform(tf, ['show', '-json', planFile], dir);
    if (show.code !== 0) throw new Error(`terraform show -json failed:\n${show.stderr.trim()}`);
    const planJson = JSON.parse(show.stdout) as PlanJson;
    const drifted = driftFromPlan(planJson);
    if (!client) return { directory: dir, drifted, unmanaged: null, unmanaged_scope: null };
    const api = client;

    let scope: GroupScope;
    if (opts.allGroups === true) scope = { source: '--all-groups', groups: visible, not_visible: [] };
    else if (named) scope = { source: '--group', groups: named, not_visible: [] };
    else {
      const byId = new Map(visible.map((g) => [g.id, g]));
      const ids = [...managedGroupIds(planJson)];
      scope = {
        source: 'state',
        groups: visible.filter((g) => ids.includes(g.id)),
        not_visible: ids.filter((id) => !byId.has(id)).sort(),
      };
    }
    const managed = managedAppIds(planJson);
    const apps =
      scope.source === '--all-groups'
        ? await api.listAllApps()
        : // One filtered walk per group: a stack of one group need not page through the whole tenant.
          (await Promise.all(scope.groups.map((g) => api.listAllApps({ group_id: g.id })))).flat();
    const inScope = new Set(scope.groups.map((g) => g.id));
    const unmanaged = apps
      .filter((a) => inScope.has(a.group_id) && !managed.has(a.id))
      .map((a) => ({ id: a.id, name: a.name, group_id: a.group_id, client_id: a.client_id, scope: a.scope }));
    return { directory: dir, drifted, unmanaged, unmanaged_scope: scope };
  } finally {
    client?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Whether the report found anything (exit code 2). */
export function foundDrift(r: DriftReport): boolean {
  return r.drifted.length > 0 || (r.unmanaged?.length ?? 0) > 0;
}

const show = (v: unknown): string => (typeof v === 'string' ? (v === MASK ? v : JSON.stringify(v)) : JSON.stringify(v));

const MAX_NAMED_GROUPS = 10;

/**
 * One sentence on where unmanaged apps were looked for and why, or on why
 * nothing was (a state with no clients or consents names no group); null
 * with `--no-unmanaged`.
 */
export function describeScope(scope: GroupScope | null): string | null {
  if (!scope) return null;
  const names = scope.groups.slice(0, MAX_NAMED_GROUPS).map((g) => `${g.name} (${g.id})`);
  if (scope.groups.length > MAX_NAMED_GROUPS) names.push(`and ${scope.groups.length - MAX_NAMED_GROUPS} more`);
  const n = scope.groups.length;
  const groups = `${n} group${n === 1 ? '' : 's'}`;
  let text: string;
  if (scope.source === 'state' && n === 0) {
    text = scope.not_visible.length > 0
      ? 'Unmanaged apps were not looked for: none of the groups in the state is visible to this token'
      : 'Unmanaged apps were not looked for: the state has no appreg_oauth_client or appreg_app_consent, so it names no group; pass --group G or --all-groups to check groups anyway';
  } else if (scope.source === 'state') {
    text = `Unmanaged apps looked for in the ${groups} this stack manages (from its state): ${names.join(', ')}`;
  } else if (scope.source === '--group') {
    text = `Unmanaged apps looked for in the ${groups} given with --group: ${names.join(', ')}`;
  } else {
    text = `Unmanaged apps looked for in all ${groups} the token can see (--all-groups)${n > 0 ? `: ${names.join(', ')}` : ''}`;
  }
  if (scope.not_visible.length > 0) {
    text += `. Not checked, as this token cannot see them: ${scope.not_visible.join(', ')}; use a token that can`;
  }
  return `${text}.`;
}

/** Plain text for a terminal or a job log. */
export function formatText(r: DriftReport): string {
  const lines: string[] = [];
  const scope = describeScope(r.unmanaged_scope);
  if (!foundDrift(r)) return `No drift: ${r.directory} matches the registration service.\n${scope ? `${scope}\n` : ''}`;
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
  if (scope) lines.push(scope);
  return `${lines.join('\n')}\n`;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown for a CI job summary. */
export function formatMarkdown(r: DriftReport): string {
  const scope = describeScope(r.unmanaged_scope);
  const scopeMd = scope ? `${cell(scope)}\n` : '';
  if (!foundDrift(r)) return `### appreg drift: none\n\n\`${r.directory}\` matches the registration service.\n${scope ? `\n${scopeMd}` : ''}`;
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
  if (scope) out.push(scopeMd);
  return out.join('\n');
}

/** Adds `drift` to the command line. */
export function registerDriftCommand(program: Command): void {
  program
    .command('drift')
    .description(
      'report registrations changed outside Terraform, and apps no resource manages in the groups the stack manages ' +
        '(or --group / --all-groups) (exit 0 none, 2 found, 1 error)',
    )
    .option('--dir <dir>', 'Terraform stack directory (initialized)', '.')
    .option('--json', 'print the report as JSON')
    .option('--markdown', 'print the report as Markdown (for a CI job summary)')
    .option('--endpoint <url>', 'registration service URL for the unmanaged-app check (default APPREG_ENDPOINT)')
    .option('--token <token>', 'API token for the unmanaged-app check (default APPREG_TOKEN); an auditor token is enough')
    .option(
      '--group <group>',
      'look for unmanaged apps in this group (id or name; repeatable) instead of the groups in the stack\'s state',
      // No default value: commander would print "(default: [])" in the help.
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--all-groups', 'look for unmanaged apps in every group the token can see (not with --group)')
    .option('--no-unmanaged', 'skip listing apps that no resource manages')
    .option('--terraform <bin>', 'terraform executable', 'terraform')
    .action(async (opts: {
      dir: string; json?: boolean; markdown?: boolean; endpoint?: string; token?: string; unmanaged: boolean; terraform: string;
      group?: string[]; allGroups?: boolean;
    }) => {
      try {
        const report = await checkDrift({
          dir: opts.dir, terraform: opts.terraform, endpoint: opts.endpoint, token: opts.token, unmanaged: opts.unmanaged,
          groups: opts.group ?? [], allGroups: opts.allGroups === true,
        });
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : opts.markdown ? formatMarkdown(report) : formatText(report));
        process.exitCode = foundDrift(report) ? 2 : 0;
      } catch (e) {
        process.stderr.write(`appreg drift: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      }
    });
}
