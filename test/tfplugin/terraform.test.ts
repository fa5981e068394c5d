/**
 * End to end with the real `terraform` binary and the toy provider, found
 * through `dev_overrides`: plan, apply, a second plan that must be empty,
 * a replacement, and destroy. Also checks that every provider process
 * Terraform started has exited and cleaned up its socket.
 *
 * Terraform 1.11 must be on PATH; without it this test fails, it is never
 * skipped quietly.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { requireBuiltToy, TOY_DIR } from '../fixtures/toy';
import { runProcess, type ProcessRun } from '../support/process';

type Run = ProcessRun;

let dir: string;
let env: NodeJS.ProcessEnv;
let store: string;
let calls: string;
let tmpdir: string;

function terraform(...args: string[]): Promise<Run> {
  // `output` takes neither flag; every other command here takes both.
  const flags = args[0] === 'output' ? [] : ['-no-color', '-input=false'];
  return runProcess('terraform', [...args, ...flags], { cwd: dir, env });
}

/** Runs a command that must succeed; on failure the error shows Terraform's output. */
async function ok(...args: string[]): Promise<Run> {
  const r = await terraform(...args);
  if (r.code !== 0) throw new Error(`terraform ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

function writeConfig(thing: { zone: string; name?: string }): void {
  fs.writeFileSync(
    path.join(dir, 'main.tf'),
    `terraform {
  required_providers {
    toy = { source = "appreg/toy" }
  }
}

provider "toy" {
  prefix = "e2e"
}

resource "toy_thing" "a" {
  name   = "${thing.name ?? 'alpha'}"
  zone   = "${thing.zone}"
  tags   = { team = "platform", "10" = "ten", "9" = "nine" }
  labels = ["b", "a"]
  size   = 0.1
}

data "toy_lookup" "a" {
  name = toy_thing.a.name
}

output "id" {
  value = toy_thing.a.id
}

output "looked_up_zone" {
  value = data.toy_lookup.a.zone
}
`,
  );
}

const stored = (): Record<string, { id: string; zone: string }> => (fs.existsSync(store) ? JSON.parse(fs.readFileSync(store, 'utf8')) : {});
const output = async (name: string): Promise<string> => JSON.parse((await ok('output', '-json')).stdout)[name].value;

beforeAll(() => {
  try {
    execFileSync('terraform', ['version'], { env: { ...process.env, CHECKPOINT_DISABLE: '1' }, stdio: 'pipe' });
  } catch {
    throw new Error('terraform is not on PATH: this end-to-end test needs Terraform 1.11 or newer. Install it; the test is never skipped.');
  }
  requireBuiltToy();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toy-e2e-'));
  store = path.join(dir, 'store.json');
  calls = path.join(dir, 'calls.log');
  // Providers put their sockets under TMPDIR; a private one shows whether they clean up.
  tmpdir = path.join(dir, 'tmp');
  fs.mkdirSync(tmpdir);
  const cliConfig = path.join(dir, 'cli.tfrc');
  fs.writeFileSync(cliConfig, `provider_installation {\n  dev_overrides {\n    "appreg/toy" = "${TOY_DIR}"\n  }\n  direct {}\n}\n`);
  env = {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    CHECKPOINT_DISABLE: '1',
    TOY_STORE: store,
    TOY_CALL_LOG: calls,
    TMPDIR: tmpdir,
  };
  delete env.TF_REATTACH_PROVIDERS;
  delete env.TF_LOG;
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('plan, apply, empty plan, replace, destroy with real Terraform', async () => {
  writeConfig({ zone: 'z1' });

  const plan = await ok('plan');
  expect(plan.stdout).toMatch(/# toy_thing\.a will be created/);
  expect(plan.stdout).toMatch(/\+ color\s+= "blue"/);
  expect(plan.stdout).toMatch(/\+ secret\s+= \(sensitive value\)/);
  expect(plan.stdout).toMatch(/Plan: 1 to add, 0 to change, 0 to destroy/);

  await ok('apply', '-auto-approve');
  const id = await output('id');
  expect(id).toMatch(/^e2e-[0-9a-f]{8}$/);
  expect(await output('looked_up_zone')).toBe('z1');
  expect(Object.keys(stored())).toEqual([id]);

  // Nothing changed: exit code 0 (2 would mean changes).
  const again = await terraform('plan', '-detailed-exitcode');
  expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
  expect(again.stdout).toMatch(/No changes/);

  // A new zone forces replacement.
  writeConfig({ zone: 'z2' });
  const replacing = await terraform('plan', '-detailed-exitcode');
  expect(replacing.code).toBe(2);
  expect(replacing.stdout).toMatch(/# toy_thing\.a must be replaced/);
  expect(replacing.stdout).toMatch(/~ zone\s+= "z1" -> "z2" # forces replacement/);
  await ok('apply', '-auto-approve');
  const newId = await output('id');
  expect(newId).not.toBe(id);
  expect(Object.keys(stored())).toEqual([newId]);
  expect((await terraform('plan', '-detailed-exitcode')).code).toBe(0);

  await ok('destroy', '-auto-approve');
  expect(stored()).toEqual({});

  // Destroy went through ApplyResourceChange with a null plan (no plan_destroy).
  const log = fs.readFileSync(calls, 'utf8');
  expect(log).toMatch(/"call":"applyResourceChange delete"/);
  expect(log).not.toMatch(/"call":"stop"/);

  // Every provider process has exited and removed its socket directory.
  const pids = [...new Set(log.trim().split('\n').map((l) => (JSON.parse(l) as { pid: number }).pid))];
  expect(pids.length).toBeGreaterThan(3);
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  expect(fs.readdirSync(tmpdir).filter((f) => f.startsWith('plugin'))).toEqual([]);
});

test('an error diagnostic reaches the user with its attribute', async () => {
  writeConfig({ zone: 'z1', name: '' });
  const r = await terraform('plan');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/Error: Empty name/);
  expect(r.stderr).toMatch(/A thing needs a name\./);
  expect(r.stderr).toMatch(/name\s+= ""/);
});

test('an exception in the provider reaches the user as a provider bug', async () => {
  writeConfig({ zone: 'z1', name: 'boom' });
  const r = await terraform('plan');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/Error: Internal error in the provider/);
  expect(r.stderr).toMatch(/toy exploded while planning/);
  expect(r.stderr).toMatch(/bug in the provider/);
});
