/**
 * `appreg plan-summary`: turns a saved Terraform plan into the Markdown a
 * pipeline posts on a pull request and in its job summary. What will be
 * created, updated, replaced (and which attribute forces it) or destroyed,
 * what changed outside Terraform since the last apply, then Terraform's own
 * rendering of the plan, shortened to fit a GitHub comment.
 *
 * Only attribute names and Terraform's own text are shown: Terraform redacts
 * sensitive values in its text, and no value is taken from the plan JSON,
 * which holds the client secret in the prior state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { runTerraform } from './terraform';

/** What happens to one resource. */
export type PlannedAction = 'create' | 'update' | 'replace' | 'delete';

/** One resource the plan changes. */
export interface PlannedChange {
  address: string;
  type: string;
  action: PlannedAction;
  /** For `replace`: the attributes that force it; for `update`: the attributes that change. Names only. */
  attributes: string[];
}

/** The summary of one saved plan. */
export interface PlanSummary {
  /** The stack's name: its directory's base name. */
  stack: string;
  changes: PlannedChange[];
  /** Addresses of resources changed outside Terraform since the last apply, which this plan puts back. */
  drifted: string[];
}

interface PlanResourceChange {
  address: string;
  type: string;
  mode?: string;
  change: {
    actions: string[];
    before?: { [k: string]: unknown } | null;
    after?: { [k: string]: unknown } | null;
    after_unknown?: { [k: string]: unknown } | boolean;
    replace_paths?: unknown[][];
  };
}

/** The parts of `terraform show -json <plan>` the summary reads. */
export interface PlanJsonForSummary {
  resource_changes?: PlanResourceChange[];
  resource_drift?: Array<{ address: string; mode?: string; change: { actions: string[] } }>;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function actionOf(actions: readonly string[]): PlannedAction | null {
  if (actions.includes('create') && actions.includes('delete')) return 'replace';
  if (actions.includes('create')) return 'create';
  if (actions.includes('delete')) return 'delete';
  if (actions.includes('update')) return 'update';
  return null; // no-op, read
}

/** The attributes an in-place update changes: known new values first, else those only known after apply. */
function updatedAttributes(c: PlanResourceChange['change']): string[] {
  const before = c.before ?? {};
  const after = c.after ?? {};
  const unknown = typeof c.after_unknown === 'object' && c.after_unknown !== null ? c.after_unknown : {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const known = keys.filter((k) => !unknown[k] && !same(before[k], after[k]));
  // Computed values (updated_at, version) are unknown in every update: name them only when nothing else changes.
  return known.length > 0 ? known : keys.filter((k) => Boolean(unknown[k]));
}

/** Reads the summary out of a plan's JSON; pure, for tests. */
export function summarizePlan(stack: string, plan: PlanJsonForSummary): PlanSummary {
  const changes: PlannedChange[] = [];
  for (const r of plan.resource_changes ?? []) {
    if (r.mode === 'data') continue;
    const action = actionOf(r.change.actions);
    if (action === null) continue;
    const attributes =
      action === 'replace'
        ? [...new Set((r.change.replace_paths ?? []).map((p) => p.map(String).join('.')))].sort()
        : action === 'update'
          ? updatedAttributes(r.change)
          : [];
    changes.push({ address: r.address, type: r.type, action, attributes });
  }
  const drifted = (plan.resource_drift ?? []).filter((d) => d.mode !== 'data').map((d) => d.address);
  return { stack, changes, drifted };
}

const count = (s: PlanSummary, a: PlannedAction): number => s.changes.filter((c) => c.action === a).length;

/** The heading line: `appreg plan for <stack>: 1 to create, ...` or `no changes`. */
export function planHeadline(s: PlanSummary): string {
  if (s.changes.length === 0) return `appreg plan for \`${s.stack}\`: no changes`;
  return `appreg plan for \`${s.stack}\`: ${count(s, 'create')} to create, ${count(s, 'update')} to update, ${count(s, 'replace')} to replace, ${count(s, 'delete')} to destroy`;
}

const code = (names: readonly string[]): string => names.map((n) => `\`${n}\``).join(', ');

function describeChange(c: PlannedChange): [string, string] {
  switch (c.action) {
    case 'create':
      return ['create', ''];
    case 'delete':
      return ['**destroy**', ''];
    case 'update':
      return ['update in place', code(c.attributes)];
    case 'replace': {
      // A replaced app is a new registration: whoever uses the old client id must switch.
      const what = c.type === 'appreg_oauth_client' ? '**replace** (new client id and secret)' : '**replace**';
      return [what, c.attributes.length > 0 ? `${code(c.attributes)} forces replacement` : 'replacement requested'];
    }
  }
}

/**
 * The Markdown: headline, a table of changes, the drift note, then
 * Terraform's text of the plan in a folded block, cut so the whole stays
 * within `maxChars` (a GitHub comment holds 65,536 characters).
 */
export function formatPlanMarkdown(s: PlanSummary, planText: string, maxChars = 60_000): string {
  const out: string[] = [`### ${planHeadline(s)}`, ''];
  if (s.changes.length === 0) out.push('The registrations match the configuration.', '');
  else {
    out.push('| Resource | Action | Attributes |', '| --- | --- | --- |');
    for (const c of s.changes) {
      const [action, attrs] = describeChange(c);
      out.push(`| \`${c.address}\` | ${action} | ${attrs} |`);
    }
    out.push('');
  }
  if (s.drifted.length > 0) {
    out.push(`Changed outside Terraform since the last apply (applying this plan puts them back): ${code(s.drifted)}`, '');
  }
  const head = out.join('\n');
  const open = '<details><summary>Terraform plan</summary>\n\n```text\n';
  const close = '\n```\n\n</details>\n';
  const cutNote = '\n… (cut here to fit; the whole plan is in the job log)';
  const room = maxChars - head.length - open.length - close.length - cutNote.length;
  let text = planText.replace(/`{3,}/g, "'''").trimEnd();
  if (text.length > room) text = `${text.slice(0, Math.max(0, room))}${cutNote}`;
  return `${head}${open}${text}${close}`;
}

/** Summarizes the saved plan `planFile` of the stack in `dir`; throws with Terraform's message on failure. */
export async function planSummaryMarkdown(opts: { dir: string; plan: string; terraform?: string; maxChars?: number }): Promise<string> {
  const dir = path.resolve(opts.dir);
  const tf = opts.terraform ?? 'terraform';
  if (!fs.existsSync(dir)) throw new Error(`stack directory ${dir} does not exist`);
  const planFile = path.resolve(dir, opts.plan);
  if (!fs.existsSync(planFile)) throw new Error(`plan file ${planFile} does not exist: save one with terraform plan -out=${opts.plan}`);
  const json = await runTerraform(tf, ['show', '-json', planFile], dir);
  if (json.code !== 0) throw new Error(`terraform show -json ${opts.plan} failed in ${dir}:\n${json.stderr.trim()}`);
  const text = await runTerraform(tf, ['show', '-no-color', planFile], dir);
  if (text.code !== 0) throw new Error(`terraform show ${opts.plan} failed in ${dir}:\n${text.stderr.trim()}`);
  const summary = summarizePlan(path.basename(dir), JSON.parse(json.stdout) as PlanJsonForSummary);
  return formatPlanMarkdown(summary, text.stdout, opts.maxChars);
}

/** Adds `plan-summary` to the command line. */
export function registerPlanSummaryCommand(program: Command): void {
  program
    .command('plan-summary')
    .description('print a saved Terraform plan as Markdown for a pull request comment or job summary (no secret values)')
    .option('--dir <dir>', 'Terraform stack directory (initialized)', '.')
    .option('--plan <file>', 'saved plan, relative to --dir', 'tfplan')
    .option('--max-chars <n>', 'longest Markdown to print; the plan text is cut to fit', '60000')
    .option('--terraform <bin>', 'terraform executable', 'terraform')
    .action(async (opts: { dir: string; plan: string; maxChars: string; terraform: string }) => {
      const maxChars = Number(opts.maxChars);
      if (!Number.isInteger(maxChars) || maxChars < 1000) {
        process.stderr.write(`appreg plan-summary: --max-chars must be a whole number of at least 1000 (got ${JSON.stringify(opts.maxChars)})\n`);
        process.exitCode = 1;
        return;
      }
      try {
        process.stdout.write(await planSummaryMarkdown({ dir: opts.dir, plan: opts.plan, terraform: opts.terraform, maxChars }));
      } catch (e) {
        process.stderr.write(`appreg plan-summary: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      }
    });
}
