/**
 * People of a tenant (`appreg admin user add | list | remove`), driven as an
 * operator runs them (`bin/appreg` as a child process, the password on
 * standard input) on each back end: who they are and their groups' roles,
 * usernames unique whatever their case, the password stored only as a slow
 * hash that the hash itself does not match, and never printed, logged or
 * audited.
 */
import * as fs from 'node:fs';
import { openDatabase } from '../../src/server/storage/database';
import { verifyPassword } from '../../src/server/passwords';
import { BACKENDS, startWorld, type World } from './harness';
import { type AppregRun, ensureCliBuilt, runAppreg } from '../support/appreg-cli';

/** The JSON a successful command printed; fails the test on any other outcome. */
function ok(run: AppregRun): any {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(run.stdout);
}

/** The error line of a failed command; fails the test on success. */
function refused(run: AppregRun): string {
  expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
  return run.stderr;
}

const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  await ensureCliBuilt();
}, 300_000);

describe.each(BACKENDS)('appreg admin user on %s', (backend) => {
  let w: World;
  const printed: string[] = [];
  const admin = async (args: string[], input?: string): Promise<AppregRun> => {
    const run = await runAppreg(['admin', 'user', ...args, '--db', w.db], input === undefined ? {} : { input });
    printed.push(run.stdout, run.stderr);
    return run;
  };
  const users = async (tenant = 'acme'): Promise<any[]> => ok(await admin(['list', '--tenant', tenant])).users;
  /** The stored row of a person, read from the database directly. */
  const storedHash = async (id: string): Promise<string> => {
    const d = await openDatabase(w.db);
    try {
      return (await d.get<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = ?', [id]))!.password_hash;
    } finally {
      await d.close();
    }
  };

  beforeAll(async () => {
    w = await startWorld(backend);
  });
  afterAll(async () => {
    await w?.stop();
  });

  let aliceId: string;

  it('adds a person with groups and roles, and prints only {"user_id"}', async () => {
    const out = ok(await admin(['add', '--tenant', 'acme', '--username', 'Alice', '--member', 'alpha', '--admin-of', 'beta', '--member', 'beta'], `${PASSWORD}\n`));
    expect(Object.keys(out)).toEqual(['user_id']);
    expect(out.user_id).toMatch(/^usr_[0-9a-z]{26}$/);
    aliceId = out.user_id;
    ok(await admin(['add', '--tenant', 'acme', '--username', 'sec.admin@acme', '--security-admin'], PASSWORD));

    const list = await users();
    expect(list).toEqual([
      {
        id: aliceId, username: 'Alice', security_admin: false, created_at: expect.any(String),
        // A group given as member and as admin is an admin group; groups in the order they were made.
        groups: [{ id: w.acme.groups.alpha, name: 'alpha', role: 'member' }, { id: w.acme.groups.beta, name: 'beta', role: 'admin' }],
      },
      { id: expect.stringMatching(/^usr_/), username: 'sec.admin@acme', security_admin: true, groups: [], created_at: expect.any(String) },
    ]);
    // Another tenant's people are its own.
    expect(await users('other')).toEqual([]);
  });

  it('stores the password only as a scrypt hash: the password matches it, a wrong one and the hash itself do not', async () => {
    const hash = await storedHash(aliceId);
    expect(hash).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(hash).not.toContain(PASSWORD);
    await expect(verifyPassword(PASSWORD, hash)).resolves.toBe(true);
    await expect(verifyPassword(`${PASSWORD}!`, hash)).resolves.toBe(false);
    await expect(verifyPassword(hash, hash)).resolves.toBe(false);
    if (backend === 'sqlite') {
      const bytes = ['', '-wal'].filter((s) => fs.existsSync(`${w.db}${s}`)).map((s) => fs.readFileSync(`${w.db}${s}`).toString('latin1')).join('');
      expect(bytes).not.toContain(PASSWORD);
    }
  });

  it('refuses a taken username in any case, unknown groups, bad usernames and short or missing passwords, adding nothing', async () => {
    expect(refused(await admin(['add', '--tenant', 'acme', '--username', 'ALICE'], PASSWORD))).toMatch(/already has a person named "Alice"/);
    expect(refused(await admin(['add', '--tenant', 'acme', '--username', 'bob', '--member', 'gamma'], PASSWORD)))
      .toMatch(/no group named "gamma"; "appreg admin group list" shows its groups/);
    expect(refused(await admin(['add', '--tenant', 'acme', '--username', 'bob smith'], PASSWORD))).toMatch(/username must be 1 to 64 characters/);
    expect(refused(await admin(['add', '--tenant', 'acme', '--username', 'bob'], 'short\n'))).toMatch(/at least 8 characters; give it on standard input/);
    expect(refused(await admin(['add', '--tenant', 'acme', '--username', 'bob']))).toMatch(/no password on standard input/);
    expect(refused(await admin(['add', '--tenant', 'nope', '--username', 'bob'], PASSWORD))).toMatch(/tenant "nope" does not exist/);
    expect((await users()).map((u) => u.username)).toEqual(['Alice', 'sec.admin@acme']);
  });

  it('removes a person by username in any case, and says when there is none', async () => {
    const bob = ok(await admin(['add', '--tenant', 'acme', '--username', 'bob', '--member', 'alpha'], PASSWORD)).user_id;
    expect(ok(await admin(['remove', '--tenant', 'acme', '--username', 'BOB']))).toEqual({ removed: bob });
    expect((await users()).map((u) => u.username)).toEqual(['Alice', 'sec.admin@acme']);
    expect(refused(await admin(['remove', '--tenant', 'acme', '--username', 'bob']))).toMatch(/has no person named "bob"/);
    // The name is free again.
    ok(await admin(['add', '--tenant', 'acme', '--username', 'Bob'], PASSWORD));
  });

  it('audits every change, naming the person and their rights, never the password or its hash', async () => {
    const audit = await w.call('GET', '/v1/audit?limit=200', { token: w.acme.auditor });
    expect(audit.status).toBe(200);
    const events = (audit.json.items as Array<{ action: string; target_type: string; actor: unknown; after: any }>).filter((e) => e.target_type === 'user');
    expect(events.map((e) => e.action)).toEqual(['user.create', 'user.create', 'user.create', 'user.delete', 'user.create']);
    expect(events[0]!.actor).toEqual({ type: 'operator', command: 'admin user add' });
    expect(events[0]!.after).toEqual({
      user_id: aliceId, username: 'Alice', security_admin: false,
      groups: [{ group_id: w.acme.groups.alpha, role: 'member' }, { group_id: w.acme.groups.beta, role: 'admin' }],
    });
    const hash = await storedHash(aliceId);
    expect(audit.text).not.toContain(PASSWORD);
    expect(audit.text).not.toContain(hash.split('$')[5]);
  });

  it('never printed the password or its hash', async () => {
    const hash = await storedHash(aliceId);
    const all = printed.join('\n');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(hash.split('$')[5]);
    expect(all).not.toContain('password_hash');
  });
});
