/**
 * The command line as DOMAIN.md writes it, run as real processes through
 * `bin/appreg` (which runs the compiled `dist/src/cli/main.js`): operator
 * commands print JSON on stdout, errors go to stderr with exit code 1, and
 * `serve` listens, answers, and on SIGTERM finishes the request in flight
 * before it exits 0.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { appBody, type Backend, call, freshDatabase } from './harness';
import { APPREG_BIN, type AppregRun, ensureCliBuilt, runAppreg } from '../support/appreg-cli';

const ROOT = path.resolve(__dirname, '../..');
const BIN = APPREG_BIN;

type Run = AppregRun;
const appreg = (args: string[]): Promise<Run> => runAppreg(args);

/** Starts `appreg serve` and waits for its "listening" line; returns the process and URL. */
async function serve(args: string[]): Promise<{ proc: ChildProcessWithoutNullStreams; url: string; stderr: () => string; exited: Promise<number | null> }> {
  const proc = spawn(BIN, ['serve', ...args], { cwd: ROOT });
  let err = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30_000);
    proc.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /appreg serve listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err}`));
    });
  });
  return { proc, url, stderr: () => err, exited };
}

function json(run: Run): any {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(run.stdout);
}

beforeAll(async () => {
  await ensureCliBuilt();
}, 300_000);

describe.each([['sqlite'], ['postgres']] as Array<[Backend]>)('bin/appreg on %s', (backend) => {
  let db: string;
  let dir: string;
  beforeAll(async () => {
    ({ db, dir } = await freshDatabase(backend));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('admin init, group add, token create and tenant set print JSON; serve answers with those tokens; SIGTERM finishes the request in flight', async () => {
    const init = json(await appreg(['admin', 'init', '--db', db, '--tenant', 'acme']));
    expect(Object.keys(init).sort()).toEqual(['tenant_id', 'token']);
    expect(init.tenant_id).toMatch(/^ten_/);
    const group = json(await appreg(['admin', 'group', 'add', '--db', db, '--tenant', 'acme', '--name', 'payments']));
    expect(Object.keys(group)).toEqual(['group_id']);
    const groupAdmin = json(await appreg(['admin', 'token', 'create', '--db', db, '--tenant', 'acme', '--role', 'group_admin', '--group', 'payments']));
    // The id is public: "token list" shows it and "token revoke" takes it.
    expect(Object.keys(groupAdmin)).toEqual(['id', 'token']);
    expect(groupAdmin.id).toMatch(/^tok_/);
    const auditor = json(await appreg(['admin', 'token', 'create', '--db', db, '--tenant', 'acme', '--role', 'auditor']));
    const sso = json(await appreg(['admin', 'tenant', 'set', '--db', db, '--tenant', 'acme', '--sso', 'true']));
    expect(sso).toEqual({ tenant_id: init.tenant_id, sso_enabled: true });

    const s = await serve(['--db', db, '--host', '127.0.0.1', '--port', '0', '--rate-limit', '0']);
    try {
      expect((await call(s.url, 'GET', '/healthz')).json).toEqual({ status: 'ok' });
      const settings = await call(s.url, 'PUT', '/v1/tenant/oauth-settings', { token: init.token, body: { oauth_enabled: true } });
      expect(settings.json).toEqual({ tenant_id: init.tenant_id, oauth_enabled: true, sso_enabled: true, device_grant_allowed: false });
      const created = await call(s.url, 'POST', `/v1/groups/${group.group_id}/apps`, { token: groupAdmin.token, body: appBody() });
      expect(created.status).toBe(201);
      expect((await call(s.url, 'GET', '/v1/audit', { token: auditor.token })).status).toBe(200);
      // An operator command while the service runs on the same database.
      json(await appreg(['admin', 'tenant', 'set', '--db', db, '--tenant', 'acme', '--sso', 'false']));
      expect((await call(s.url, 'GET', '/v1/tenant/oauth-settings', { token: init.token })).json.device_grant_allowed).toBe(true);

      // A request in flight when SIGTERM arrives still gets its answer.
      const u = new URL(s.url);
      const body = JSON.stringify(appBody(), null, 2);
      const answer = new Promise<number>((resolve, reject) => {
        const req = http.request({
          host: u.hostname, port: u.port, path: `/v1/groups/${group.group_id}/apps`, method: 'POST', agent: false,
          headers: { authorization: `Bearer ${init.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.write(body.slice(0, 10));
        setTimeout(() => {
          s.proc.kill('SIGTERM');
          setTimeout(() => req.end(body.slice(10)), 300);
        }, 200);
      });
      expect(await answer).toBe(201);
      expect(await s.exited).toBe(0);
      expect(s.stderr()).toMatch(/stopping on SIGTERM/);
      for (const t of [init.token, groupAdmin.token, auditor.token]) expect(s.stderr()).not.toContain(t);
      expect(s.stderr()).not.toContain(created.json.client_secret);
    } finally {
      s.proc.kill('SIGKILL');
    }
  });

  it.each([
    ['a second init of the same tenant', ['admin', 'init', '--tenant', 'acme'], /already exists/],
    ['an unknown tenant', ['admin', 'group', 'add', '--tenant', 'nobody', '--name', 'x'], /tenant "nobody" does not exist/],
    ['a duplicate group', ['admin', 'group', 'add', '--tenant', 'acme', '--name', 'payments'], /already has a group named "payments"/],
    ['an unknown role', ['admin', 'token', 'create', '--tenant', 'acme', '--role', 'root'], /role must be one of tenant_security_admin, group_admin, auditor/],
    ['a group_admin without --group', ['admin', 'token', 'create', '--tenant', 'acme', '--role', 'group_admin'], /needs --group/],
    ['an unknown group', ['admin', 'token', 'create', '--tenant', 'acme', '--role', 'group_admin', '--group', 'nope'], /no group named "nope"/],
    ['--sso that is not true or false', ['admin', 'tenant', 'set', '--tenant', 'acme', '--sso', 'yes'], /--sso must be true or false/],
    ['a missing --tenant', ['admin', 'init'], /--tenant/],
  ])('%s: exit 1 with a message on stderr and nothing on stdout', async (_label, args, message) => {
    const run = await appreg([...args, '--db', db]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });
});

describe('bin/appreg serve', () => {
  it('fails with exit 1 and a message when the database cannot be opened', async () => {
    const run = await appreg(['serve', '--db', '/nonexistent-dir/sub/appreg.db', '--port', '0']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/directory .* does not exist/);
  });

  it('admin init --sso starts the tenant with SSO on and the device grant disallowed', async () => {
    const { db, dir } = await freshDatabase('sqlite');
    try {
      const init = json(await appreg(['admin', 'init', '--db', db, '--tenant', 'sso-co', '--sso']));
      const s = await serve(['--db', db, '--port', '0']);
      try {
        const res = await call(s.url, 'GET', '/v1/tenant/oauth-settings', { token: init.token });
        expect(res.json).toEqual({ tenant_id: init.tenant_id, oauth_enabled: false, sso_enabled: true, device_grant_allowed: false });
      } finally {
        s.proc.kill('SIGTERM');
        expect(await s.exited).toBe(0);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
