/**
 * The authorization matrix: every role against every route, on objects of
 * its own group, another group, and another tenant; then what each role's
 * lists show. Runs on SQLite and PostgreSQL.
 *
 * Callers: `tsa` (tenant_security_admin of acme), `ga` (group_admin of
 * acme's alpha), `aud` (auditor of acme), `foreign` (tenant_security_admin
 * of the other tenant, aimed at acme's objects).
 */
import { type Answer, appBody, BACKENDS, startWorld, type World } from './harness';

type Who = 'tsa' | 'ga' | 'aud' | 'foreign';
const WHO: Who[] = ['tsa', 'ga', 'aud', 'foreign'];

/** Objects of the fixture: apps of alpha and beta, group- and organization-scoped, and consents. */
interface Fixture {
  alpha: string;
  beta: string;
  aG: string;
  aO: string;
  bG: string;
  bO: string;
}

interface Case {
  what: string;
  expect: Record<Who, number>;
  run(w: World, f: Fixture, token: string): Promise<Answer>;
}

/** A fresh app made by the tenant admin, so that a destructive case has its own object. */
async function fresh(w: World, group: string, scope: 'group' | 'organization'): Promise<string> {
  return (await w.createApp(w.acme.admin, group, appBody({ scope }))).json.id;
}

const CASES: Case[] = [
  { what: 'POST /v1/groups/{own}/apps', expect: { tsa: 201, ga: 201, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('POST', `/v1/groups/${f.alpha}/apps`, { token: t, body: appBody() }) },
  { what: 'POST /v1/groups/{other}/apps', expect: { tsa: 201, ga: 404, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('POST', `/v1/groups/${f.beta}/apps`, { token: t, body: appBody() }) },
  { what: 'GET own group-scoped app', expect: { tsa: 200, ga: 200, aud: 200, foreign: 404 },
    run: (w, f, t) => w.call('GET', `/v1/apps/${f.aG}`, { token: t }) },
  { what: 'GET own organization-scoped app', expect: { tsa: 200, ga: 200, aud: 200, foreign: 404 },
    run: (w, f, t) => w.call('GET', `/v1/apps/${f.aO}`, { token: t }) },
  { what: 'GET other group\'s group-scoped app', expect: { tsa: 200, ga: 404, aud: 200, foreign: 404 },
    run: (w, f, t) => w.call('GET', `/v1/apps/${f.bG}`, { token: t }) },
  { what: 'GET other group\'s organization-scoped app', expect: { tsa: 200, ga: 200, aud: 200, foreign: 404 },
    run: (w, f, t) => w.call('GET', `/v1/apps/${f.bO}`, { token: t }) },
  { what: 'PATCH own app', expect: { tsa: 200, ga: 200, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('PATCH', `/v1/apps/${f.aG}`, { token: t, body: { enabled: true } }) },
  { what: 'PATCH other group\'s organization-scoped app', expect: { tsa: 200, ga: 403, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('PATCH', `/v1/apps/${f.bO}`, { token: t, body: { enabled: true } }) },
  { what: 'PATCH other group\'s group-scoped app', expect: { tsa: 200, ga: 404, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('PATCH', `/v1/apps/${f.bG}`, { token: t, body: { enabled: true } }) },
  { what: 'PATCH with an invalid body on a visible app it may not change (authorization first)', expect: { tsa: 422, ga: 403, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('PATCH', `/v1/apps/${f.bO}`, { token: t, body: { scope: 'group' } }) },
  { what: 'DELETE own app', expect: { tsa: 204, ga: 204, aud: 403, foreign: 404 },
    run: async (w, f, t) => w.call('DELETE', `/v1/apps/${await fresh(w, f.alpha, 'group')}`, { token: t }) },
  { what: 'DELETE other group\'s organization-scoped app', expect: { tsa: 204, ga: 403, aud: 403, foreign: 404 },
    run: async (w, f, t) => w.call('DELETE', `/v1/apps/${await fresh(w, f.beta, 'organization')}`, { token: t }) },
  { what: 'DELETE other group\'s group-scoped app', expect: { tsa: 204, ga: 404, aud: 403, foreign: 404 },
    run: async (w, f, t) => w.call('DELETE', `/v1/apps/${await fresh(w, f.beta, 'group')}`, { token: t }) },
  { what: 'rotate own app', expect: { tsa: 200, ga: 200, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('POST', `/v1/apps/${f.aG}/rotate-secret`, { token: t }) },
  { what: 'rotate other group\'s organization-scoped app', expect: { tsa: 200, ga: 403, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('POST', `/v1/apps/${f.bO}/rotate-secret`, { token: t }) },
  { what: 'rotate other group\'s group-scoped app', expect: { tsa: 200, ga: 404, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('POST', `/v1/apps/${f.bG}/rotate-secret`, { token: t }) },
  { what: 'PUT consent of own group (exists)', expect: { tsa: 200, ga: 200, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('PUT', `/v1/groups/${f.alpha}/consents/${f.bO}`, { token: t }) },
  { what: 'PUT consent of other group (exists)', expect: { tsa: 200, ga: 404, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('PUT', `/v1/groups/${f.beta}/consents/${f.aO}`, { token: t }) },
  { what: 'PUT consent of own group to a group-scoped app of another group', expect: { tsa: 422, ga: 404, aud: 403, foreign: 404 },
    run: (w, f, t) => w.call('PUT', `/v1/groups/${f.alpha}/consents/${f.bG}`, { token: t }) },
  { what: 'GET consent of own group', expect: { tsa: 200, ga: 200, aud: 200, foreign: 404 },
    run: (w, f, t) => w.call('GET', `/v1/groups/${f.alpha}/consents/${f.bO}`, { token: t }) },
  { what: 'GET consent of other group', expect: { tsa: 200, ga: 404, aud: 200, foreign: 404 },
    run: (w, f, t) => w.call('GET', `/v1/groups/${f.beta}/consents/${f.aO}`, { token: t }) },
  { what: 'DELETE consent of own group', expect: { tsa: 204, ga: 204, aud: 403, foreign: 404 },
    run: async (w, f, t) => {
      const app = await fresh(w, f.beta, 'organization');
      await w.call('PUT', `/v1/groups/${f.alpha}/consents/${app}`, { token: w.acme.admin });
      return w.call('DELETE', `/v1/groups/${f.alpha}/consents/${app}`, { token: t });
    } },
  { what: 'DELETE consent of other group', expect: { tsa: 204, ga: 404, aud: 403, foreign: 404 },
    run: async (w, f, t) => {
      const app = await fresh(w, f.alpha, 'organization');
      await w.call('PUT', `/v1/groups/${f.beta}/consents/${app}`, { token: w.acme.admin });
      return w.call('DELETE', `/v1/groups/${f.beta}/consents/${app}`, { token: t });
    } },
  { what: 'GET /v1/browse for own group', expect: { tsa: 200, ga: 200, aud: 200, foreign: 404 },
    run: (w, f, t) => w.call('GET', `/v1/browse?group_id=${f.alpha}`, { token: t }) },
  { what: 'GET /v1/browse for other group', expect: { tsa: 200, ga: 404, aud: 200, foreign: 404 },
    run: (w, f, t) => w.call('GET', `/v1/browse?group_id=${f.beta}`, { token: t }) },
  { what: 'GET /v1/consents of other group', expect: { tsa: 200, ga: 404, aud: 200, foreign: 404 },
    run: (w, f, t) => w.call('GET', `/v1/consents?group_id=${f.beta}`, { token: t }) },
  { what: 'GET /v1/apps of other group', expect: { tsa: 200, ga: 200, aud: 200, foreign: 404 },
    run: (w, f, t) => w.call('GET', `/v1/apps?group_id=${f.beta}`, { token: t }) },
  { what: 'GET /v1/tenant/oauth-settings', expect: { tsa: 200, ga: 200, aud: 200, foreign: 200 },
    run: (w, _f, t) => w.call('GET', '/v1/tenant/oauth-settings', { token: t }) },
  { what: 'PUT /v1/tenant/oauth-settings', expect: { tsa: 200, ga: 403, aud: 403, foreign: 200 },
    run: (w, _f, t) => w.call('PUT', '/v1/tenant/oauth-settings', { token: t, body: { oauth_enabled: true } }) },
  { what: 'GET /v1/audit', expect: { tsa: 200, ga: 403, aud: 200, foreign: 200 },
    run: (w, _f, t) => w.call('GET', '/v1/audit', { token: t }) },
];

/** Every route of the contract that needs a token, with a harmless request. */
const ROUTES: Array<[string, (f: Fixture) => string]> = [
  ['GET', () => '/v1/tenant/oauth-settings'],
  ['PUT', () => '/v1/tenant/oauth-settings'],
  ['GET', () => '/v1/groups'],
  ['POST', (f) => `/v1/groups/${f.alpha}/apps`],
  ['GET', () => '/v1/apps'],
  ['GET', (f) => `/v1/apps/${f.aG}`],
  ['PATCH', (f) => `/v1/apps/${f.aG}`],
  ['DELETE', (f) => `/v1/apps/${f.aG}`],
  ['POST', (f) => `/v1/apps/${f.aG}/rotate-secret`],
  ['GET', (f) => `/v1/browse?group_id=${f.alpha}`],
  ['PUT', (f) => `/v1/groups/${f.alpha}/consents/${f.bO}`],
  ['GET', (f) => `/v1/groups/${f.alpha}/consents/${f.bO}`],
  ['DELETE', (f) => `/v1/groups/${f.alpha}/consents/${f.bO}`],
  ['GET', () => '/v1/consents'],
  ['GET', () => '/v1/audit'],
];

async function walk(w: World, token: string, pathname: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  const sep = pathname.includes('?') ? '&' : '?';
  do {
    const res = await w.call('GET', `${pathname}${sep}limit=200${cursor ? `&cursor=${cursor}` : ''}`, { token });
    expect(res.status).toBe(200);
    items.push(...res.json.items);
    cursor = res.json.next_cursor;
  } while (cursor);
  return items;
}

describe.each(BACKENDS)('authorization on %s', (backend) => {
  let w: World;
  let f: Fixture;
  const tokens = {} as Record<Who, string>;

  beforeAll(async () => {
    w = await startWorld(backend);
    const alpha = w.acme.groups.alpha!;
    const beta = w.acme.groups.beta!;
    f = {
      alpha,
      beta,
      aG: await fresh(w, alpha, 'group'),
      aO: await fresh(w, alpha, 'organization'),
      bG: await fresh(w, beta, 'group'),
      bO: await fresh(w, beta, 'organization'),
    };
    expect((await w.call('PUT', `/v1/groups/${alpha}/consents/${f.bO}`, { token: w.acme.admin })).status).toBe(201);
    expect((await w.call('PUT', `/v1/groups/${beta}/consents/${f.aO}`, { token: w.acme.admin })).status).toBe(201);
    tokens.tsa = w.acme.admin;
    tokens.ga = w.acme.groupAdmins.alpha!;
    tokens.aud = w.acme.auditor;
    tokens.foreign = w.other.admin;
  });
  afterAll(async () => {
    await w?.stop();
  });

  describe.each(CASES.map((c) => [c.what, c] as const))('%s', (_what, c) => {
    it.each(WHO.map((who) => [who, c.expect[who]] as const))('as %s → %i', async (who, status) => {
      const res = await c.run(w, f, tokens[who]);
      if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text}`);
      if (status >= 400) expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });
  });

  it('a 404 for another tenant says nothing about whether the object exists', async () => {
    const existing = await w.call('GET', `/v1/apps/${f.aG}`, { token: w.other.admin });
    const missing = await w.call('GET', '/v1/apps/app_00000000000000000000000000', { token: w.other.admin });
    expect(existing.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(existing.json.detail.replace(f.aG, 'X')).toBe(missing.json.detail.replace('app_00000000000000000000000000', 'X'));
  });

  it('tenant settings are always the caller\'s own tenant', async () => {
    expect((await w.call('GET', '/v1/tenant/oauth-settings', { token: w.acme.groupAdmins.alpha })).json.tenant_id).toBe(w.acme.id);
    expect((await w.call('GET', '/v1/tenant/oauth-settings', { token: w.other.admin })).json.tenant_id).toBe(w.other.id);
  });

  it('GET /v1/groups: a group admin sees its group; the tenant roles see all of their tenant, never another', async () => {
    const ids = async (t: string) => (await walk(w, t, '/v1/groups')).map((g) => g.id).sort();
    expect(await walk(w, w.acme.groupAdmins.alpha!, '/v1/groups')).toEqual([{ id: f.alpha, name: 'alpha' }]);
    expect(await ids(w.acme.admin)).toEqual([f.alpha, f.beta].sort());
    expect(await ids(w.acme.auditor)).toEqual([f.alpha, f.beta].sort());
    expect(await ids(w.other.admin)).toEqual([w.other.groups.gamma]);
    expect((await w.call('GET', '/v1/groups?name=beta', { token: w.acme.admin })).json.items).toEqual([{ id: f.beta, name: 'beta' }]);
  });

  it('GET /v1/apps: a group admin sees its own apps and organization-scoped apps of others, never another tenant\'s', async () => {
    const foreignApp = (await w.createApp(w.other.admin, w.other.groups.gamma!, appBody({ scope: 'organization' }))).json.id;
    const ga = (await walk(w, w.acme.groupAdmins.alpha!, '/v1/apps')).map((a) => a.id);
    expect(ga).toEqual(expect.arrayContaining([f.aG, f.aO, f.bO]));
    expect(ga).not.toContain(f.bG);
    expect(ga).not.toContain(foreignApp);
    for (const t of [w.acme.admin, w.acme.auditor]) {
      const all = (await walk(w, t, '/v1/apps')).map((a) => a.id);
      expect(all).toEqual(expect.arrayContaining([f.aG, f.aO, f.bG, f.bO]));
      expect(all).not.toContain(foreignApp);
    }
    const other = (await walk(w, w.other.admin, '/v1/apps')).map((a) => a.id);
    expect(other).toContain(foreignApp);
    expect(other).not.toContain(f.aO);
    const otherGroup = await walk(w, w.acme.groupAdmins.alpha!, `/v1/apps?group_id=${f.beta}`);
    expect(otherGroup.map((a) => a.id)).toContain(f.bO);
    expect(otherGroup.every((a) => a.scope === 'organization')).toBe(true);
  });

  it('GET /v1/consents: a group admin sees its own group\'s consents only', async () => {
    const ga = await walk(w, w.acme.groupAdmins.alpha!, '/v1/consents');
    expect(ga.length).toBeGreaterThan(0);
    expect(ga.every((c) => c.group_id === f.alpha)).toBe(true);
    const all = await walk(w, w.acme.auditor, '/v1/consents');
    expect(all.map((c) => c.id)).toEqual(expect.arrayContaining([`${f.alpha}/${f.bO}`, `${f.beta}/${f.aO}`]));
    expect(await walk(w, w.other.admin, '/v1/consents')).toEqual([]);
  });

  it('GET /v1/browse: a group admin browses for its own group by default', async () => {
    const items = await walk(w, w.acme.groupAdmins.alpha!, '/v1/browse');
    expect(items.map((a) => a.id)).toContain(f.bO);
    expect(items.every((a) => a.group_id !== f.alpha && a.scope === 'organization')).toBe(true);
    expect(items.find((a) => a.id === f.bO).consented).toBe(true);
  });

  it('the audit log of one tenant never shows another tenant\'s events', async () => {
    const acme = await walk(w, w.acme.auditor, '/v1/audit');
    const other = await walk(w, w.other.admin, '/v1/audit');
    const acmeTargets = new Set(acme.map((e) => e.target_id));
    expect(other.some((e) => acmeTargets.has(e.target_id))).toBe(false);
    expect(JSON.stringify(other)).not.toContain(f.aG);
  });

  describe('401 without a valid token', () => {
    it.each(ROUTES.map(([m, p]) => [m, p] as const))('%s %p', async (method, pathOf) => {
      const pathname = pathOf(f);
      const none = await w.call(method, pathname, { body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(none.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const bad = await w.call(method, pathname, { token: 'art_not-a-real-token' });
      expect(bad.status).toBe(401);
      expect(bad.headers.get('www-authenticate')).toMatch(/invalid_token/);
      const basic = await w.call(method, pathname, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      expect(basic.status).toBe(401);
    });
  });
});
