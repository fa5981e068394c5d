/**
 * Operator commands for groups and tokens, driven as an operator runs them
 * (`bin/appreg admin ...` as a child process) against a running service on
 * each back end: `group list`, `token list` (never a token or its hash),
 * `last_used_at` recorded to the minute, and `token revoke` refusing the
 * token on its next request, on another instance of the same database too.
 */
import { hashCredential } from '../../src/server/crypto';
import { startService, type RunningService } from '../../src/server';
import { openDatabase } from '../../src/server/storage/database';
import { BACKENDS, call, Capture, startWorld, type World } from './harness';
import { type AppregRun, ensureCliBuilt, runAppreg } from '../support/appreg-cli';


type Run = AppregRun;
const appreg = (args: string[]): Promise<Run> => runAppreg(args);

/** The JSON a successful command printed; fails the test on any other outcome. */
function ok(run: Run): any {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(run.stdout);
}

interface TokenEntry {
  id: string;
  role: string;
  group_id: string | null;
  group_name: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

beforeAll(async () => {
  await ensureCliBuilt();
}, 300_000);

describe.each(BACKENDS)('appreg admin group list / token list / token revoke on %s', (backend) => {
  let w: World;
  let second: RunningService | undefined;
  /** Everything the commands printed, to search for secrets at the end. */
  const printed: string[] = [];
  const admin = async (args: string[]): Promise<Run> => {
    const run = await appreg(['admin', ...args, '--db', w.db]);
    printed.push(run.stdout, run.stderr);
    return run;
  };
  const tokens = async (...args: string[]): Promise<TokenEntry[]> => ok(await admin(['token', 'list', '--tenant', 'acme', ...args])).tokens;

  beforeAll(async () => {
    w = await startWorld(backend);
  });
  afterAll(async () => {
    await second?.close();
    await w?.stop();
  });

  it('group list prints the groups of that tenant only, with id, name and created_at', async () => {
    const acme = ok(await admin(['group', 'list', '--tenant', 'acme']));
    expect(acme).toEqual({
      groups: [
        { id: w.acme.groups.alpha, name: 'alpha', created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
        { id: w.acme.groups.beta, name: 'beta', created_at: expect.any(String) },
      ],
    });
    expect(ok(await admin(['group', 'list', '--tenant', 'other'])).groups.map((g: { name: string }) => g.name)).toEqual(['gamma']);
    const unknown = await admin(['group', 'list', '--tenant', 'nobody']);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/tenant "nobody" does not exist/);
  });

  it('token list shows id, role, group, created and last used, filtered by --group and --role, and no token or hash', async () => {
    const all = await tokens();
    // init's admin, a group_admin per group, one auditor; the other tenant's tokens are not there.
    expect(all.map((t) => [t.role, t.group_name]).sort()).toEqual(
      [['auditor', null], ['group_admin', 'alpha'], ['group_admin', 'beta'], ['tenant_security_admin', null]].sort(),
    );
    for (const t of all) {
      expect(Object.keys(t).sort()).toEqual(['created_at', 'group_id', 'group_name', 'id', 'last_used_at', 'revoked_at', 'role']);
      expect(t.id).toMatch(/^tok_[0-9a-z]{26}$/);
      expect(t.revoked_at).toBeNull();
    }
    expect(await tokens('--group', 'alpha')).toEqual([expect.objectContaining({ role: 'group_admin', group_id: w.acme.groups.alpha, group_name: 'alpha' })]);
    expect((await tokens('--role', 'auditor')).map((t) => t.role)).toEqual(['auditor']);
    expect(await tokens('--group', 'alpha', '--role', 'auditor')).toEqual([]);
    const badGroup = await admin(['token', 'list', '--tenant', 'acme', '--group', 'gamma']);
    expect(badGroup).toMatchObject({ code: 1, stdout: '' });
    expect(badGroup.stderr).toMatch(/no group named "gamma"/);
    const badRole = await admin(['token', 'list', '--tenant', 'acme', '--role', 'root']);
    expect(badRole).toMatchObject({ code: 1, stdout: '' });
    expect(badRole.stderr).toMatch(/role must be one of/);
  });

  it('token create prints the new id with the token; list shows it', async () => {
    const created = ok(await admin(['token', 'create', '--tenant', 'acme', '--role', 'group_admin', '--group', 'beta']));
    expect(Object.keys(created).sort()).toEqual(['id', 'token']);
    expect((await tokens('--group', 'beta')).map((t) => t.id)).toContain(created.id);
    expect((await call(w.url, 'GET', '/v1/groups', { token: created.token })).status).toBe(200);
    ok(await admin(['token', 'revoke', '--tenant', 'acme', '--id', created.id]));
  });

  it('last_used_at goes from null to the time of the first request, and is written again only once it is a minute old', async () => {
    const created = ok(await admin(['token', 'create', '--tenant', 'acme', '--role', 'auditor']));
    const entry = async (): Promise<TokenEntry> => (await tokens('--role', 'auditor')).find((t) => t.id === created.id)!;
    expect((await entry()).last_used_at).toBeNull();
    const before = new Date().toISOString();
    expect((await call(w.url, 'GET', '/v1/groups', { token: created.token })).status).toBe(200);
    const first = (await entry()).last_used_at!;
    expect(first >= before && first <= new Date().toISOString()).toBe(true);
    // Within the minute: no second write.
    expect((await call(w.url, 'GET', '/v1/groups', { token: created.token })).status).toBe(200);
    expect((await entry()).last_used_at).toBe(first);
    // A stored time two minutes old is refreshed by the next request.
    const old = new Date(Date.now() - 120_000).toISOString();
    const d = await openDatabase(w.db);
    try {
      await d.run('UPDATE tokens SET last_used_at = ? WHERE id = ?', [old, created.id]);
    } finally {
      await d.close();
    }
    expect((await entry()).last_used_at).toBe(old);
    expect((await call(w.url, 'GET', '/v1/groups', { token: created.token })).status).toBe(200);
    expect((await entry()).last_used_at! > first).toBe(true);
    // A failed authentication records nothing on any token.
    expect((await call(w.url, 'GET', '/v1/groups', { token: 'art_nope' })).status).toBe(401);
  });

  it('revoke: the next request with that token gets 401, on this instance and on a second one on the same database; audited', async () => {
    second = await startService({ db: w.db, host: '127.0.0.1', port: 0, rateLimit: 0, log: new Capture() });
    const created = ok(await admin(['token', 'create', '--tenant', 'acme', '--role', 'group_admin', '--group', 'alpha']));
    // Both instances accept it (and have read it) before the revocation.
    expect((await call(w.url, 'GET', '/v1/groups', { token: created.token })).status).toBe(200);
    expect((await call(second.url, 'GET', '/v1/groups', { token: created.token })).status).toBe(200);

    expect(ok(await admin(['token', 'revoke', '--tenant', 'acme', '--id', created.id]))).toEqual({ revoked: created.id });
    const refused = await call(second.url, 'GET', '/v1/groups', { token: created.token });
    expect(refused.status).toBe(401);
    expect(refused.json.detail).toMatch(/not valid/);
    expect((await call(w.url, 'GET', '/v1/groups', { token: created.token })).status).toBe(401);
    // Other tokens go on working.
    expect((await call(second.url, 'GET', '/v1/groups', { token: w.acme.groupAdmins.alpha })).status).toBe(200);

    // Hidden from the list by default, shown with revoked_at on request.
    expect((await tokens()).map((t) => t.id)).not.toContain(created.id);
    const listed = (await tokens('--include-revoked')).find((t) => t.id === created.id);
    expect(listed).toMatchObject({ id: created.id, role: 'group_admin', group_name: 'alpha', revoked_at: expect.stringMatching(/^\d{4}-/) });

    const audit = await call(w.url, 'GET', '/v1/audit?limit=200', { token: w.acme.admin });
    const event = (audit.json.items as Array<Record<string, any>>).find((e) => e.action === 'token.revoke' && e.target_id === created.id);
    expect(event).toMatchObject({
      actor: { type: 'operator', command: 'admin token revoke' },
      target_type: 'token',
      before: { token_id: created.id, role: 'group_admin', group_id: w.acme.groups.alpha, revoked_at: null },
      after: { token_id: created.id, revoked_at: listed!.revoked_at },
    });
    expect(audit.text).not.toContain(created.token);
    expect(audit.text).not.toContain(hashCredential(created.token));

    const again = await admin(['token', 'revoke', '--tenant', 'acme', '--id', created.id]);
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(again.stderr).toMatch(/already revoked at/);
  });

  it('revoking an unknown id, or another tenant\'s token, is exit 1 with a message', async () => {
    const unknown = await admin(['token', 'revoke', '--tenant', 'acme', '--id', 'tok_00000000000000000000000000']);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/^appreg: tenant "acme" has no token with id "tok_0+"; "appreg admin token list" shows the ids\n$/);
    const otherId = (ok(await admin(['token', 'list', '--tenant', 'other', '--role', 'auditor'])).tokens as TokenEntry[])[0]!.id;
    const cross = await admin(['token', 'revoke', '--tenant', 'acme', '--id', otherId]);
    expect(cross.code).toBe(1);
    expect((await call(w.url, 'GET', '/v1/groups', { token: w.other.auditor })).status).toBe(200);
  });

  it('nothing printed holds a token or a token hash', () => {
    const secrets = [w.acme.admin, w.acme.auditor, ...Object.values(w.acme.groupAdmins), w.other.admin, w.other.auditor, ...Object.values(w.other.groupAdmins)];
    const all = printed.join('\n');
    expect(all.length).toBeGreaterThan(0);
    for (const s of secrets) {
      expect(all).not.toContain(s);
      expect(all).not.toContain(hashCredential(s));
    }
    // The tokens made by `token create` above were printed once by that command, and never by any list.
    const lists = printed.filter((p) => p.startsWith('{"tokens"'));
    expect(lists.length).toBeGreaterThan(5);
    expect(lists.join('\n')).not.toMatch(/art_|[0-9a-f]{64}/);
  });
});
