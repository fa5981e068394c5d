/**
 * Runs the real `terraform` binary against the appreg provider built in this
 * checkout, the way a user's pipeline does, in a temporary working directory.
 *
 * The provider is found through a CLI configuration with `dev_overrides`
 * pointing at `bin/`, so no `terraform init` is needed. If Terraform is not
 * installed the tests fail loudly; they are never skipped quietly.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess, type ProcessRun } from './process';
import { TRACE_LOGS_KEY, type TraceLogRegistry } from './trace-logs';

/** The start of every test configuration: the provider from this checkout, configured from the environment. */
export const PROVIDER_PREAMBLE = `terraform {
  required_providers {
    appreg = { source = "appreg/appreg" }
  }
}
provider "appreg" {}
`;

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Throws an error that says what to install when Terraform is missing. */
export function requireTerraform(): string {
  try {
    // An empty CLI configuration: the machine's TF_CLI_CONFIG_FILE may name a missing file,
    // which only adds a warning to every test's output.
    return execFileSync('terraform', ['version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' },
    }).split('\n')[0]!;
  } catch {
    throw new Error('terraform is not on PATH: the end-to-end tests need Terraform 1.11 or newer. Install it; these tests are never skipped.');
  }
}

/** Throws when the provider has not been compiled (npm test compiles it before jest runs). */
export function requireBuiltProvider(): void {
  const entry = path.join(REPO_ROOT, 'dist', 'src', 'provider', 'main.js');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run 'npm run build' (npm test does it) before these tests`);
}

/** The acceptance environment's registry of trace logs, if the test runs in it (see trace-logs.ts). */
function traceLogs(): TraceLogRegistry | undefined {
  return (globalThis as { [TRACE_LOGS_KEY]?: TraceLogRegistry })[TRACE_LOGS_KEY];
}

/** The result of one Terraform command. */
export type TfRun = ProcessRun;

/** A temporary Terraform working directory using this checkout's provider. */
export class TerraformWorkspace {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  /**
   * Path of Terraform's own log (TF_LOG=trace), provider stderr included.
   * In the acceptance project it outlives the workspace only when a test
   * fails, and its path is then printed (see trace-logs.ts).
   */
  readonly logPath: string;

  constructor(vars: { endpoint: string; token: string; extraEnv?: NodeJS.ProcessEnv }) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-tf-'));
    const cliConfig = path.join(this.dir, '.terraformrc');
    fs.writeFileSync(
      cliConfig,
      `provider_installation {\n  dev_overrides {\n    "appreg/appreg" = ${JSON.stringify(path.join(REPO_ROOT, 'bin'))}\n  }\n  direct {}\n}\n`,
    );
    this.logPath = path.join(this.dir, 'terraform.log');
    this.env = {
      ...process.env,
      TF_CLI_CONFIG_FILE: cliConfig,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      TF_LOG: 'trace',
      TF_LOG_PATH: this.logPath,
      APPREG_ENDPOINT: vars.endpoint,
      APPREG_TOKEN: vars.token,
      ...vars.extraEnv,
    };
    traceLogs()?.add(this.dir, this.logPath);
  }

  /** Replaces the configuration (`main.tf`). */
  write(hcl: string, file = 'main.tf'): void {
    fs.writeFileSync(path.join(this.dir, file), hcl);
  }

  /** Runs `terraform <args>` in the workspace, never throwing on a non-zero exit. */
  run(args: string[]): Promise<TfRun> {
    return runProcess('terraform', args, { cwd: this.dir, env: this.env });
  }

  /** `terraform apply -auto-approve`; throws with Terraform's output when it fails. */
  async apply(extra: string[] = []): Promise<TfRun> {
    return this.ok(['apply', '-auto-approve', '-no-color', ...extra]);
  }

  /** `terraform plan -detailed-exitcode`: 0 no changes, 2 changes, 1 error. */
  plan(extra: string[] = []): Promise<TfRun> {
    return this.run(['plan', '-detailed-exitcode', '-no-color', ...extra]);
  }

  /** `terraform show -json` of the state. */
  async state(): Promise<TfStateJson> {
    return JSON.parse((await this.ok(['show', '-json'])).stdout) as TfStateJson;
  }

  /** The attribute values of one resource in the state, by address. */
  async resource(address: string): Promise<{ [k: string]: unknown }> {
    const state = await this.state();
    const r = state.values?.root_module?.resources?.find((x) => x.address === address);
    if (!r) throw new Error(`${address} is not in the state`);
    return r.values;
  }

  /** Everything Terraform and the provider logged so far. */
  log(): string {
    return fs.existsSync(this.logPath) ? fs.readFileSync(this.logPath, 'utf8') : '';
  }

  /** Runs a command that must succeed. */
  async ok(args: string[]): Promise<TfRun> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`terraform ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  }

  /** Removes the working directory (in the acceptance project: once it is known that no test failed meanwhile). */
  dispose(): void {
    const registry = traceLogs();
    if (registry) registry.dispose(this.dir);
    else fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The part of `terraform show -json` the tests read. */
export interface TfStateJson {
  values?: { root_module?: { resources?: Array<{ address: string; type: string; values: { [k: string]: unknown } }> } };
}
