/**
 * The README's first command runs `npm run demo`; this runs the same compiled
 * demo so CI proves it still does what the README promises, step by step,
 * and that every command it prints for the reader works when pasted after
 * the demo is over (nothing it names has been removed by then).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, requireBuiltProvider, requireTerraform } from '../support/terraform';

jest.setTimeout(480_000);

/** Runs the compiled demo from a fresh folder of its own; returns its output and what it left in that folder. */
function runDemo(keep: boolean): { status: number | null; out: string; leftBehind: string[] } {
  // From a folder of its own, to see that the demo writes nothing where it is started (cdktf's
  // local backend puts state files in the folder an app runs in).
  const startedIn = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-demo-cwd-'));
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'scripts', 'demo.js')], {
    cwd: startedIn,
    encoding: 'utf8',
    env: { ...process.env, APPREG_DEMO_KEEP: keep ? '1' : '' },
    timeout: 230_000,
  });
  const leftBehind = fs.readdirSync(startedIn);
  fs.rmSync(startedIn, { recursive: true, force: true });
  return { status: r.status, out: r.stdout + r.stderr, leftBehind };
}

/** A shell as the reader has one: no demo environment, a Terraform CLI configuration that is empty. */
function readerEnv(dir: string): NodeJS.ProcessEnv {
  const rc = path.join(dir, 'empty.tfrc');
  fs.writeFileSync(rc, '');
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CLI_CONFIG_FILE: rc, CHECKPOINT_DISABLE: '1' };
  for (const k of ['APPREG_ENDPOINT', 'APPREG_TOKEN', 'TF_LOG', 'TF_LOG_PATH', 'TF_DATA_DIR']) delete env[k];
  return env;
}

/**
 * The demo's sign-in: the device shows the code and the URL, the person is of a consenting group,
 * `/v1/me` answers for dana of billing; and nothing shaped like a token, secret or password is printed.
 */
function expectSignIn(out: string): void {
  expect(out).toContain('A person signs in to the app through the device flow');
  expect(out).toContain('that is what consent means');
  // The user code and the verification URL are meant to be shown: the person types one into the other.
  const service = /service listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  expect(service).toBeDefined();
  expect(out).toMatch(/^ {6}user code: [A-Z0-9]{4}-?[A-Z0-9]{4}$/m);
  const verification = /^ {6}verification URL: (\S+)$/m.exec(out)?.[1];
  expect(verification?.startsWith(`${service}/`)).toBe(true);
  expect(out).toContain('sign-in: "Sign in" as dana');
  expect(out).toContain('consent: "Allow"');
  expect(out).toContain('the device is connected');
  // GET /v1/me, printed as its JSON.
  const me = /^ {6}(\{"user_id":.*\})$/m.exec(out)?.[1];
  expect(me).toBeDefined();
  expect(JSON.parse(me!)).toEqual({
    user_id: expect.stringMatching(/^usr_/),
    username: 'dana',
    tenant_id: expect.stringMatching(/^ten_/),
    groups: [{ id: expect.stringMatching(/^grp_/), name: 'billing', role: 'member' }],
  });
  // After the sign-in, before the end; the demo still ends well.
  expect(out.indexOf('"username":"dana"')).toBeLessThan(out.indexOf('Demo complete.'));
  expect(out).toContain('no token, secret or password appeared');
  // The test cannot know the tokens; it knows their shapes. No value follows a token's or secret's name,
  // no bearer token is shown, and no JWT (an ID token) appears anywhere.
  const value = '\\s*[:=]?\\s*"?[A-Za-z0-9_~+/.-]{16,}';
  for (const name of ['access[_ ]token', 'refresh[_ ]token', 'id[_ ]token', 'device[_ ]code', 'client[_ ]secret', 'password']) {
    expect(out).not.toMatch(new RegExp(`${name}${value}`, 'i'));
  }
  expect(out).not.toMatch(/Bearer\s+[A-Za-z0-9_~+/.-]{16,}/);
  expect(out).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./);
}

describe('npm run demo', () => {
  beforeAll(() => {
    requireTerraform();
    requireBuiltProvider();
  });

  it('applies the organization-app example, finds the drift it caused, signs a person in through the device flow, cleans up, and prints no secret', () => {
    const { status, out, leftBehind } = runDemo(false);
    expect(leftBehind).toEqual([]);
    expect(out).not.toContain('Demo failed');
    expect(status).toBe(0);
    expect(out).toContain('Apply complete! Resources: 4 added');
    expect(out).toMatch(/client id: [a-z0-9]+/);
    expect(out).toContain('appreg drift exited 2: drift found');
    expect(out).toContain('callback_urls:');
    expect(out).toContain('Demo complete.');
    // The plan and outputs show the secret only as a sensitive value.
    expect(out).toMatch(/client_secret\s+= \(sensitive value\)/);
    const tmp = /everything happens in (\S+)/.exec(out)?.[1];
    expect(tmp).toBeDefined();
    expect(fs.existsSync(tmp!)).toBe(false);
    // The hint for the secret names no path in the folder that is gone; it says how to keep it.
    expect(out).not.toMatch(/-chdir=/);
    expect(out).toContain('APPREG_DEMO_KEEP=1 npm run demo');
    expectSignIn(out);
  });

  it('with APPREG_DEMO_KEEP=1 keeps its folder, and the commands it prints at the end work when pasted', async () => {
    const { status, out, leftBehind } = runDemo(true);
    expect(leftBehind).toEqual([]);
    expect(out).not.toContain('Demo failed');
    expect(status).toBe(0);
    const work = /everything happens in (\S+)/.exec(out)?.[1];
    expect(work).toBeDefined();
    expectSignIn(out);
    try {
      expect(fs.existsSync(work!)).toBe(true);
      const after = out.slice(out.indexOf('Demo complete.'));
      const commands = after.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
      const output = commands.find((c) => c.startsWith('terraform -chdir='));
      const serve = commands.find((c) => / serve --db /.test(c));
      expect(output).toMatch(/ output -raw client_secret$/);
      expect(serve).toBeDefined();

      // Pasted into a plain shell, from anywhere: the secret comes out of the kept state.
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-demo-reader-'));
      try {
        const secret = spawnSync('sh', ['-c', output!], { cwd: home, env: readerEnv(home), encoding: 'utf8' });
        expect(secret.stderr).toBe('');
        expect(secret.status).toBe(0);
        expect(secret.stdout.length).toBeGreaterThanOrEqual(20);

        // And the service starts again on the kept database.
        const port = /--port (\d+)/.exec(serve!)?.[1];
        const child = spawn('sh', ['-c', `exec ${serve!}`], { cwd: home, env: readerEnv(home), stdio: 'ignore' });
        try {
          let healthy = false;
          for (let i = 0; i < 100 && !healthy; i++) {
            healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
            if (!healthy) await new Promise((r) => setTimeout(r, 100));
          }
          expect(healthy).toBe(true);
        } finally {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
      expect(after).toContain(`rm -rf ${work}`);
    } finally {
      fs.rmSync(work!, { recursive: true, force: true });
    }
  });
});
