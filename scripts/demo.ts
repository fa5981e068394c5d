/**
 * `npm run demo`: appreg end to end on one machine, with nothing to set up.
 *
 * It does what a platform team does, with the real commands: starts the
 * registration service on SQLite in a temporary folder, creates a tenant,
 * groups and tokens with `appreg admin`, installs the provider into a
 * Terraform filesystem mirror, synthesizes the `organization-app` cdktf
 * example, runs `terraform init`, `plan` and `apply`, changes a callback URL
 * behind Terraform's back as a person in a console would, runs the scheduled
 * drift check, and cleans up. Every step checks its result; the demo exits
 * non-zero the moment one does not behave as described.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppregClient } from '../src/client';
import { findRepoRoot } from './generate';

const root = findRepoRoot(__dirname);
const appreg = path.join(root, 'bin', 'appreg');
const STEPS = 9;
let step = 0;

// Colour only on a terminal: a CI log or a file gets plain text.
const tty = process.stdout.isTTY === true;
const bold = (s: string): string => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string): string => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string): string => (tty ? `\x1b[31m${s}\x1b[0m` : s);

function heading(text: string): void {
  step += 1;
  process.stdout.write(`\n${bold(`==> [${step}/${STEPS}] ${text}`)}\n`);
}
const say = (text: string): void => void process.stdout.write(`    ${text}\n`);

class DemoFailure extends Error {}
function check(ok: boolean, what: string): void {
  if (!ok) throw new DemoFailure(what);
  say(`${green('✓')} ${what}`);
}

/** Runs an appreg operator command and parses its JSON answer (which may hold a token: never printed). */
function admin(args: string[]): { [k: string]: string } {
  const r = spawnSync(appreg, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new DemoFailure(`appreg ${args.slice(0, 3).join(' ')} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as { [k: string]: string };
}

/** Whether the demo keeps its folder, the app and the state at the end (`APPREG_DEMO_KEEP=1`). */
const keep = (process.env.APPREG_DEMO_KEEP ?? '') !== '';

/**
 * Runs a command with its output shown indented, as progress. The command
 * line shown says where it ran: the demo's environment (endpoint, token,
 * CLI configuration) is its own, so it is a record, not one to paste.
 */
function run(cmd: string, args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv; only?: RegExp }): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    say(`$ ${path.basename(cmd)} ${args.join(' ')}${opts.cwd ? `    (in ${opts.cwd})` : ''}`);
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let pending = '';
    const show = (d: Buffer): void => {
      output += d.toString();
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (!opts.only || opts.only.test(line)) process.stdout.write(`      ${line}\n`);
    };
    child.stdout.on('data', show);
    child.stderr.on('data', show);
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending && (!opts.only || opts.only.test(pending))) process.stdout.write(`      ${pending}\n`);
      resolve({ code: code ?? 1, output });
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, service: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (service.exitCode !== null) throw new DemoFailure(`appreg serve exited with code ${service.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new DemoFailure('appreg serve did not become healthy within 10 s');
}

async function demo(work: string, cleanups: Array<() => Promise<void> | void>): Promise<void> {
  const db = path.join(work, 'appreg.db');

  heading('Operator: create a tenant, three groups and tokens (appreg admin)');
  const { tenant_id, token: adminToken } = admin(['admin', 'init', '--db', db, '--tenant', 'acme']);
  for (const g of ['platform', 'billing', 'support']) {
    const { group_id } = admin(['admin', 'group', 'add', '--db', db, '--tenant', 'acme', '--name', g]);
    say(`group ${g}: ${group_id}`);
  }
  const { token: auditorToken } = admin(['admin', 'token', 'create', '--db', db, '--tenant', 'acme', '--role', 'auditor']);
  check(tenant_id!.startsWith('ten_') && !!adminToken && !!auditorToken, `tenant acme (${tenant_id}) with a tenant_security_admin token and an auditor token for drift checks (tokens are not shown)`);

  heading('Start the registration service on SQLite (appreg serve)');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const serviceLog = path.join(work, 'service.log');
  const logFd = fs.openSync(serviceLog, 'a');
  const service = spawn(appreg, ['serve', '--db', db, '--host', '127.0.0.1', '--port', String(port)], { stdio: ['ignore', logFd, logFd] });
  cleanups.push(async () => {
    if (service.exitCode === null) {
      const exited = new Promise((r) => service.once('exit', r));
      service.kill('SIGTERM');
      await exited;
    }
    fs.closeSync(logFd);
  });
  await waitHealthy(url, service);
  check(true, `service listening on ${url}, data in ${db}`);

  heading('Install the provider into a Terraform filesystem mirror (appreg provider install)');
  const mirror = path.join(work, 'mirror');
  // Installs the release zip (npm run release), building it first when it is missing.
  say('(the first run builds the provider release, which takes about half a minute)');
  const installed = admin(['provider', 'install', '--dir', mirror]);
  // `installed` is the zip in the mirror; older versions of the command printed `path`.
  const installedPath = installed.installed ?? installed.path ?? '';
  const cliConfig = path.join(work, 'terraform.rc');
  fs.writeFileSync(cliConfig, `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["appreg/appreg"]\n  }\n  direct {\n    exclude = ["appreg/appreg"]\n  }\n}\n`);
  check(installedPath !== '' && fs.existsSync(installedPath), `appreg/appreg ${installed.version} at ${path.relative(work, installedPath)}`);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    APPREG_ENDPOINT: url,
    APPREG_TOKEN: adminToken,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    CDKTF_OUTDIR: path.join(work, 'cdktf.out'),
  };

  heading('Synthesize the organization-app cdktf example');
  // In the demo folder: cdktf's local backend keeps the state next to where the app runs.
  const synth = await run(process.execPath, [path.join(root, 'dist', 'examples', 'organization-app', 'main.js')], { cwd: work, env });
  const stack = path.join(work, 'cdktf.out', 'stacks', 'organization-app');
  check(synth.code === 0 && fs.existsSync(path.join(stack, 'cdk.tf.json')), `Terraform JSON in ${path.relative(work, stack)}/cdk.tf.json`);

  heading('terraform init, plan and apply');
  check((await run('terraform', ['init', '-no-color'], { cwd: stack, env, only: /appreg|initialized|Error/ })).code === 0, 'terraform init found the provider in the mirror, offline');
  const plan = await run('terraform', ['plan', '-no-color', '-out=tfplan', '-detailed-exitcode'], { cwd: stack, env });
  check(plan.code === 2 && /Plan: 4 to add, 0 to change, 0 to destroy/.test(plan.output), 'plan: the tenant switch, one app, two consents to add');
  const apply = await run('terraform', ['apply', '-no-color', 'tfplan'], { cwd: stack, env });
  check(apply.code === 0 && /Apply complete! Resources: 4 added/.test(apply.output), 'apply complete');

  heading('The new registration');
  const out = spawnSync('terraform', ['output', '-json'], { cwd: stack, env, encoding: 'utf8' });
  const outputs = JSON.parse(out.stdout) as { client_id: { value: string }; client_secret: { sensitive: boolean } };
  const clientId = outputs.client_id.value;
  check(/^[a-z0-9]+$/.test(clientId), `client id: ${clientId}`);
  // The hint names only what still exists when the reader acts on it: the demo folder is removed
  // at the end unless APPREG_DEMO_KEEP is set, and then the command is printed once the demo is over.
  check(
    outputs.client_secret.sensitive,
    keep
      ? 'client secret: kept in Terraform state as a sensitive output, never printed (the command to read it follows at the end)'
      : 'client secret: kept in Terraform state as a sensitive output, never printed. The demo removes its folder at the end;\n' +
        '      to keep it and read the secret afterwards, run it as: APPREG_DEMO_KEEP=1 npm run demo',
  );
  const api = new AppregClient({ endpoint: url, token: adminToken! });
  cleanups.push(() => api.close());
  const app = (await api.listAllApps()).find((a) => a.client_id === clientId);
  check(app !== undefined && app.scope === 'organization', `the service has "${app?.name}" (${app?.id}), organization-scoped`);
  check((await api.listAllConsents({})).filter((c) => c.app_id === app!.id).length === 2, 'billing and support have consented to it');

  heading('Someone edits a callback URL by hand, in the console');
  const edited = [...app!.callback_urls.filter((u) => !u.endsWith('silent-renew')), 'https://portal.example.com/oauth/debug'];
  await api.updateApp(app!.id, { callback_urls: edited });
  check(true, `callback URLs are now ${JSON.stringify(edited)}`);

  heading('The scheduled drift check finds it (appreg drift, auditor token)');
  const drift = await run(appreg, ['drift', '--dir', stack], { env: { ...env, APPREG_TOKEN: auditorToken } });
  check(drift.code === 2, 'appreg drift exited 2: drift found (a CI job fails here)');
  check(drift.output.includes('appreg_oauth_client.portal') && drift.output.includes('https://portal.example.com/oauth/debug'), 'it names the resource and the changed callback URLs');

  let destroy: { code: number; output: string } | undefined;
  if (keep) {
    heading('Keep the folder, the app and its state (APPREG_DEMO_KEEP); stop the service');
    check(true, `the app stays in ${db}, its Terraform state in ${work}`);
    afterDemo.push(
      `The demo folder is kept: ${work}`,
      'Read the client secret from the Terraform state (it prints the secret):',
      `  terraform -chdir=${stack} output -raw client_secret`,
      'Start the service on the demo database again:',
      `  ${appreg} serve --db ${db} --port ${port}`,
      `Remove the folder when done: rm -rf ${work}`,
    );
  } else {
    heading('Clean up: terraform destroy, stop the service, remove the temporary folder');
    destroy = await run('terraform', ['destroy', '-auto-approve', '-no-color'], { cwd: stack, env, only: /Destroy complete|Error/ });
    check(destroy.code === 0 && (await api.listAllApps()).length === 0, 'destroy removed the app and its consents (the tenant switch stays on)');
  }
  // Nothing the demo printed may contain a secret or a token.
  const printed = [synth, plan, apply, drift, ...(destroy ? [destroy] : [])].map((r) => r.output).join('\n') + fs.readFileSync(serviceLog, 'utf8');
  check(!printed.includes(adminToken!) && !printed.includes(auditorToken!), 'no token appeared in any output or the service log');
}

/** Lines printed after the demo and its clean-up, when what they name still exists. */
const afterDemo: string[] = [];

async function mainDemo(): Promise<number> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-demo-'));
  const cleanups: Array<() => Promise<void> | void> = [];
  let code = 0;
  try {
    process.stdout.write(`appreg demo: everything happens in ${work}\n`);
    await demo(work, cleanups);
    process.stdout.write(`\n${bold('Demo complete.')} Next: README.md, "Use it in your cdktf app".\n`);
  } catch (e) {
    code = 1;
    process.stderr.write(`\n${red(`Demo failed at step ${step}:`)} ${e instanceof Error ? e.message : String(e)}\n`);
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // keep cleaning up
      }
    }
    if (!keep) fs.rmSync(work, { recursive: true, force: true });
    else if (code === 0) process.stdout.write(`\n${afterDemo.join('\n')}\n`);
    else process.stdout.write(`kept ${work}\n`);
  }
  return code;
}

if (require.main === module) {
  void mainDemo().then((code) => process.exit(code));
}
