/**
 * People on the `/v1` API: an access token issued to a person carries the
 * person's rights (DOMAIN.md "People and sign-in"), read from the database
 * at every request. Runs on SQLite and PostgreSQL.
 *
 * The service is built in-process with `buildServer` and a `personTokens`
 * resolver that looks tokens up in a Map this file fills. That resolver
 * stands in for the OpenID Connect provider's token store (src/server/oidc),
 * being built in parallel: these tests pin the API side of the contract (how
 * a resolved token becomes rights), whatever issues the tokens. The
 * end-to-end suite (test/server/signin*.test.ts) covers real tokens from a
 * real sign-in. The Map keeps resolving a token after its person is removed
 * or their groups change, unlike the real store, precisely to show that the
 * API itself reads the person afresh.
 *
 * People of `acme` (groups alpha, beta, delta): `sec` (security admin, in no
 * group), `mixed` (admin of alpha, member of beta), `member` (member of
 * alpha), `loner` (no group); of `other` (group gamma): `outsider` (security
 * admin of other).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { adminGroupAdd, adminUserAdd, adminUserRemove } from '../../src/server/admin';
import { sha256 } from '../../src/server/crypto';
import { buildServer } from '../../src/server/http/server';
import type { PersonToken } from '../../src/server/oidc/access';
import { type Database, openDatabase } from '../../src/server/storage/database';
import { type Answer, appBody, BACKENDS, call, Capture, expectProblem, type RequestOptions, startWorld, type World } from './harness';

const PASSWORD = 'correct horse battery staple';

/** A service built with a person token resolver, on the world's database. */
interface PersonService {
  url: string;
  db: Database;
  app: FastifyInstance;
  log: Capture;
  /** Every token the resolver was asked about, in order. */
  lookups: string[];
  /** The resolver's store: token → what the provider would know of it. */
  tokens: Map<string, PersonToken>;
  close(): Promise<void>;
}

async function startPersonService(dbPath: string, o: { rateLimit?: number } = {}): Promise<PersonService> {
  const db = await openDatabase(dbPath);
  const log = new Capture();
  const lookups: string[] = [];
  const tokens = new Map<string, PersonToken>();
  const app = await buildServer({
    db,
    rateLimit: o.rateLimit ?? 0,
    log,
    personTokens: async (token) => {
      lookups.push(token);
      return tokens.get(token);
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    db,
    app,
    log,
    lookups,
    tokens,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

/** A person and an access token of theirs. */
interface Person {
  user_id: string;
  username: string;
  token: string;
  ref: string;
}

describe.each(BACKENDS)('people on the /v1 API on %s', (backend) => {
  let w: World;
  let s: PersonService;
  let alpha: string;
  let beta: string;
  let delta: string;
  /** The app the tokens are "issued to" (a console), of acme and of other. */
  let consoleApp: { id: string; client_id: string };
  let otherConsole: { id: string; client_id: string };
  const people = {} as Record<'sec' | 'mixed' | 'member' | 'loner' | 'outsider', Person>;
  let counter = 0;

  const as = (who: Person | string, method: string, pathname: string, o: Omit<RequestOptions, 'token'> = {}): Promise<Answer> =>
    call(s.url, method, pathname, { ...o, token: typeof who === 'string' ? who : who.token });

  /** Issues an access token for a person, as the provider would: opaque, not `art_…`. */
  function issue(user_id: string, tenant_id: string, to: { id: string; client_id: string }): { token: string; ref: string } {
    const token = `pat-test.${randomBytes(24).toString('base64url')}`;
    const ref = `pat_${sha256(token).slice(0, 16)}`;
    s.tokens.set(token, { user_id, tenant_id, app_id: to.id, client_id: to.client_id, token_ref: ref });
    return { token, ref };
  }

  /** Adds a person to a tenant and issues them a token. */
  async function person(
    tenant: 'acme' | 'other',
    o: { member?: string[]; adminOf?: string[]; securityAdmin?: boolean } = {},
  ): Promise<Person> {
    counter += 1;
    const username = `person${counter}.${tenant}`;
    const { user_id } = await adminUserAdd(w.db, { tenant, username, password: PASSWORD, ...o });
    const t = issue(user_id, tenant === 'acme' ? w.acme.id : w.other.id, tenant === 'acme' ? consoleApp : otherConsole);
    return { user_id, username, ...t };
  }

  /** A fresh app made by acme's tenant admin token. */
  async function fresh(group: string, scope: 'group' | 'organization'): Promise<string> {
    return (await w.createApp(w.acme.admin, group, appBody({ scope }))).json.id;
  }

  beforeAll(async () => {
    w = await startWorld(backend);
    alpha = w.acme.groups.alpha!;
    beta = w.acme.groups.beta!;
    delta = (await adminGroupAdd(w.db, { tenant: 'acme', name: 'delta' })).group_id;
    s = await startPersonService(w.db);
    consoleApp = (await w.createApp(w.acme.admin, alpha, appBody({ scope: 'group', public_client: true }))).json;
    otherConsole = (await w.createApp(w.other.admin, w.other.groups.gamma!, appBody({ scope: 'group', public_client: true }))).json;
    people.sec = await person('acme', { securityAdmin: true });
    people.mixed = await person('acme', { adminOf: ['alpha'], member: ['beta'] });
    people.member = await person('acme', { member: ['alpha'] });
    people.loner = await person('acme');
    people.outsider = await person('other', { securityAdmin: true, adminOf: ['gamma'] });
  });
  afterAll(async () => {
    await s?.close();
    await w?.stop();
  });

  describe('a security admin person', () => {
    it('changes the tenant settings, like a tenant_security_admin token', async () => {
      const sec = people.sec;
      expect((await as(sec, 'PUT', '/v1/tenant/oauth-settings', { body: { oauth_enabled: false } })).json.oauth_enabled).toBe(false);
      expect((await as(sec, 'PUT', '/v1/tenant/oauth-settings', { body: { oauth_enabled: true } })).json.oauth_enabled).toBe(true);
    });

    it('registers, changes, rotates and deletes apps of any group, and consents for any group', async () => {
      const sec = people.sec;
      const created = await as(sec, 'POST', `/v1/groups/${delta}/apps`, { body: appBody({ scope: 'organization' }) });
      expect(created.status).toBe(201);
      const other = await fresh(beta, 'group');
      expect((await as(sec, 'PATCH', `/v1/apps/${other}`, { body: { description: 'by the security admin' } })).status).toBe(200);
      expect((await as(sec, 'POST', `/v1/apps/${other}/rotate-secret`)).status).toBe(200);
      expect((await as(sec, 'PUT', `/v1/groups/${beta}/consents/${created.json.id}`)).status).toBe(201);
      expect((await as(sec, 'DELETE', `/v1/apps/${other}`)).status).toBe(204);
    });

    it('sees every group of its tenant and reads the audit log', async () => {
      const groups = (await as(people.sec, 'GET', '/v1/groups')).json.items.map((g: { name: string }) => g.name);
      expect(groups).toEqual(['alpha', 'beta', 'delta']);
      expect((await as(people.sec, 'GET', '/v1/audit?limit=5')).status).toBe(200);
    });
  });

  describe('an admin of alpha who is a member of beta', () => {
    it('registers in alpha; in beta gets 403 naming the membership; in delta 404', async () => {
      const p = people.mixed;
      expect((await as(p, 'POST', `/v1/groups/${alpha}/apps`, { body: appBody() })).status).toBe(201);
      const refused = expectProblem(await as(p, 'POST', `/v1/groups/${beta}/apps`, { body: appBody() }), 403);
      expect(refused.detail).toContain(`${p.username} is a member of group beta (${beta})`);
      expect(refused.detail).toContain('read');
      expectProblem(await as(p, 'POST', `/v1/groups/${delta}/apps`, { body: appBody() }), 404);
    });

    it('changes alpha\'s apps; reads beta\'s but may not change them (403); delta\'s group-scoped apps are 404', async () => {
      const p = people.mixed;
      const own = await fresh(alpha, 'group');
      const betaApp = await fresh(beta, 'group');
      const deltaGroup = await fresh(delta, 'group');
      const deltaOrg = await fresh(delta, 'organization');
      expect((await as(p, 'PATCH', `/v1/apps/${own}`, { body: { enabled: false } })).status).toBe(200);
      expect((await as(p, 'POST', `/v1/apps/${own}/rotate-secret`)).status).toBe(200);
      expect((await as(p, 'GET', `/v1/apps/${betaApp}`)).status).toBe(200);
      expectProblem(await as(p, 'PATCH', `/v1/apps/${betaApp}`, { body: { enabled: false } }), 403);
      expectProblem(await as(p, 'POST', `/v1/apps/${betaApp}/rotate-secret`), 403);
      expectProblem(await as(p, 'DELETE', `/v1/apps/${betaApp}`), 403);
      expectProblem(await as(p, 'GET', `/v1/apps/${deltaGroup}`), 404);
      expectProblem(await as(p, 'PATCH', `/v1/apps/${deltaGroup}`, { body: { enabled: false } }), 404);
      expect((await as(p, 'GET', `/v1/apps/${deltaOrg}`)).status).toBe(200);
      const notAdmin = expectProblem(await as(p, 'PATCH', `/v1/apps/${deltaOrg}`, { body: { enabled: false } }), 403);
      expect(notAdmin.detail).toContain(`${p.username} is not an admin of group ${delta}`);
      expect((await as(p, 'DELETE', `/v1/apps/${own}`)).status).toBe(204);

      const listed = (await as(p, 'GET', '/v1/apps?limit=200')).json.items.map((a: { id: string }) => a.id);
      expect(listed).toEqual(expect.arrayContaining([betaApp, deltaOrg]));
      expect(listed).not.toContain(deltaGroup);
      const ofDelta = (await as(p, 'GET', `/v1/apps?group_id=${delta}&limit=200`)).json.items as Array<{ id: string; scope: string }>;
      expect(ofDelta.map((a) => a.id)).toContain(deltaOrg);
      expect(ofDelta.filter((a) => a.scope !== 'organization')).toEqual([]);
    });

    it('consents for alpha; for beta 403; for delta 404; sees the consents of both its groups only', async () => {
      const p = people.mixed;
      const deltaOrg = await fresh(delta, 'organization');
      expect((await as(p, 'PUT', `/v1/groups/${alpha}/consents/${deltaOrg}`)).status).toBe(201);
      expectProblem(await as(p, 'PUT', `/v1/groups/${beta}/consents/${deltaOrg}`), 403);
      expectProblem(await as(p, 'PUT', `/v1/groups/${delta}/consents/${await fresh(alpha, 'organization')}`), 404);
      expect((await as(w.acme.admin, 'PUT', `/v1/groups/${beta}/consents/${deltaOrg}`)).status).toBe(201);
      const alphaOrg = await fresh(alpha, 'organization');
      expect((await as(w.acme.admin, 'PUT', `/v1/groups/${delta}/consents/${alphaOrg}`)).status).toBe(201);
      expect((await as(p, 'GET', `/v1/groups/${beta}/consents/${deltaOrg}`)).status).toBe(200);
      expectProblem(await as(p, 'DELETE', `/v1/groups/${beta}/consents/${deltaOrg}`), 403);
      expectProblem(await as(p, 'GET', `/v1/groups/${delta}/consents/${alphaOrg}`), 404);

      const groupsOf = async (q: string): Promise<string[]> =>
        [...new Set((await as(p, 'GET', `/v1/consents?limit=200${q}`)).json.items.map((c: { group_id: string }) => c.group_id) as string[])].sort();
      expect(await groupsOf('')).toEqual([alpha, beta].sort());
      // Every consent to an app of one of its groups: who uses it, delta included.
      expect(await groupsOf(`&app_id=${alphaOrg}`)).toEqual([delta]);
      expectProblem(await as(p, 'GET', `/v1/consents?group_id=${delta}`), 404);
      expect((await as(p, 'DELETE', `/v1/groups/${alpha}/consents/${deltaOrg}`)).status).toBe(204);
    });

    it('sees its two groups, browses only with group_id=, and may not read the audit log', async () => {
      const p = people.mixed;
      expect((await as(p, 'GET', '/v1/groups')).json.items).toEqual([{ id: alpha, name: 'alpha' }, { id: beta, name: 'beta' }]);
      const browse = expectProblem(await as(p, 'GET', '/v1/browse'), 422);
      expect(browse.errors).toEqual([{ path: 'group_id', message: expect.stringContaining('alpha, beta') }]);
      expect((await as(p, 'GET', `/v1/browse?group_id=${beta}`)).status).toBe(200);
      expectProblem(await as(p, 'GET', `/v1/browse?group_id=${delta}`), 404);
      expect(expectProblem(await as(p, 'GET', '/v1/audit'), 403).detail).toContain('security admin');
      expectProblem(await as(p, 'PUT', '/v1/tenant/oauth-settings', { body: { oauth_enabled: true } }), 403);
    });

    it('an Idempotency-Key replays its first answer to the same token', async () => {
      const p = people.mixed;
      const body = appBody();
      const headers = { 'idempotency-key': `person-${randomBytes(8).toString('hex')}` };
      const first = await as(p, 'POST', `/v1/groups/${alpha}/apps`, { body, headers });
      const again = await as(p, 'POST', `/v1/groups/${alpha}/apps`, { body, headers });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.json.id).toBe(first.json.id);
    });
  });

  describe('a member of alpha', () => {
    it('reads alpha, its apps and consents, and organization-scoped apps of other groups', async () => {
      const p = people.member;
      const app = await fresh(alpha, 'group');
      const betaOrg = await fresh(beta, 'organization');
      expect((await as(w.acme.admin, 'PUT', `/v1/groups/${alpha}/consents/${betaOrg}`)).status).toBe(201);
      expect((await as(p, 'GET', `/v1/apps/${app}`)).status).toBe(200);
      expect((await as(p, 'GET', `/v1/apps/${betaOrg}`)).status).toBe(200);
      expect((await as(p, 'GET', `/v1/groups/${alpha}/consents/${betaOrg}`)).status).toBe(200);
      expect((await as(p, 'GET', '/v1/browse')).status).toBe(200);
      expect((await as(p, 'GET', '/v1/groups')).json.items).toEqual([{ id: alpha, name: 'alpha' }]);
      expectProblem(await as(p, 'GET', `/v1/apps/${await fresh(beta, 'group')}`), 404);
    });

    it('writes nothing: 403 on POST, PATCH, DELETE, rotate and consent PUT and DELETE, each naming the membership', async () => {
      const p = people.member;
      const app = await fresh(alpha, 'group');
      const betaOrg = await fresh(beta, 'organization');
      expect((await as(w.acme.admin, 'PUT', `/v1/groups/${alpha}/consents/${betaOrg}`)).status).toBe(201);
      const refusals = [
        await as(p, 'POST', `/v1/groups/${alpha}/apps`, { body: appBody() }),
        await as(p, 'PATCH', `/v1/apps/${app}`, { body: { enabled: false } }),
        await as(p, 'DELETE', `/v1/apps/${app}`),
        await as(p, 'POST', `/v1/apps/${app}/rotate-secret`),
        await as(p, 'PUT', `/v1/groups/${alpha}/consents/${await fresh(beta, 'organization')}`),
        await as(p, 'DELETE', `/v1/groups/${alpha}/consents/${betaOrg}`),
      ];
      for (const r of refusals) expect(expectProblem(r, 403).detail).toContain(`${p.username} is a member of group alpha (${alpha})`);
      // Authorization comes before validation: an invalid body is still 403.
      expectProblem(await as(p, 'PATCH', `/v1/apps/${app}`, { body: { scope: 'organization' } }), 403);
      expect((await as(p, 'GET', `/v1/apps/${app}`)).json.version).toBe(1);
    });
  });

  describe('a person in no group', () => {
    it('sees no group, app or consent; reads the tenant settings and /v1/me', async () => {
      const p = people.loner;
      const org = await fresh(alpha, 'organization');
      expect((await as(p, 'GET', '/v1/groups')).json.items).toEqual([]);
      expect((await as(p, 'GET', '/v1/apps')).json.items).toEqual([]);
      expect((await as(p, 'GET', `/v1/apps?group_id=${alpha}`)).json.items).toEqual([]);
      expect((await as(p, 'GET', '/v1/consents')).json.items).toEqual([]);
      expectProblem(await as(p, 'GET', `/v1/apps/${org}`), 404);
      expectProblem(await as(p, 'GET', `/v1/groups/${alpha}/consents/${org}`), 404);
      expect(expectProblem(await as(p, 'GET', '/v1/browse'), 422).errors![0]!.message).toContain('you are in none');
      expectProblem(await as(p, 'POST', `/v1/groups/${alpha}/apps`, { body: appBody() }), 404);
      expectProblem(await as(p, 'GET', '/v1/audit'), 403);
      expect((await as(p, 'GET', '/v1/tenant/oauth-settings')).json.tenant_id).toBe(w.acme.id);
      expect((await as(p, 'GET', '/v1/me')).json.groups).toEqual([]);
    });
  });

  describe('GET /v1/me', () => {
    it('describes each person: id, username, tenant, groups in creation order with roles', async () => {
      for (const [p, groups] of [
        [people.sec, []],
        [people.mixed, [{ id: alpha, name: 'alpha', role: 'admin' }, { id: beta, name: 'beta', role: 'member' }]],
        [people.member, [{ id: alpha, name: 'alpha', role: 'member' }]],
        [people.outsider, [{ id: w.other.groups.gamma, name: 'gamma', role: 'admin' }]],
      ] as const) {
        const res = await as(p, 'GET', '/v1/me');
        expect(res.status).toBe(200);
        expect(res.json).toEqual({
          user_id: p.user_id,
          username: p.username,
          tenant_id: p === people.outsider ? w.other.id : w.acme.id,
          groups,
        });
      }
    });

    it('answers a service token of every role 403, naming the role', async () => {
      for (const [token, role] of [[w.acme.admin, 'tenant_security_admin'], [w.acme.groupAdmins.alpha!, 'group_admin'], [w.acme.auditor, 'auditor']]) {
        const problem = expectProblem(await as(token!, 'GET', '/v1/me'), 403);
        expect(problem.detail).toBe(`GET /v1/me describes a person signed in through an app; this is a service token (role ${role}).`);
      }
    });
  });

  describe('rights are read at every request', () => {
    it('a membership taken away or lowered applies to the next request; a removed person gets 401', async () => {
      const p = await person('acme', { adminOf: ['alpha', 'beta'] });
      const alphaApp = await fresh(alpha, 'group');
      const betaApp = await fresh(beta, 'group');
      expect((await as(p, 'PATCH', `/v1/apps/${betaApp}`, { body: { enabled: false } })).status).toBe(200);
      expect((await as(p, 'GET', `/v1/apps/${alphaApp}`)).status).toBe(200);

      // Straight in the database, as the next `appreg admin user` command, or another instance, would.
      await s.db.run('DELETE FROM user_groups WHERE user_id = ? AND group_id = ?', [p.user_id, alpha]);
      expectProblem(await as(p, 'GET', `/v1/apps/${alphaApp}`), 404);
      expect((await as(p, 'GET', '/v1/me')).json.groups).toEqual([{ id: beta, name: 'beta', role: 'admin' }]);

      await s.db.run("UPDATE user_groups SET role = 'member' WHERE user_id = ? AND group_id = ?", [p.user_id, beta]);
      expectProblem(await as(p, 'PATCH', `/v1/apps/${betaApp}`, { body: { enabled: true } }), 403);
      expect((await as(p, 'GET', `/v1/apps/${betaApp}`)).status).toBe(200);

      await adminUserRemove(w.db, { tenant: 'acme', username: p.username });
      // The stand-in store still resolves the token: the API refuses it on its own.
      expect(s.tokens.has(p.token)).toBe(true);
      const gone = expectProblem(await as(p, 'GET', '/v1/me'), 401);
      expect(gone.detail).toBe('The bearer token is not valid for this service.');
    });
  });

  describe('the audit log', () => {
    it('names a person who changed something by user id, username and client id, never their token', async () => {
      const p = people.mixed;
      const created = await as(p, 'POST', `/v1/groups/${alpha}/apps`, { body: appBody() });
      expect(created.status).toBe(201);
      const events: Array<{ action: string; target_id: string; actor: unknown }> = [];
      let cursor: string | null = null;
      do {
        const page = await as(people.sec, 'GET', `/v1/audit?limit=200${cursor === null ? '' : `&cursor=${cursor}`}`);
        expect(page.status).toBe(200);
        events.push(...page.json.items);
        cursor = page.json.next_cursor;
      } while (cursor !== null);
      const event = events.find((e) => e.action === 'app.create' && e.target_id === created.json.id);
      expect(event?.actor).toEqual({ type: 'person', user_id: p.user_id, username: p.username, client_id: consoleApp.client_id });
      const text = JSON.stringify(events);
      for (const someone of Object.values(people)) {
        expect(text).not.toContain(someone.token);
        expect(text).not.toContain(someone.ref);
      }
      // As stored, too (the API's answer could have dropped a field the table holds).
      const stored = await s.db.all<{ actor: string }>('SELECT actor FROM audit_events WHERE tenant_id = ?', [w.acme.id]);
      const storedText = stored.map((r) => r.actor).join('\n');
      expect(storedText).toContain(p.user_id);
      for (const someone of Object.values(people)) {
        expect(storedText).not.toContain(someone.token);
        expect(storedText).not.toContain(someone.ref);
      }
    });

    it('is refused to a plain member and a group admin person (403), shown to the security admin', async () => {
      expectProblem(await as(people.member, 'GET', '/v1/audit'), 403);
      expectProblem(await as(people.mixed, 'GET', '/v1/audit'), 403);
      expect((await as(people.sec, 'GET', '/v1/audit')).status).toBe(200);
    });
  });

  describe('tokens the service does not accept', () => {
    it('an unknown token is 401 whatever its kind, the same answer; a service token never reaches the resolver', async () => {
      const before = s.lookups.length;
      // Shaped like a service token (art_ and 43 characters): what decides the kind, not the prefix alone.
      const unknownService = expectProblem(await as(`art_${randomBytes(32).toString('base64url')}`, 'GET', '/v1/groups'), 401);
      expect(s.lookups.length).toBe(before);
      expect((await as(w.acme.admin, 'GET', '/v1/groups')).status).toBe(200);
      expect(s.lookups.length).toBe(before);

      const guess = `pat-test.${randomBytes(24).toString('base64url')}`;
      const res = await as(guess, 'GET', '/v1/groups');
      const unknownPerson = expectProblem(res, 401);
      expect(s.lookups.slice(before)).toEqual([guess]);
      expect(unknownPerson).toEqual(unknownService);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="appreg", error="invalid_token"');
      expect(res.text).not.toContain(guess);
      expect(s.log.text).not.toContain(guess);
    });

    it('a token the resolver gives for a person of another tenant than the person\'s own is 401', async () => {
      const forged = `pat-test.${randomBytes(24).toString('base64url')}`;
      s.tokens.set(forged, { ...s.tokens.get(people.outsider.token)!, tenant_id: w.acme.id });
      expectProblem(await as(forged, 'GET', '/v1/me'), 401);
    });

    it('without a resolver, a token that is not a service token is 401; with one, a person\'s rate limit is per token', async () => {
      const db = await openDatabase(w.db);
      const bare = await buildServer({ db, rateLimit: 1, log: false });
      const limited = await buildServer({ db, rateLimit: 1, log: false, personTokens: async (t) => s.tokens.get(t) });
      try {
        const res = await bare.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${people.mixed.token}` } });
        expect(res.statusCode).toBe(401);
        expect(JSON.parse(res.body).detail).toBe('The bearer token is not valid for this service.');
        const get = (token: string) => limited.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
        const first = await get(people.member.token);
        const second = await get(people.member.token);
        const another = await get(people.loner.token);
        // A second within the same second is over 1 per second (a slow machine may cross a second boundary: then both pass).
        expect([first.statusCode, another.statusCode]).toEqual([200, 200]);
        expect([200, 429]).toContain(second.statusCode);
      } finally {
        await bare.close();
        await limited.close();
        await db.close();
      }
    });
  });

  describe('tenants', () => {
    it('a person of another tenant sees none of acme\'s objects (404), even as its security admin', async () => {
      const p = people.outsider;
      const app = await fresh(alpha, 'organization');
      expectProblem(await as(p, 'GET', `/v1/apps/${app}`), 404);
      expectProblem(await as(p, 'PATCH', `/v1/apps/${app}`, { body: { enabled: false } }), 404);
      expectProblem(await as(p, 'DELETE', `/v1/apps/${app}`), 404);
      expectProblem(await as(p, 'POST', `/v1/groups/${alpha}/apps`, { body: appBody() }), 404);
      expectProblem(await as(p, 'PUT', `/v1/groups/${w.other.groups.gamma}/consents/${app}`), 404);
      expectProblem(await as(p, 'GET', `/v1/consents?group_id=${alpha}`), 404);
      expectProblem(await as(p, 'GET', `/v1/apps?group_id=${alpha}`), 404);
      expect((await as(p, 'GET', '/v1/groups')).json.items).toEqual([{ id: w.other.groups.gamma, name: 'gamma' }]);
      const ids = (await as(p, 'GET', '/v1/apps?limit=200')).json.items.map((a: { id: string }) => a.id);
      expect(ids).not.toContain(app);
      expect((await as(p, 'GET', '/v1/tenant/oauth-settings')).json.tenant_id).toBe(w.other.id);
    });
  });

  it('the request log names the person and the token reference, never the token', async () => {
    const p = people.member;
    expect((await as(p, 'GET', '/v1/me')).status).toBe(200);
    const line = s.log.lines.filter((l) => l.msg === 'request' && l.path === '/v1/me' && l.user_id === p.user_id).pop();
    expect(line).toEqual(expect.objectContaining({ tenant_id: w.acme.id, token_id: p.ref, user_id: p.user_id, client_id: consoleApp.client_id }));
    expect(line).not.toHaveProperty('role');
    for (const someone of Object.values(people)) expect(s.log.text).not.toContain(someone.token);
  });
});
