/**
 * Runs a GitHub Actions workflow file here, as a runner would, so that the
 * commands of `examples/gitops` are tested as written: each `run:` step goes
 * through `bash` with the job's environment, `GITHUB_ENV`, `GITHUB_OUTPUT`
 * and `GITHUB_STEP_SUMMARY` work as on GitHub, and `${{ }}` expressions and
 * `if:` conditions are evaluated. Steps that `uses:` an action are handed to
 * the test, which does what the action would do on this machine or checks
 * its inputs; an action the test does not know fails the run.
 *
 * Only the expression syntax the example workflows use is supported (context
 * lookups, string and number literals, `== != ! && ||`, parentheses and the
 * status functions); anything else throws, so a workflow cannot quietly
 * outgrow what is tested.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';

/** A workflow file, as far as these tests read it. */
export interface Workflow {
  name: string;
  on: { [event: string]: unknown };
  permissions?: { [scope: string]: string } | string;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  env?: { [k: string]: string };
  defaults?: { run?: { shell?: string } };
  jobs: { [id: string]: Job };
}

/** One job. */
export interface Job {
  'runs-on': string;
  'timeout-minutes'?: number;
  environment?: string;
  env?: { [k: string]: string };
  steps: Step[];
}

/** One step: either `run:` or `uses:`. */
export interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  with?: { [k: string]: string | number | boolean };
  env?: { [k: string]: string };
  run?: string;
  shell?: string;
  'continue-on-error'?: boolean;
}

/** Parses a workflow file, failing on any YAML error. */
export function loadWorkflow(file: string): Workflow {
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'), { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('\n')}`);
  return doc.toJS() as Workflow;
}

/** Everything an expression can read. */
export interface ExpressionContext {
  github: { [k: string]: unknown };
  vars: { [k: string]: string };
  secrets: { [k: string]: string };
  env: { [k: string]: string };
  runner: { [k: string]: string };
  steps: { [id: string]: { outputs: { [k: string]: string }; outcome: string; conclusion: string } };
  /** Whether an earlier step failed: what `success()` and `failure()` read. */
  jobFailed: boolean;
}

type Value = string | number | boolean | null | { [k: string]: unknown };

/** Evaluates one expression (the text inside `${{ }}`, or an `if:`). */
export function evaluate(expr: string, ctx: ExpressionContext): Value {
  const tokens = expr.match(/'(?:[^']|'')*'|==|!=|&&|\|\||[()!.]|[A-Za-z_][A-Za-z0-9_-]*|\d+(?:\.\d+)?|\S/g) ?? [];
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const take = (want?: string): string => {
    const t = tokens[i++];
    if (t === undefined || (want !== undefined && t !== want)) throw new Error(`expression ${JSON.stringify(expr)}: expected ${want ?? 'more'} at token ${i}`);
    return t;
  };
  const truthy = (v: Value): boolean => v !== null && v !== false && v !== 0 && v !== '';
  // GitHub compares strings without regard to case.
  const equal = (a: Value, b: Value): boolean =>
    typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;

  const primary = (): Value => {
    const t = take();
    if (t === '(') {
      const v = or();
      take(')');
      return v;
    }
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (/^\d/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    if (t === 'null') return null;
    if (peek() === '(') {
      if (!['always', 'success', 'failure', 'cancelled'].includes(t)) throw new Error(`expression ${JSON.stringify(expr)}: function ${t}() is not supported here`);
      take('(');
      take(')');
      switch (t) {
        case 'always':
          return true;
        case 'success':
          return !ctx.jobFailed;
        case 'failure':
          return ctx.jobFailed;
        default:
          return false; // cancelled(): nothing is cancelled here
      }
    }
    if (!(t in ctx) || t === 'jobFailed') throw new Error(`expression ${JSON.stringify(expr)}: unknown context ${t}`);
    let v: unknown = (ctx as unknown as { [k: string]: unknown })[t];
    while (peek() === '.') {
      take('.');
      const key = take();
      v = v !== null && typeof v === 'object' ? (v as { [k: string]: unknown })[key] : undefined;
    }
    return (v ?? null) as Value;
  };
  const unary = (): Value => (peek() === '!' ? (take(), !truthy(unary())) : primary());
  const cmp = (): Value => {
    const left = unary();
    if (peek() === '==' || peek() === '!=') {
      const op = take();
      const right = unary();
      return op === '==' ? equal(left, right) : !equal(left, right);
    }
    return left;
  };
  const and = (): Value => {
    let v = cmp();
    while (peek() === '&&') {
      take();
      const r = cmp();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  function or(): Value {
    let v = and();
    while (peek() === '||') {
      take();
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  }
  const v = or();
  if (i !== tokens.length) throw new Error(`expression ${JSON.stringify(expr)}: unexpected ${tokens[i]}`);
  return v;
}

const asText = (v: Value): string => (v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Replaces every `${{ }}` in a string. */
export function interpolate(s: string, ctx: ExpressionContext): string {
  return s.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e: string) => asText(evaluate(e, ctx)));
}

/** Parses a `GITHUB_OUTPUT` / `GITHUB_ENV` file: `k=v` lines and `k<<DELIM` blocks. */
export function parseCommandFile(text: string): { [k: string]: string } {
  const out: { [k: string]: string } = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i]!);
      out[heredoc[1]!] = body.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/** What a `uses:` step is handed: the action (`owner/repo@ref`) and its evaluated inputs. */
export type ActionHandler = (action: string, inputs: { [k: string]: string }, workspace: string) => void | Promise<void>;

/** How to run a workflow. */
export interface RunOptions {
  /** The user's repository, checked out: the job's working directory. */
  workspace: string;
  event: { name: string; payload?: { [k: string]: unknown } };
  /** `owner/name` of the user's repository (`github.repository`, `GITHUB_REPOSITORY`); default `example/infra`. */
  repository?: string;
  vars?: { [k: string]: string };
  secrets?: { [k: string]: string };
  /** Runs every `uses:` step. */
  actions: ActionHandler;
  /** Step ids not to run, each with the reason (shown in the log). */
  skip?: { [stepId: string]: string };
  /** Extra environment of the runner machine (PATH, say). */
  env?: NodeJS.ProcessEnv;
}

/** One step's result. */
export interface StepResult {
  id: string;
  name: string;
  outcome: 'success' | 'failure' | 'skipped';
  /** Exit code of a `run:` step. */
  code?: number;
}

/** A finished job. */
export interface JobResult {
  conclusion: 'success' | 'failure';
  steps: StepResult[];
  /** Every step's output, in order, as the job log shows it. */
  log: string;
  /** The job summary: everything the steps wrote to `GITHUB_STEP_SUMMARY`. */
  summary: string;
  outputs(stepId: string): { [k: string]: string };
}

function runBash(script: string, cwd: string, env: NodeJS.ProcessEnv, shell: string): Promise<{ code: number; output: string }> {
  if (shell !== 'bash') throw new Error(`shell ${shell} is not supported here; the workflows use bash`);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-step-')), 'step.sh');
  fs.writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    // What the runner runs for `shell: bash`.
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      resolve({ code: code ?? 1, output });
    });
  });
}

/** Runs the one job of a workflow and reports what happened. */
export async function runWorkflowJob(workflow: Workflow, opts: RunOptions): Promise<JobResult> {
  const jobs = Object.values(workflow.jobs);
  if (jobs.length !== 1) throw new Error(`expected one job, found ${jobs.length}`);
  const job = jobs[0]!;
  const runnerTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-runner-'));
  const repository = opts.repository ?? 'example/infra';
  const ctx: ExpressionContext = {
    github: { event_name: opts.event.name, event: opts.event.payload ?? {}, token: 'ghs_test-token-for-gh', workspace: opts.workspace, repository },
    vars: opts.vars ?? {},
    secrets: opts.secrets ?? {},
    env: {},
    runner: { temp: runnerTemp, os: 'Linux' },
    steps: {},
    jobFailed: false,
  };
  for (const [k, v] of [...Object.entries(workflow.env ?? {}), ...Object.entries(job.env ?? {})]) ctx.env[k] = interpolate(String(v), ctx);
  const exported: { [k: string]: string } = {};
  const results: StepResult[] = [];
  let log = '';
  let summary = '';
  const outputs: { [id: string]: { [k: string]: string } } = {};

  for (const [n, step] of job.steps.entries()) {
    const id = step.id ?? `step${n}`;
    const name = step.name ?? step.uses ?? step.run?.split('\n')[0] ?? id;
    const record = (outcome: StepResult['outcome'], code?: number): void => {
      results.push({ id, name, outcome, ...(code !== undefined ? { code } : {}) });
      ctx.steps[id] = { outputs: outputs[id] ?? {}, outcome, conclusion: outcome === 'failure' && step['continue-on-error'] ? 'success' : outcome };
      if (outcome === 'failure' && !step['continue-on-error']) ctx.jobFailed = true;
    };
    const condition = step.if !== undefined ? step.if.replace(/^\s*\$\{\{([\s\S]*)\}\}\s*$/, '$1') : 'success()';
    // As on GitHub, a condition without a status function means `success() && (condition)`.
    const run = /\b(always|failure|cancelled|success)\(\)/.test(condition) ? evaluate(condition, ctx) : !ctx.jobFailed && evaluate(condition, ctx);
    if (!run || (opts.skip && id in opts.skip)) {
      log += `::: ${name}: skipped${opts.skip?.[id] ? ` (${opts.skip[id]})` : ''}\n`;
      record('skipped');
      continue;
    }
    const stepEnv: { [k: string]: string } = {};
    for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = interpolate(String(v), { ...ctx, env: { ...ctx.env, ...stepEnv } });
    log += `::: ${name}\n`;
    if (step.uses) {
      const inputs = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, interpolate(String(v), ctx)]));
      try {
        await opts.actions(step.uses, inputs, opts.workspace);
        record('success');
      } catch (e) {
        log += `${e instanceof Error ? e.message : String(e)}\n`;
        record('failure');
      }
      continue;
    }
    const files = { GITHUB_OUTPUT: path.join(runnerTemp, `output-${n}`), GITHUB_ENV: path.join(runnerTemp, `env-${n}`), GITHUB_STEP_SUMMARY: path.join(runnerTemp, `summary-${n}`) };
    for (const f of Object.values(files)) fs.writeFileSync(f, '');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...opts.env,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: opts.event.name,
      GITHUB_REPOSITORY: repository,
      GITHUB_WORKSPACE: opts.workspace,
      RUNNER_TEMP: runnerTemp,
      ...ctx.env,
      ...exported,
      ...stepEnv,
      ...files,
    };
    const r = await runBash(interpolate(step.run ?? '', ctx), opts.workspace, env, step.shell ?? workflow.defaults?.run?.shell ?? 'bash');
    log += r.output;
    outputs[id] = parseCommandFile(fs.readFileSync(files.GITHUB_OUTPUT, 'utf8'));
    Object.assign(exported, parseCommandFile(fs.readFileSync(files.GITHUB_ENV, 'utf8')));
    summary += fs.readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8');
    record(r.code === 0 ? 'success' : 'failure', r.code);
  }
  fs.rmSync(runnerTemp, { recursive: true, force: true });
  return {
    conclusion: ctx.jobFailed ? 'failure' : 'success',
    steps: results,
    log,
    summary,
    outputs: (stepId) => outputs[stepId] ?? {},
  };
}
