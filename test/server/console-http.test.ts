/**
 * The console over real HTTP (DOMAIN.md "The console"), without a browser:
 * `appreg serve` as a child process (the provider's module cannot be loaded
 * in jest), a headless person (scripts/lib/person-agent.ts) signing in
 * through the provider's screens, and plain fetch for the console's forms.
 *
 * What it proves: the console signs people in as a public client of the
 * built-in provider (no consent screen), even while the tenant's OAuth is
 * off; the session cookie is sealed and HttpOnly and the token in it is the
 * person's real access token, never in clear; a group admin registers an
 * app and sees its secret once, on a page that is never cached, and not
 * after "OK"; a rule's message shows at its field; a member cannot add; a
 * form without its CSRF token is refused; every page has a strict CSP;
 * sign-out ends the session.
 *
 * Needs dist/ and bin/; an acceptance test (jest.config.js ACCEPTANCE).
 */
import { randomBytes } from 'node:crypto';
import Sqlite from 'better-sqlite3';
import { type AgentPage, buildSubmission, findButton, findField, type HtmlForm, parseHtml, PersonAgent } from '../../scripts/lib/person-agent';
import { open, seal } from '../../src/server/crypto';
import {
  addPerson,
  enableOAuth,
  type PreparedTenant,
  prepareTenant,
  removePrepared,
  type ServeProcess,
  serviceCall,
  startServeProcess,
} from '../support/serve-process';

jest.setTimeout(120_000);

const newPassword = (): string => `pw-${randomBytes(12).toString('base64url')}`;

interface Person {
  username: string;
  password: string;
}

describe('the console over HTTP', () => {
  let tenant: PreparedTenant;
  let svc: ServeProcess;
  const gina: Person = { username: 'gina', password: newPassword() };
  const alice: Person = { username: 'alice', password: newPassword() };
  const sam: Person = { username: 'sam', password: newPassword() };

  beforeAll(async () => {
    tenant = await prepareTenant({ tenant: 'acme', groups: ['platform', 'data'] });
    await addPerson(tenant.db, { tenant: 'acme', username: gina.username, password: gina.password, adminOf: ['platform'], member: ['data'] });
    await addPerson(tenant.db, { tenant: 'acme', username: alice.username, password: alice.password, member: ['platform'] });
    await addPerson(tenant.db, { tenant: 'acme', username: sam.username, password: sam.password, securityAdmin: true });
    svc = await startServeProcess({ db: tenant.db });
  });

  afterAll(async () => {
    await svc?.stop();
    if (tenant !== undefined) removePrepared(tenant);
  });

  /** Signs a person in to the console; returns the agent (their browser) and the page they land on. */
  async function signIn(p: Person): Promise<{ agent: PersonAgent; page: AgentPage; screens: string[] }> {
    const agent = new PersonAgent({ username: p.username, password: p.password, issuer: svc.url });
    const first = await agent.open(`${svc.url}/console`);
    expect(first.kind).toBe('page');
    if (first.kind !== 'page') throw new Error('no page');
    const form = first.page.forms.find((f) => findField(f, 'organization'))!;
    const sub = buildSubmission(form, { button: findButton(form, 'Continue')!, fill: { organization: 'acme' } });
    const out = await agent.authorize(sub.url, `${svc.url}/console/callback`);
    expect(out.callbackUrl).toBeDefined();
    const landed = await agent.open(out.callbackUrl!);
    if (landed.kind !== 'page') throw new Error(`the callback left for ${landed.url}`);
    return { agent, page: landed.page, screens: out.screens };
  }

  /** Submits a form of a page as the person's browser would (their cookies), without following redirects. */
  async function submit(agent: PersonAgent, page: AgentPage, form: HtmlForm, fill: Record<string, string> = {}, button?: string, drop: string[] = []) {
    const sub = buildSubmission(form, { ...(button !== undefined ? { button: findButton(form, button)! } : {}), fill });
    let body = sub.body;
    if (body !== undefined && drop.length > 0) {
      const params = new URLSearchParams(body);
      for (const d of drop) params.delete(d);
      body = params.toString();
    }
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = agent.jar.header(sub.url);
    if (cookie !== undefined) headers.cookie = cookie;
    if (sub.method === 'POST') {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = new URL(page.url).origin;
    }
    const res = await fetch(sub.url, { method: sub.method, headers, redirect: 'manual', ...(sub.method === 'POST' ? { body: body ?? '' } : {}) });
    agent.jar.storeAll(res.headers.getSetCookie(), sub.url);
    const html = await res.text();
    return { res, html, page: { status: res.status, html, ...parseHtml(html, sub.url) } as AgentPage };
  }

  /** A GET with the person's cookies, redirects not followed. */
  async function get(agent: PersonAgent, path: string) {
    const url = `${svc.url}${path}`;
    const cookie = agent.jar.header(url);
    const res = await fetch(url, { headers: cookie !== undefined ? { cookie } : {}, redirect: 'manual' });
    agent.jar.storeAll(res.headers.getSetCookie(), url);
    const html = await res.text();
    return { res, html, page: { status: res.status, html, ...parseHtml(html, url) } as AgentPage };
  }

  /** The session cookie the service set, opened with the console's key from the database. */
  function openedSession(agent: PersonAgent): { raw: string; session: { at: string; rt?: string; tid: string } } {
    const raw = agent.jar.header(`${svc.url}/console/apps`)?.split('; ').find((c) => c.startsWith('appreg_console='))?.slice('appreg_console='.length);
    if (raw === undefined) throw new Error('no session cookie');
    const db = new Sqlite(tenant.db, { readonly: true });
    try {
      const key = (db.prepare('SELECT material FROM server_keys WHERE name = ?').get('console-session-v1') as { material: string }).material;
      const session = JSON.parse(open(key, 'appreg console session v1', Buffer.from(raw, 'base64url').toString('utf8'))) as { at: string; tid: string };
      return { raw, session };
    } finally {
      db.close();
    }
  }

  it('asks for the organization first, with a strict Content-Security-Policy and no caching', async () => {
    const res = await fetch(`${svc.url}/console`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('script-src');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).not.toMatch(/<script|style="/i);
    const page = parseHtml(html, `${svc.url}/console`);
    const form = page.forms.find((f) => findField(f, 'organization'))!;
    expect(findField(form, 'organization')!.label).toBe('Organization');
    expect(findButton(form, 'Continue')).toBeDefined();
  });

  it('says at the field when no organization has that name', async () => {
    const res = await fetch(`${svc.url}/console/signin?organization=nope`, { redirect: 'manual' });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toMatch(/id="organization"[^>]*aria-invalid="true" aria-describedby="organization-error"/);
    expect(html).toContain('id="organization-error"');
  });

  it('signs a person in without a consent screen, while OAuth is off, in a sealed HttpOnly cookie', async () => {
    const { agent, page, screens } = await signIn(gina);
    expect(screens).toEqual(['sign-in']);
    expect(page.status).toBe(200);
    expect(page.status).toBe(200);
    expect(page.title).toContain('Register Custom Apps');
    expect(page.html).toMatch(/<summary aria-label="Account menu of gina">gina<\/summary>/);
    expect(page.text).toContain('Sign out');
    // Signed in, the first page goes straight to the list.
    const again = await get(agent, '/console');
    expect(again.res.status).toBe(303);
    // The token in the cookie is gina's real access token, and it is not in the cookie in clear.
    const { raw, session } = openedSession(agent);
    expect(session.tid).toBe(tenant.tenantId);
    expect(raw).not.toContain(session.at);
    expect(Buffer.from(raw, 'base64url').toString('utf8')).not.toContain(session.at);
    const me = await serviceCall(svc.url, 'GET', '/v1/me', session.at);
    expect(me.status).toBe(200);
    expect(me.json.username).toBe('gina');
    // Nothing of the sign-in is logged: no code in a logged path, no token.
    expect(svc.logs()).not.toContain(session.at);
    expect(svc.logs()).not.toMatch(/\/console\/callback\?/);
  });

  it('gives a security admin "Administration" while OAuth is still off, and a member none', async () => {
    const { agent, page } = await signIn(sam);
    expect(page.html).toContain('<a href="/console/admin">Administration</a>');
    const admin = await get(agent, '/console/admin/oauth-clients');
    expect(admin.res.status).toBe(200);
    expect(admin.page.text).toContain('OAuth is disabled for this organization.');
    const member = await signIn(alice);
    expect(member.page.html).not.toContain('Administration');
  });

  it('answers an unknown console address with an HTML page', async () => {
    const res = await fetch(`${svc.url}/console/nothing-here`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('sets the session cookie HttpOnly and SameSite=Lax on the callback', async () => {
    const agent = new PersonAgent({ username: alice.username, password: alice.password, issuer: svc.url });
    const out = await agent.authorize(`${svc.url}/console/signin?organization=acme`, `${svc.url}/console/callback`);
    const cookie = agent.jar.header(out.callbackUrl!);
    const res = await fetch(out.callbackUrl!, { headers: cookie !== undefined ? { cookie } : {}, redirect: 'manual' });
    expect(res.status).toBe(303);
    const set = res.headers.getSetCookie().find((c) => c.startsWith('appreg_console='))!;
    expect(set).toMatch(/; HttpOnly/i);
    expect(set).toMatch(/; SameSite=Lax/i);
    expect(set).toMatch(/; Path=\/console/i);
  });

  describe('with OAuth on', () => {
    beforeAll(async () => {
      await enableOAuth(svc.url, tenant.adminToken);
    });

    it('lets a group admin register an app and shows its secret once', async () => {
      const { agent, page } = await signIn(gina);
      // "+" named "New App Registration", and the "Group" picker (gina is in two groups).
      expect(page.html).toMatch(/<a class="button" href="\/console\/apps\/new\?group_id=[^"]+" aria-label="New App Registration"/);
      expect(page.forms.some((f) => findField(f, 'group_id')?.label === 'Group')).toBe(true);
      const panel = await get(agent, `/console/apps/new?group_id=${tenant.groups.platform}`);
      expect(panel.page.title).toContain('New App Registration');
      const form = panel.page.forms.find((f) => findButton(f, 'Add'))!;
      for (const [name, label] of [['name', 'Application Name'], ['callback_urls', 'Callback URL(s)'], ['public_client', 'Public client'], ['require_pkce', 'Require PKCE']]) {
        expect(findField(form, name!)?.label).toBe(label);
      }
      const created = await submit(agent, panel.page, form, { name: 'Billing Portal', callback_urls: 'https://billing.example.com/cb\nhttps://billing.example.com/cb2' }, 'Add');
      expect(created.res.status).toBe(201);
      expect(created.res.headers.get('cache-control')).toBe('no-store');
      expect(created.html).toMatch(/<dialog open aria-labelledby="credentials-title"/);
      expect(created.page.text).toContain('Custom App Credentials');
      expect(created.page.text).toMatch(/shown only once/);
      const secret = /id="client_secret" readonly value="(ars_[A-Za-z0-9_-]+)"/.exec(created.html)?.[1];
      const clientId = /id="client_id" readonly value="([a-z0-9]+)"/.exec(created.html)?.[1];
      expect(secret).toBeDefined();
      expect(clientId).toBeDefined();
      // "OK" goes back to the list by a plain link that carries nothing of the secret.
      const ok = /<a class="button" href="([^"]+)">OK<\/a>/.exec(created.html)?.[1];
      expect(ok).toBeDefined();
      expect(ok).not.toContain(secret!);
      const list = await get(agent, ok!.replace(/&amp;/g, '&'));
      expect(list.res.status).toBe(200);
      expect(list.html).toContain('Billing Portal');
      expect(list.html).toContain(clientId!);
      expect(list.html).not.toContain(secret!);
      expect(svc.logs()).not.toContain(secret!);
    });

    it('shows a rule\'s message at its field (Callback URL(s))', async () => {
      const { agent } = await signIn(gina);
      const panel = await get(agent, `/console/apps/new?group_id=${tenant.groups.platform}`);
      const form = panel.page.forms.find((f) => findButton(f, 'Add'))!;
      const out = await submit(agent, panel.page, form, { name: 'Plain Http', callback_urls: 'http://example.com/cb' }, 'Add');
      expect(out.res.status).toBe(422);
      expect(out.html).toMatch(/<textarea id="callback_urls"[^>]*aria-invalid="true"[^>]*aria-describedby="callback_urls-hint callback_urls-error"/);
      const message = /<p class="field-error" id="callback_urls-error">([^<]+)<\/p>/.exec(out.html)?.[1];
      expect(message).toMatch(/^Line 1: /);
      // What the person typed stays in the form.
      expect(out.html).toContain('value="Plain Http"');
      expect(out.html).toContain('http://example.com/cb</textarea>');
    });

    it('lets a member read but not add: no "+", and the API\'s 403 as a message', async () => {
      const { agent, page } = await signIn(alice);
      expect(page.html).not.toContain('aria-label="New App Registration"');
      expect(page.html).toContain('Billing Portal');
      const panel = await get(agent, `/console/apps/new?group_id=${tenant.groups.platform}`);
      const form = panel.page.forms.find((f) => findButton(f, 'Add'))!;
      const out = await submit(agent, panel.page, form, { name: 'Not Allowed', callback_urls: 'https://x.example.com/cb' }, 'Add');
      expect(out.res.status).toBe(403);
      expect(out.page.text).toContain('You may not do this');
      const apps = await serviceCall(svc.url, 'GET', `/v1/apps?group_id=${tenant.groups.platform}`, tenant.adminToken);
      expect((apps.json.items as Array<{ name: string }>).map((a) => a.name)).not.toContain('Not Allowed');
    });

    it('refuses a form without its CSRF token, and changes nothing', async () => {
      const { agent } = await signIn(gina);
      const panel = await get(agent, `/console/apps/new?group_id=${tenant.groups.platform}`);
      const form = panel.page.forms.find((f) => findButton(f, 'Add'))!;
      const out = await submit(agent, panel.page, form, { name: 'Forged', callback_urls: 'https://f.example.com/cb' }, 'Add', ['csrf']);
      expect(out.res.status).toBe(403);
      const wrong = await submit(agent, panel.page, form, { name: 'Forged', callback_urls: 'https://f.example.com/cb', csrf: 'x'.repeat(43) }, 'Add');
      expect(wrong.res.status).toBe(403);
      const apps = await serviceCall(svc.url, 'GET', `/v1/apps?group_id=${tenant.groups.platform}`, tenant.adminToken);
      expect((apps.json.items as Array<{ name: string }>).map((a) => a.name)).not.toContain('Forged');
    });

    it('refreshes the access token when it is near expiry, keeping the session and its CSRF token', async () => {
      const { agent, page } = await signIn(gina);
      const { session } = openedSession(agent);
      // Make the session say its access token expires now, sealed with the console's key as the service would.
      const db = new Sqlite(tenant.db, { readonly: true });
      const key = (db.prepare('SELECT material FROM server_keys WHERE name = ?').get('console-session-v1') as { material: string }).material;
      db.close();
      const stale = Buffer.from(seal(key, 'appreg console session v1', JSON.stringify({ ...session, exp: Date.now() })), 'utf8').toString('base64url');
      agent.jar.storeAll([`appreg_console=${stale}; Path=/console; HttpOnly`], `${svc.url}/console/apps`);
      const list = await get(agent, '/console/apps');
      expect(list.res.status).toBe(200);
      const fresh = openedSession(agent).session;
      expect(fresh.at).not.toBe(session.at);
      expect(fresh.rt).not.toBe(session.rt);
      expect((await serviceCall(svc.url, 'GET', '/v1/me', fresh.at)).status).toBe(200);
      // The form already on screen still posts: the CSRF token is the session's, not the token's.
      const form = page.forms.find((f) => f.action.endsWith('/console/signout'))!;
      expect(list.html).toContain(`value="${findField(form, 'csrf')!.value}"`);
    });

    it('signs out: the session ends and the person goes to the provider\'s sign-out', async () => {
      const { agent, page } = await signIn(gina);
      const { session } = openedSession(agent);
      const form = page.forms.find((f) => f.action.endsWith('/console/signout'))!;
      const out = await submit(agent, page, form, {}, 'Sign out');
      expect(out.res.status).toBe(303);
      expect(out.res.headers.get('location')).toBe(`${svc.issuer}/oauth/logout`);
      const after = await get(agent, '/console/apps');
      expect(after.res.status).toBe(303);
      expect(after.res.headers.get('location')).toBe('/console');
      // The refresh token was revoked, and with it the grant: the access token stops working too.
      const me = await serviceCall(svc.url, 'GET', '/v1/me', session.at);
      expect(me.status).toBe(401);
    });
  });
});
