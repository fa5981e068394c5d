/**
 * `npm run demo`: appreg end to end on one machine, with nothing to set up.
 *
 * It does what a platform team does, with the real commands: starts the
 * registration service on SQLite in a temporary folder, creates a tenant,
 * groups and tokens with `appreg admin`, installs the provider into a
 * Terraform filesystem mirror, synthesizes the `organization-app` cdktf
 * example, runs `terraform init`, `plan` and `apply`, changes a callback URL
 * behind Terraform's back as a person in a console would, runs the scheduled
 * drift check, signs a person in to the new app through the device flow
 * (openid-client as the device, a headless browser as the person) and calls
 * `GET /v1/me` with the access token, and cleans up. Every step checks its
 * result; the demo exits non-zero the moment one does not behave as described.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
// An ES module, loaded with require (Node >= 20.19, the engines field).
import * as oidc from 'openid-client';
import { AppregClient } from '../src/client';
import { findRepoRoot } from './generate';
import { PersonAgent } from './lib/person-agent';

const root = findRepoRoot(__dirname);
const appreg = path.join(root, 'bin', 'appreg');
const STEPS = 10;
let step = 0;

// Colour only on a terminal: a CI log or a file gets plain text.
const tty = process.stdout.isTTY === true;
const bold = (s: string): string => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string): string => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string): string => (tty ? `\x1b[31m${s}\x1b[0m` : s);

/** Everything the demo has printed, for the final check that no secret is among it. */
let transcript = '';
function print(text: string): void {
  transcript += text;
  process.stdout.write(text);
}

function heading(text: string): void {
  step += 1;
  print(`\n${bold(`==> [${step}/${STEPS}] ${text}`)}\n`);
}
const say = (text: string): void => print(`    ${text}\n`);

class DemoFailure extends Error {}
function check(ok: boolean, what: string): void {
  if (!ok) throw new DemoFailure(what);
  say(`${green('✓')} ${what}`);
}

/** Runs an appreg operator command (with `input` on standard input) and parses its JSON answer (which may hold a token: never printed). */
function admin(args: string[], input?: string): { [k: string]: string } {
  const r = spawnSync(appreg, args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
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
      for (const line of lines) if (!opts.only || opts.only.test(line)) print(`      ${line}\n`);
    };
    child.stdout.on('data', show);
    child.stderr.on('data', show);
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending && (!opts.only || opts.only.test(pending))) print(`      ${pending}\n`);
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

  heading('A person signs in to the app through the device flow');
  const signIn = await signInWithDevice({ db, url, stack, env, clientId, tenantId: tenant_id! });

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
  // Nothing the demo printed (or the commands it ran printed, shown or not) may contain a secret or a token.
  const printed = [synth, plan, apply, drift, ...(destroy ? [destroy] : [])].map((r) => r.output).join('\n') + transcript + fs.readFileSync(serviceLog, 'utf8');
  const secrets = [adminToken!, auditorToken!, ...signIn.secrets];
  check(
    secrets.every((x) => x.length >= 8 && !printed.includes(x)),
    'no token, secret or password appeared in any output or the service log (the tokens, the client secret, dana\'s password)',
  );
}

/** Scopes the device asks for: an ID token, the username, and a refresh token. */
const DEVICE_SCOPE = 'openid profile offline_access';

/**
 * The demo's last act, as an app and a person do it: a person of a consenting
 * group, the device flow with the client Terraform made (openid-client), the
 * person's part in a headless browser, and `GET /v1/me` with the access
 * token. Returns what must never appear in the output.
 */
async function signInWithDevice(o: { db: string; url: string; stack: string; env: NodeJS.ProcessEnv; clientId: string; tenantId: string }): Promise<{ secrets: string[] }> {
  const secrets: string[] = [];
  // The person: a member of billing, which consented to the app in the stack. Password on stdin, never shown.
  const password = randomBytes(18).toString('base64url');
  secrets.push(password);
  const { user_id } = admin(['admin', 'user', 'add', '--db', o.db, '--tenant', 'acme', '--username', 'dana', '--member', 'billing'], `${password}\n`);
  say('$ appreg admin user add --tenant acme --username dana --member billing    (password on standard input, not shown)');
  check(
    typeof user_id === 'string' && user_id !== '',
    `dana (${user_id}) is a member of billing. billing consented to platform's organization app "Customer Portal", so its people\n` +
      '      may sign in to it: that is what consent means (a person of no consenting group would be refused)',
  );

  // The app's credentials: the secret straight from the Terraform state into this process.
  const secretOut = spawnSync('terraform', ['output', '-raw', 'client_secret'], { cwd: o.stack, env: o.env, encoding: 'utf8' });
  const clientSecret = secretOut.stdout;
  if (secretOut.status !== 0 || clientSecret.length < 20) throw new DemoFailure(`terraform output -raw client_secret failed: ${secretOut.stderr.trim()}`);
  secrets.push(clientSecret);
  check(true, 'the app reads its client secret from the Terraform state (terraform output -raw client_secret, captured, not shown)');

  // The device: discovery, then the device authorization request.
  let config: oidc.Configuration;
  try {
    config = await oidc.discovery(new URL(o.url), o.clientId, undefined, oidc.ClientSecretBasic(clientSecret), {
      // The demo's issuer is http://127.0.0.1:<port>; openid-client accepts plain http only when told.
      execute: [oidc.allowInsecureRequests],
      timeout: 15,
    });
  } catch (e) {
    throw new DemoFailure(`OpenID Connect discovery at ${o.url} failed: ${oidcError(e)}`);
  }
  const meta = config.serverMetadata();
  check(meta.issuer === o.url && typeof meta.device_authorization_endpoint === 'string', `discovery: ${o.url}/.well-known/openid-configuration names the device authorization endpoint`);
  let device: oidc.DeviceAuthorizationResponse;
  try {
    device = await oidc.initiateDeviceAuthorization(config, { scope: DEVICE_SCOPE });
  } catch (e) {
    throw new DemoFailure(`the device authorization request failed: ${oidcError(e)}`);
  }
  secrets.push(device.device_code);
  say(`the device (openid-client, client ${o.clientId}, scope "${DEVICE_SCOPE}") shows:`);
  say(`  user code: ${device.user_code}`);
  say(`  verification URL: ${device.verification_uri}`);
  check(device.user_code !== '' && device.verification_uri.startsWith(o.url), `the device polls for tokens every ${device.interval ?? 5} s while the person signs in`);

  // The device polls while the person acts; a failure of the person's part stops the polling.
  const stop = new AbortController();
  const polling = oidc.pollDeviceAuthorizationGrant(config, device, undefined, {
    signal: AbortSignal.any([stop.signal, AbortSignal.timeout(Math.min(device.expires_in, 120) * 1000)]),
  });
  polling.catch(() => undefined); // awaited below; this only keeps an early failure from being unhandled
  let tokens: oidc.TokenEndpointResponse;
  try {
    // The person, in a browser: opens the URL, types the code, signs in, allows the app.
    say('dana opens the verification URL in a browser (a headless one here) and types the code:');
    const dana = new PersonAgent({
      username: 'dana',
      password,
      consent: 'allow',
      issuer: o.url,
      // The screens the person answers; not every request of the browser.
      onStep: (line) => {
        if (!/^(GET|POST) /.test(line)) say(`  ${line}`);
      },
    });
    const outcome = await dana.completeDevice(device.verification_uri, device.user_code);
    check(
      outcome.connected && ['device-code', 'sign-in', 'consent'].every((k) => outcome.screens.includes(k as (typeof outcome.screens)[number])),
      outcome.connected
        ? `dana typed the code, signed in, allowed "Customer Portal"; the page says "${outcome.page.title}"`
        : `the device page did not say the device is connected; it ended on "${outcome.page.title}" (${outcome.page.status}): ${outcome.page.text.slice(0, 300)}`,
    );
    try {
      tokens = await polling;
    } catch (e) {
      throw new DemoFailure(`polling the token endpoint failed: ${oidcError(e)}`);
    }
  } finally {
    stop.abort();
  }
  for (const t of [tokens.access_token, tokens.refresh_token, tokens.id_token]) if (t) secrets.push(t);
  check(
    tokens.access_token !== '' && typeof tokens.refresh_token === 'string' && typeof tokens.id_token === 'string',
    `the device got an access token (for ${tokens.expires_in ?? '?'} s), a refresh token and an ID token (none of them shown)`,
  );

  // The app calls the API as the person.
  const res = await fetch(`${o.url}/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json' } });
  const text = await res.text();
  if (res.status !== 200) throw new DemoFailure(`GET /v1/me answered ${res.status}: ${text.slice(0, 500)}`);
  const me = JSON.parse(text) as { user_id: string; username: string; tenant_id: string; groups: Array<{ id: string; name: string; role: string }> };
  say('$ GET /v1/me    (Authorization: Bearer <dana\'s access token>)');
  say(`  ${JSON.stringify({ user_id: me.user_id, username: me.username, tenant_id: me.tenant_id, groups: me.groups })}`);
  check(
    me.username === 'dana' && me.user_id === user_id && me.tenant_id === o.tenantId &&
      me.groups.length === 1 && me.groups[0]!.name === 'billing' && me.groups[0]!.role === 'member',
    'the API knows the signed-in person: dana of acme, member of billing, with a member\'s rights (read only)',
  );
  return { secrets };
}

/** An openid-client failure in a line: the server's OAuth error when it sent one. */
function oidcError(e: unknown): string {
  if (e instanceof oidc.ResponseBodyError) return `${e.error}${e.error_description ? `: ${e.error_description}` : ''} (HTTP ${e.status})`;
  const err = e as { name?: string; message?: string; cause?: unknown };
  const cause = err?.cause instanceof Error ? ` (${(err.cause as Error & { code?: string }).code ?? err.cause.message})` : '';
  return `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}${cause}`;
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
