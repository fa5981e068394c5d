/**
 * A step runner for Terraform acceptance tests, in the spirit of
 * terraform-plugin-testing's `resource.Test`: a scenario is a list of steps,
 * each a configuration that is planned and applied (or must fail with a
 * diagnostic), followed by checks of the state. The runner, not the test,
 * asserts what every provider test must hold:
 *
 * - after every apply, `terraform plan -detailed-exitcode` is 0 (no
 *   perpetual diff), unless the step says why it may not be;
 * - a step expected to fail changes neither the state nor the service;
 * - an import step imports into a fresh state and compares the whole
 *   imported resource with the one in state, except listed attributes;
 * - at the end everything is destroyed and the service is checked empty,
 *   also when a step failed, so no scenario leaks into the next.
 *
 * Built on the public API of {@link TerraformWorkspace} only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { TerraformWorkspace, type TfRun } from './terraform';

/** One resource as `terraform show -json` prints it. */
export interface TfResourceJson {
  address: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  values: { [attr: string]: unknown };
  sensitive_values?: { [attr: string]: unknown };
}

/** The part of `terraform show -json` (state or saved plan) the runner reads. */
export interface TfShowJson {
  values?: {
    outputs?: { [name: string]: { value: unknown; sensitive: boolean } };
    root_module?: { resources?: TfResourceJson[] };
  };
  /** Only in a saved plan: what each resource will do. */
  resource_changes?: Array<{ address: string; change: { actions: string[] }; importing?: unknown }>;
}

/** A read-only view of one state, with lookups that fail with the address in the message. */
export class StateView {
  constructor(readonly json: TfShowJson) {}

  /** Every resource and data source in the root module. */
  get resources(): TfResourceJson[] {
    return this.json.values?.root_module?.resources ?? [];
  }

  /** Whether `address` is in the state. */
  has(address: string): boolean {
    return this.resources.some((r) => r.address === address);
  }

  /** The attribute values of `address`; throws when it is not in the state. */
  resource(address: string): { [attr: string]: unknown } {
    const r = this.resources.find((x) => x.address === address);
    if (!r) throw new Error(`${address} is not in the state (it holds: ${this.resources.map((x) => x.address).join(', ') || 'nothing'})`);
    return r.values;
  }

  /** One attribute of `address`. */
  attr(address: string, attr: string): unknown {
    return this.resource(address)[attr];
  }

  /** One attribute of `address` that must be a non-empty string (an id, say). */
  str(address: string, attr: string): string {
    const v = this.attr(address, attr);
    if (typeof v !== 'string' || v === '') throw new Error(`${address}.${attr} is ${JSON.stringify(v)}, not a non-empty string`);
    return v;
  }

  /** The value of a root output; throws when there is none. */
  output(name: string): unknown {
    const o = this.json.values?.outputs?.[name];
    if (!o) throw new Error(`output ${name} is not in the state`);
    return o.value;
  }
}

/** What a step's hooks, configuration function and checks can see. */
export interface StepContext {
  /** 1-based number of the step being run. */
  readonly step: number;
  readonly workspace: TerraformWorkspace;
  /** The state as the previous step left it (undefined before the first apply). */
  readonly previous: StateView | undefined;
  /** Free-form values a hook keeps for later steps (e.g. the id of an app made by hand). */
  readonly vars: { [name: string]: unknown };
}

/** A check of the state after a step; throws (or rejects) to fail the step. */
export type Check = (state: StateView, ctx: StepContext) => unknown;

/** A check of the plan a step is about to apply. */
export type PlanCheck = (plan: { text: string; code: number; json: TfShowJson }, ctx: StepContext) => unknown;

/** One step of a scenario. */
export interface Step {
  /** What the step does, for failure messages (`step 3 (rotate the secret): ...`). */
  name?: string;
  /** The configuration (HCL); a function gets the earlier state. Omitted: that of the last step that applied. */
  config?: string | ((ctx: StepContext) => string);
  /** Runs before the configuration is written: a change by hand through the API, to simulate drift. */
  preConfig?: (ctx: StepContext) => unknown;
  /**
   * Plan and apply must fail with diagnostics matching every pattern (a
   * function gets the earlier state, to name ids). The state and, when the
   * runner has `serviceSnapshot`, the service must then be as they were.
   */
  expectError?: RegExp | RegExp[] | ((ctx: StepContext) => RegExp[]);
  /** With `expectError`: `plan` means the plan itself must already fail (checked before any call changes anything). */
  errorPhase?: 'plan' | 'apply';
  /** Only plan, never apply: the plan must be empty (or non-empty with `expectNonEmptyPlan`). */
  planOnly?: boolean;
  /**
   * Why the plan after this step's apply (or the plan of a `planOnly` step)
   * is expected to have changes. Without it every re-plan must be empty.
   */
  expectNonEmptyPlan?: string;
  /** Checks of the plan before it is applied: its text, exit code and `show -json`. */
  planChecks?: PlanCheck[];
  /** Checks of the state after the step (of the imported state in an import step). */
  checks?: Check[];
  /**
   * Import `address` into a fresh state with this step's configuration
   * (instead of planning and applying). `id` defaults to the `id` attribute
   * of `address` in the current state.
   */
  importState?: { address: string; id?: string; idFrom?: (state: StateView) => string };
  /** Compare the whole imported resource with the one in the current state. */
  importStateVerify?: boolean;
  /** Attributes the import cannot know (a secret shown once, configuration-only values). */
  importStateVerifyIgnore?: string[];
}

/** How to run a scenario. */
export interface RunOptions {
  /** A workspace to use (kept afterwards); or `endpoint` and `token` to make one (removed afterwards). */
  workspace?: TerraformWorkspace;
  endpoint?: string;
  token?: string;
  extraEnv?: NodeJS.ProcessEnv;
  /**
   * What the service holds, compared before and after an `expectError`
   * step: a failed plan or apply must not have changed anything.
   */
  serviceSnapshot?: () => Promise<unknown>;
  /** After the final `terraform destroy`: throws unless the service is as destroy must leave it. */
  checkDestroy?: () => unknown;
  /** Skip the final destroy (the caller destroys, e.g. to test destroy itself). */
  skipDestroy?: boolean;
  /** File the configuration is written to: `main.tf` (HCL) by default, `main.tf.json` for synthesized cdktf JSON. */
  configFile?: string;
}

/** What a finished scenario leaves for assertions over the whole run. */
export interface RunResult {
  /** Everything Terraform printed, in order, except `show -json` (which holds sensitive values by design): to look for secrets. */
  printed: string;
  /** Terraform's own log (TF_LOG), read before the workspace is removed. */
  log: string;
  /** The state after each step, by step number (index 0 unused). */
  states: Array<StateView | undefined>;
}

/** A step failed: the message names the step and what it expected. */
export class StepError extends Error {
  constructor(readonly step: number, name: string | undefined, message: string) {
    super(`step ${step}${name ? ` (${name})` : ''}: ${message}`);
    this.name = 'StepError';
  }
}

/** Output of a failed command, trimmed so a failure message stays readable. */
function shown(r: TfRun): string {
  const out = `${r.stdout}\n${r.stderr}`.trim();
  return out.length > 6000 ? `${out.slice(0, 3000)}\n…\n${out.slice(-3000)}` : out;
}

/**
 * Runs `steps` in order on one workspace, then destroys. Rejects with a
 * {@link StepError} at the first step that does not do what it expected.
 */
export async function runSteps(opts: RunOptions | TerraformWorkspace, steps: Step[]): Promise<RunResult> {
  const options: RunOptions = opts instanceof TerraformWorkspace ? { workspace: opts } : opts;
  let ws = options.workspace;
  const owned = !ws;
  if (!ws) {
    if (options.endpoint === undefined || options.token === undefined) throw new Error('runSteps needs a workspace, or endpoint and token');
    ws = new TerraformWorkspace({ endpoint: options.endpoint, token: options.token, extraEnv: options.extraEnv });
  }
  const workspace = ws;
  const result: RunResult = { printed: '', log: '', states: [undefined] };
  const vars: { [name: string]: unknown } = {};
  let current: StateView | undefined;
  let failure: unknown;
  // The configuration of the last step that applied: what a step without one reuses, and what
  // destroy runs with (a failed step's broken configuration could not even plan a destroy).
  let lastApplied: string | undefined;

  const run = async (args: string[]): Promise<TfRun> => {
    const r = await workspace.run(args);
    // `show -json` is machine output that holds sensitive values by design; everything else is
    // what a person or a pipeline log would see, which is where a leaked secret would matter.
    if (!args.includes('-json')) result.printed += r.stdout + r.stderr;
    return r;
  };
  const readState = async (dirArgs: string[] = []): Promise<StateView> => {
    const r = await run([...dirArgs, 'show', '-json']);
    if (r.code !== 0) throw new Error(`terraform show -json failed:\n${shown(r)}`);
    return new StateView(JSON.parse(r.stdout) as TfShowJson);
  };

  try {
    for (const [i, step] of steps.entries()) {
      const n = i + 1;
      const fail = (message: string): never => {
        throw new StepError(n, step.name, message);
      };
      const ctx: StepContext = { step: n, workspace, previous: current, vars };
      try {
        await step.preConfig?.(ctx);
        const config = (typeof step.config === 'function' ? step.config(ctx) : step.config) ?? lastApplied;
        if (config === undefined) fail('the first step needs a config');
        workspace.write(config!, options.configFile);

        if (step.importState) {
          // Its checks see the imported state; the scenario's own state is unchanged.
          await importStep(step, ctx, current, run, readState, fail);
        } else {
          let after: StateView;
          if (step.expectError) {
            await errorStep(step, ctx, run, readState, options, fail);
            after = await readState();
          } else if (step.planOnly) {
            await planOnlyStep(step, ctx, run, fail);
            after = await readState();
          } else {
            after = await applyStep(step, ctx, n, run, readState, fail);
            lastApplied = config;
          }
          current = after;
          for (const check of step.checks ?? []) await check(after, ctx);
        }
        result.states[n] = current;
      } catch (e) {
        if (e instanceof StepError) throw e;
        fail(`a check failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  } catch (e) {
    failure = e;
  }

  // Destroy even after a failure, so the service is left as it was found.
  if (!options.skipDestroy) {
    try {
      if (lastApplied !== undefined) workspace.write(lastApplied, options.configFile);
      const r = await run(['destroy', '-auto-approve', '-no-color']);
      if (r.code !== 0) throw new Error(`terraform destroy exited ${r.code}:\n${shown(r)}`);
      await options.checkDestroy?.();
    } catch (e) {
      const message = `destroy: ${e instanceof Error ? e.message : String(e)}`;
      if (!failure) failure = new Error(message);
      else if (failure instanceof Error) failure.message += `\n(and then ${message})`;
    }
  }
  result.log = workspace.log();
  if (owned) workspace.dispose();
  if (failure) throw failure;
  return result;
}

type Runner = (args: string[]) => Promise<TfRun>;
type Fail = (message: string) => never;

/** Plan to a file, check the plan, apply it, then require an empty re-plan. */
async function applyStep(step: Step, ctx: StepContext, n: number, run: Runner, readState: () => Promise<StateView>, fail: Fail): Promise<StateView> {
  const planFile = `step-${n}.tfplan`;
  const plan = await run(['plan', '-detailed-exitcode', '-no-color', `-out=${planFile}`]);
  if (plan.code === 1) fail(`expected the plan to succeed, but it failed:\n${shown(plan)}`);
  if (step.planChecks?.length) {
    const json = JSON.parse((await run(['show', '-json', planFile])).stdout) as TfShowJson;
    for (const check of step.planChecks) {
      try {
        await check({ text: plan.stdout, code: plan.code, json }, ctx);
      } catch (e) {
        fail(`a plan check failed: ${e instanceof Error ? e.message : String(e)}\nplan:\n${plan.stdout}`);
      }
    }
  }
  const apply = await run(['apply', '-auto-approve', '-no-color', planFile]);
  if (apply.code !== 0) fail(`expected apply to succeed, but it exited ${apply.code}:\n${shown(apply)}`);
  await replan(step, run, fail, 'after apply');
  return readState();
}

/** `terraform plan -detailed-exitcode` must be 0, or 2 when the step says why. */
async function replan(step: Step, run: Runner, fail: Fail, when: string): Promise<void> {
  const r = await run(['plan', '-detailed-exitcode', '-no-color']);
  if (r.code === 1) fail(`expected the plan ${when} to succeed, but it failed:\n${shown(r)}`);
  if (step.expectNonEmptyPlan !== undefined) {
    if (step.expectNonEmptyPlan.trim() === '') fail('expectNonEmptyPlan needs a reason');
    if (r.code !== 2) fail(`expected a non-empty plan ${when} (${step.expectNonEmptyPlan}), but it was empty`);
  } else if (r.code !== 0) {
    fail(`expected an empty plan ${when}, but Terraform plans changes (a perpetual diff, or drift the apply did not undo):\n${r.stdout}`);
  }
}

async function planOnlyStep(step: Step, ctx: StepContext, run: Runner, fail: Fail): Promise<void> {
  if (step.planChecks?.length) {
    const planFile = `step-${ctx.step}.tfplan`;
    const plan = await run(['plan', '-detailed-exitcode', '-no-color', `-out=${planFile}`]);
    if (plan.code === 1) fail(`expected the plan to succeed, but it failed:\n${shown(plan)}`);
    const json = JSON.parse((await run(['show', '-json', planFile])).stdout) as TfShowJson;
    for (const check of step.planChecks) {
      try {
        await check({ text: plan.stdout, code: plan.code, json }, ctx);
      } catch (e) {
        fail(`a plan check failed: ${e instanceof Error ? e.message : String(e)}\nplan:\n${plan.stdout}`);
      }
    }
  }
  await replan(step, run, fail, '(plan only)');
}

/** The plan (and an apply) must fail matching every pattern, and change nothing. */
async function errorStep(step: Step, ctx: StepContext, run: Runner, readState: () => Promise<StateView>, options: RunOptions, fail: Fail): Promise<void> {
  const spec = step.expectError!;
  const patterns = typeof spec === 'function' ? spec(ctx) : Array.isArray(spec) ? spec : [spec];
  const stateBefore = (await readState()).json;
  const serviceBefore = await options.serviceSnapshot?.();

  const mustMatch = (what: string, r: TfRun): void => {
    if (r.code === 0) fail(`expected ${what} to fail with ${patterns.join(', ')}, but it succeeded:\n${shown(r)}`);
    const out = `${r.stdout}\n${r.stderr}`;
    const missing = patterns.filter((p) => !p.test(out));
    if (missing.length) fail(`expected ${what} to fail with a diagnostic matching ${missing.join(', ')}, but it said:\n${shown(r)}`);
  };
  const plan = await run(['plan', '-detailed-exitcode', '-no-color']);
  if (step.errorPhase === 'plan' || plan.code === 1) mustMatch('the plan', plan);
  mustMatch('apply', await run(['apply', '-auto-approve', '-no-color']));

  const stateAfter = (await readState()).json;
  if (!isDeepStrictEqual(stateBefore, stateAfter)) fail('expected the failed step to leave the state as it was, but the state changed');
  if (options.serviceSnapshot) {
    const serviceAfter = await options.serviceSnapshot();
    if (!isDeepStrictEqual(serviceBefore, serviceAfter)) {
      fail(`expected the failed step to change nothing in the service, but it did:\nbefore: ${JSON.stringify(serviceBefore)}\nafter:  ${JSON.stringify(serviceAfter)}`);
    }
  }
}

/**
 * `terraform import` into a fresh directory holding only this step's
 * configuration (so the import starts from no state, as a user's would),
 * then the imported resource is compared with the one in the current state.
 */
async function importStep(
  step: Step,
  ctx: StepContext,
  current: StateView | undefined,
  run: Runner,
  readState: (dirArgs?: string[]) => Promise<StateView>,
  fail: Fail,
): Promise<void> {
  const { address } = step.importState!;
  let id = step.importState!.id;
  if (id === undefined) {
    if (!current) fail(`nothing is in the state yet to take the import id of ${address} from`);
    id = step.importState!.idFrom ? step.importState!.idFrom(current!) : current!.str(address, 'id');
  }
  const sub = `import-step-${ctx.step}`;
  const dir = path.join(ctx.workspace.dir, sub);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(ctx.workspace.dir)) {
    if (f.endsWith('.tf') || f.endsWith('.tf.json')) fs.copyFileSync(path.join(ctx.workspace.dir, f), path.join(dir, f));
  }
  const chdir = [`-chdir=${sub}`];
  const r = await run([...chdir, 'import', '-no-color', '-input=false', address, id]);
  if (r.code !== 0) fail(`expected terraform import ${address} ${id} to succeed, but it exited ${r.code}:\n${shown(r)}`);
  const imported = await readState(chdir);

  if (step.importStateVerify) {
    if (!current?.has(address)) fail(`importStateVerify: ${address} is not in the current state to compare with`);
    const ignore = new Set(step.importStateVerifyIgnore ?? []);
    const want = current!.resource(address);
    const got = imported.resource(address);
    const differences = [...new Set([...Object.keys(want), ...Object.keys(got)])]
      .filter((k) => !ignore.has(k) && !isDeepStrictEqual(want[k], got[k]))
      .map((k) => `  ${k}: in state ${JSON.stringify(want[k])}, imported ${JSON.stringify(got[k])}`);
    if (differences.length) fail(`expected the imported ${address} to equal the one in state (ignoring ${[...ignore].join(', ') || 'nothing'}), but:\n${differences.join('\n')}`);
  }
  for (const check of step.checks ?? []) {
    try {
      await check(imported, ctx);
    } catch (e) {
      fail(`a check of the imported state failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/**
 * The configuration cdktf synthesized for `stack` under `outdir`, as a
 * string for a step, without its backend: a backend block needs
 * `terraform init`, which ignores the `dev_overrides` the workspace uses to
 * find this checkout's provider. Without one, Terraform keeps the state in
 * the working directory, as the examples' default local backend does.
 */
export function synthesizedStack(outdir: string, stack: string): string {
  const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8')) as { terraform?: { backend?: unknown } };
  if (json.terraform) delete json.terraform.backend;
  return JSON.stringify(json, null, 2);
}

// ---- checks ---------------------------------------------------------------

/** Describes an expected value for a message. */
function describeExpected(expected: unknown): string {
  if (expected instanceof RegExp) return `matching ${expected}`;
  if (typeof expected === 'function') return `satisfying ${expected.name || 'a predicate'}`;
  return JSON.stringify(expected);
}

/**
 * `address.attr` equals `expected` (deep equality), matches it (a RegExp),
 * or satisfies it (a predicate). With `from`, the expected value is
 * computed from the state and step context instead (an id of another
 * resource, a value a hook kept in `vars`).
 */
export function checkAttr(address: string, attr: string, expected: unknown, from?: (state: StateView, ctx: StepContext) => unknown): Check {
  return (state, ctx) => {
    const want = from ? from(state, ctx) : expected;
    const got = state.attr(address, attr);
    const ok =
      want instanceof RegExp ? typeof got === 'string' && want.test(got)
      : typeof want === 'function' ? Boolean((want as (v: unknown) => unknown)(got))
      : isDeepStrictEqual(got, want);
    if (!ok) throw new Error(`expected ${address}.${attr} to be ${describeExpected(want)}, but it is ${JSON.stringify(got)}`);
  };
}

/** `address.attr` is set: neither null nor an empty string. */
export function checkAttrSet(address: string, attr: string): Check {
  return (state) => {
    const got = state.attr(address, attr);
    if (got === null || got === undefined || got === '') throw new Error(`expected ${address}.${attr} to be set, but it is ${JSON.stringify(got)}`);
  };
}

/** `address.attr` is null (e.g. no secret for a public client). */
export function checkNoAttr(address: string, attr: string): Check {
  return checkAttr(address, attr, null);
}

/** `address` was replaced in this step: its `id` (and each of `alsoChanged`) differs from the previous step's. */
export function checkReplaced(address: string, alsoChanged: string[] = []): Check {
  return (state, ctx) => {
    if (!ctx.previous) throw new Error(`checkReplaced(${address}) needs an earlier step`);
    for (const attr of ['id', ...alsoChanged]) {
      const before = ctx.previous.attr(address, attr);
      const after = state.attr(address, attr);
      if (isDeepStrictEqual(before, after)) throw new Error(`expected ${address} to be replaced (${attr} to change), but ${attr} is still ${JSON.stringify(after)}`);
    }
  };
}

/** `address` was not replaced in this step: its `id` (and each of `alsoSame`) is the previous step's. */
export function checkNotReplaced(address: string, alsoSame: string[] = []): Check {
  return (state, ctx) => {
    if (!ctx.previous) throw new Error(`checkNotReplaced(${address}) needs an earlier step`);
    for (const attr of ['id', ...alsoSame]) {
      const before = ctx.previous.attr(address, attr);
      const after = state.attr(address, attr);
      if (!isDeepStrictEqual(before, after)) throw new Error(`expected ${address} to be kept (${attr} unchanged), but ${attr} went from ${JSON.stringify(before)} to ${JSON.stringify(after)}`);
    }
  };
}

/** The plan text matches every pattern (for plan checks). */
export function planMatches(...patterns: RegExp[]): PlanCheck {
  return (plan) => {
    const missing = patterns.filter((p) => !p.test(plan.text));
    if (missing.length) throw new Error(`expected the plan to match ${missing.join(', ')}`);
  };
}

/** The plan gives `address` exactly these actions (`["create"]`, `["update"]`, `["delete","create"]`, ...). */
export function planActions(address: string, actions: string[]): PlanCheck {
  return (plan) => {
    const change = plan.json.resource_changes?.find((c) => c.address === address);
    const got = change?.change.actions ?? ['(not in the plan)'];
    if (!isDeepStrictEqual([...got].sort(), [...actions].sort())) throw new Error(`expected ${address} to plan ${actions.join('+')}, but it plans ${got.join('+')}`);
  };
}
