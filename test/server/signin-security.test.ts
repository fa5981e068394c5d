/**
 * The sign-in service's security properties, against `appreg serve` run as
 * an operator runs it (a child process):
 *
 * (a) Keys and state live in the database: tokens issued before a restart
 *     (stop, start again on the same database) still work on userinfo and
 *     `GET /v1/me`, a refresh token still refreshes, a signed-in browser
 *     stays signed in, and the JWKS (its kids) is the same — on SQLite and
 *     PostgreSQL. On PostgreSQL, two instances on one database: a token from
 *     instance 1 works on instance 2, a sign-in made on 1 is refreshed on 2.
 * (b) Nothing is stored in plain text: after sign-ins on SQLite, no access
 *     token, refresh token, authorization code, device code, user code,
 *     client secret, password (nor session cookie or service token) appears
 *     in any column of any table, nor in the raw bytes of the database file
 *     (and its -wal), read after the service stopped.
 * (c) The screens: the sign-in page's headers (CSP default-src 'none' and
 *     frame-ancestors 'none', X-Frame-Options DENY, Cache-Control no-store),
 *     no script, labelled fields and the "Sign in" button; a POST without
 *     or with a wrong csrf field gets 403 and signs nobody in; a POST from
 *     another browser (no interaction cookie) is refused; the consent page
 *     names the app and its owning group, with Allow/Deny posting `decision`.
 * (d) Password guessing: after 10 wrong passwords for a username the 11th
 *     attempt, even with the right password, gets 429 with Retry-After and
 *     the message on the form; another username is not affected. The limit
 *     holds over the minute (ten failures spread over 15 s), and for guesses
 *     sent all at once (at most 10 passwords checked).
 * (e) The service's log never holds a password, token, code or secret seen
 *     in this file.
 */
import { createHash, createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { CookieJar, PersonAgent, findButton, findField, parseHtml, type HtmlPage } from '../../scripts/lib/person-agent';
import { codeRequest, expectOidcOk, runOidc } from '../support/oidc-client';
import {
  addPerson,
  enableOAuth,
  freePort,
  prepareTenant,
  registerApp,
  removePrepared,
  serviceCall,
  startServeProcess,
  type PreparedTenant,
  type RegisteredApp,
  type ServeProcess,
} from '../support/serve-process';
import { BACKENDS, freshDatabase, type Backend } from './harness';

jest.setTimeout(180_000);

const CALLBACK = 'http://127.0.0.1:9/callback';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

// ---- what this file saw, for (b) and (e) -------------------------------------------

/** Every credential this file saw, by what it is (never printed: failure messages name the label only). */
const seen = new Map<string, string>();
/** Every service started here: its log is checked at the end (e). */
const services: Array<{ name: string; proc: ServeProcess }> = [];

function remember(label: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') throw new Error(`expected a ${label}, got ${typeof value}`);
  let key = label;
  for (let i = 2; seen.has(key) && seen.get(key) !== value; i++) key = `${label} #${i}`;
  seen.set(key, value);
}

async function start(name: string, opts: Parameters<typeof startServeProcess>[0]): Promise<ServeProcess> {
  const proc = await startServeProcess(opts);
  services.push({ name, proc });
  return proc;
}

/**
 * Remembers a browser's session cookie (its value is the session id, a credential the store keeps
 * only hashed). Not the interaction cookies: their value is the interaction's uid, which is in the
 * screens' URLs by design and worthless without the signed cookie (see the "another browser" test).
 */
function rememberSession(agent: PersonAgent): void {
  const cookies = agent.jar.matching().filter((c) => c.name.startsWith('appreg_session'));
  expect(cookies.map((c) => c.name).sort()).toEqual(['appreg_session', 'appreg_session.sig']);
  for (const c of cookies) remember(`cookie ${c.name}`, c.value);
}

/** The labels of the remembered values found in `text`. */
function leaked(text: string | Buffer, values: ReadonlyMap<string, string> = seen): string[] {
  const out: string[] = [];
  for (const [label, value] of values) if (text.includes(value)) out.push(label);
  return out;
}

// ---- a minimal browser and the OAuth calls an app makes ------------------------------

/** A response as a test looks at it. */
interface Visit {
  status: number;
  url: string;
  headers: Headers;
  html: string;
  page: HtmlPage;
  location?: string;
}

/** A browser reduced to cookies and manual redirects, showing every response's headers. */
class Browser {
  readonly jar = new CookieJar();

  /** One request, no redirect followed. `form` makes it a form POST. */
  async request(url: string, form?: Record<string, string>): Promise<Visit> {
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = this.jar.header(url);
    if (cookie !== undefined) headers.cookie = cookie;
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, {
      method: form === undefined ? 'GET' : 'POST',
      headers,
      redirect: 'manual',
      ...(form !== undefined ? { body: new URLSearchParams(form).toString() } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    this.jar.storeAll(res.headers.getSetCookie(), url);
    const html = await res.text();
    const location = res.headers.get('location');
    return {
      status: res.status,
      url,
      headers: res.headers,
      html,
      page: parseHtml(html, url),
      ...(location !== null ? { location: new URL(location, url).href } : {}),
    };
  }

  /** Follows redirects from `v` while they stay on `origin` and do not reach the callback. */
  async follow(v: Visit, origin: string): Promise<Visit> {
    let cur = v;
    for (let i = 0; i < 10 && cur.location !== undefined && cur.status >= 300 && cur.status < 400; i++) {
      if (new URL(cur.location).origin !== origin || cur.location.startsWith(CALLBACK)) return cur;
      cur = await this.request(cur.location);
    }
    return cur;
  }

  async open(url: string): Promise<Visit> {
    return this.follow(await this.request(url), new URL(url).origin);
  }
}

/** The value of a form's hidden field. */
function hidden(page: HtmlPage, name: string): string {
  for (const f of page.forms) {
    const c = findField(f, name);
    if (c !== undefined) return c.value;
  }
  throw new Error(`the page "${page.title}" has no field ${name}: ${page.text.slice(0, 300)}`);
}

/** A form POST to a token-like endpoint with client_secret_basic; JSON back. */
async function clientPost(url: string, app: RegisteredApp, form: Record<string, string>): Promise<{ status: number; json: Record<string, any> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const body = new URLSearchParams(form);
  if (app.client_secret !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(app.client_id)}:${encodeURIComponent(app.client_secret)}`).toString('base64')}`;
  } else {
    body.set('client_id', app.client_id);
  }
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let json: Record<string, any>;
  try {
    json = JSON.parse(text) as Record<string, any>;
  } catch {
    json = { text };
  }
  return { status: res.status, json };
}

/** An authorization request with PKCE (S256) for `app`: the URL and the verifier. */
function authorizationRequest(issuer: string, app: RegisteredApp, scope = 'openid offline_access'): { url: string; verifier: string } {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({
    client_id: app.client_id,
    redirect_uri: CALLBACK,
    response_type: 'code',
    scope,
    state: randomBytes(12).toString('base64url'),
    nonce: randomBytes(12).toString('base64url'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return { url: `${issuer}/oauth/authorize?${q}`, verifier };
}

/** Tokens of a code flow the test drove itself (so it sees the authorization code too). */
interface CodeFlowTokens {
  code: string;
  access_token: string;
  refresh_token: string;
  id_token: string;
}

/** A code flow by a person agent (which keeps its session for later flows), redeemed by the test. */
async function signInWithCode(serviceUrl: string, issuer: string, app: RegisteredApp, agent: PersonAgent): Promise<CodeFlowTokens & { screens: string[] }> {
  const req = authorizationRequest(issuer, app);
  const outcome = await agent.authorize(req.url, CALLBACK);
  if (outcome.callbackUrl === undefined) throw new Error(`no redirect to the app: ${outcome.page?.status} ${outcome.page?.title}: ${outcome.page?.text}\n${outcome.steps.join('\n')}`);
  const code = new URL(outcome.callbackUrl).searchParams.get('code');
  if (code === null) throw new Error(`the redirect carried no code: ${[...new URL(outcome.callbackUrl).searchParams.keys()].join(', ')}`);
  const t = await clientPost(`${serviceUrl}/oauth/token`, app, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: req.verifier });
  if (t.status !== 200) throw new Error(`the code was refused: ${t.status} ${JSON.stringify(t.json)}`);
  return { code, access_token: t.json.access_token, refresh_token: t.json.refresh_token, id_token: t.json.id_token, screens: outcome.screens };
}

/** The kids of the service's JWKS. */
async function jwksKids(url: string): Promise<string[]> {
  const res = await fetch(`${url}/oauth/jwks`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { keys: Array<{ kid: string }> };
  return body.keys.map((k) => k.kid).sort();
}

/** Checks an RS256/ES256 ID token's signature against the service's JWKS; returns its kid. */
async function verifyIdToken(url: string, idToken: string): Promise<string> {
  const [h, p, s] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as { kid: string; alg: string };
  const res = await fetch(`${url}/oauth/jwks`);
  const jwk = ((await res.json()) as { keys: Array<Record<string, string>> }).keys.find((k) => k.kid === header.kid);
  if (jwk === undefined) throw new Error(`the ID token's kid ${header.kid} is not in the JWKS of ${url}`);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const ok = verifySignature('sha256', Buffer.from(`${h}.${p}`), header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key, Buffer.from(s!, 'base64url'));
  if (!ok) throw new Error(`the ID token's signature does not verify with kid ${header.kid}`);
  return header.kid;
}

async function userinfo(url: string, accessToken: string): Promise<{ status: number; sub?: string }> {
  const res = await fetch(`${url}/oauth/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  const text = await res.text();
  return { status: res.status, ...(res.status === 200 ? { sub: (JSON.parse(text) as { sub: string }).sub } : {}) };
}

/** A prepared tenant with OAuth on, one confidential code-flow app and a person in its group. */
async function tenantWithApp(
  service: ServeProcess,
  tenant: PreparedTenant,
  people: Array<{ username: string; password: string }>,
  grantTypes: string[] = ['authorization_code'],
): Promise<{ app: RegisteredApp; ids: Record<string, string> }> {
  const ids: Record<string, string> = {};
  for (const p of people) {
    ids[p.username] = await addPerson(tenant.db, { tenant: tenant.tenant, username: p.username, password: p.password, member: ['platform'] });
    remember(`password of ${p.username}`, p.password);
  }
  await enableOAuth(service.url, tenant.adminToken);
  remember('service token (tenant security admin)', tenant.adminToken);
  for (const t of Object.values(tenant.groupAdminTokens)) remember('service token (group admin)', t);
  const app = await registerApp(service.url, tenant.groupAdminTokens.platform!, tenant.groups.platform!, {
    name: 'Payroll portal',
    callback_urls: [CALLBACK],
    grant_types: grantTypes,
  });
  remember('client secret', app.client_secret);
  return { app, ids };
}

function password(who: string): string {
  return `pw-${who}-${randomBytes(9).toString('base64url')}`;
}

// ---- (a) -------------------------------------------------------------------------------

describe.each(BACKENDS)('(a) keys and state in the database on %s: a restart', (backend: Backend) => {
  let dir: string;
  let tenant: PreparedTenant;
  let app: RegisteredApp;
  let ids: Record<string, string>;
  let service: ServeProcess;
  let port: number;
  let issuer: string;
  const ann = { username: 'ann', password: password('ann') };

  beforeAll(async () => {
    const fresh = await freshDatabase(backend);
    dir = fresh.dir;
    tenant = await prepareTenant({ db: fresh.db, groups: ['platform'] });
    port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    service = await start(`${backend} before the restart`, { db: fresh.db, port, issuer });
    ({ app, ids } = await tenantWithApp(service, tenant, [ann]));
  });

  afterAll(async () => {
    await service?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('tokens issued before the restart work after it on userinfo and /v1/me, a refresh token refreshes, a signed-in browser stays signed in, the JWKS is the same', async () => {
    const run = await runOidc(
      codeRequest({ issuer, client_id: app.client_id, client_secret: app.client_secret!, redirect_uri: CALLBACK, scope: 'openid offline_access', person: ann, return_tokens: true }),
    );
    expectOidcOk(run);
    const before = run.tokens!;
    remember('access token', before.access_token);
    remember('refresh token', before.refresh_token);
    const agent = new PersonAgent({ username: ann.username, password: ann.password, consent: 'allow' });
    const browserTokens = await signInWithCode(service.url, issuer, app, agent);
    remember('authorization code', browserTokens.code);
    remember('access token', browserTokens.access_token);
    remember('refresh token', browserTokens.refresh_token);
    rememberSession(agent);
    const kidsBefore = await jwksKids(service.url);
    expect(kidsBefore.length).toBeGreaterThan(0);
    expect(kidsBefore).toContain(await verifyIdToken(service.url, before.id_token!));

    await service.stop();
    expect(service.exited()).toBeDefined();
    service = await start(`${backend} after the restart`, { db: tenant.db, port, issuer });

    expect(await jwksKids(service.url)).toEqual(kidsBefore);
    // The ID token issued before still verifies against the keys served now.
    expect(kidsBefore).toContain(await verifyIdToken(service.url, before.id_token!));
    expect(await userinfo(service.url, before.access_token!)).toEqual({ status: 200, sub: ids.ann });
    const me = await serviceCall(service.url, 'GET', '/v1/me', before.access_token!);
    expect(me.status).toBe(200);
    expect(me.json).toEqual(expect.objectContaining({ user_id: ids.ann, username: 'ann', tenant_id: tenant.tenantId }));

    const refreshed = await clientPost(`${service.url}/oauth/token`, app, { grant_type: 'refresh_token', refresh_token: before.refresh_token! });
    expect(refreshed.status).toBe(200);
    remember('access token', refreshed.json.access_token);
    remember('refresh token', refreshed.json.refresh_token);
    expect(refreshed.json.access_token).not.toBe(before.access_token);
    expect(refreshed.json.refresh_token).not.toBe(before.refresh_token);
    expect((await serviceCall(service.url, 'GET', '/v1/me', refreshed.json.access_token)).status).toBe(200);
    // Rotation survives the restart too: the used refresh token is spent.
    const replay = await clientPost(`${service.url}/oauth/token`, app, { grant_type: 'refresh_token', refresh_token: before.refresh_token! });
    expect(replay.status).toBe(400);
    expect(replay.json.error).toBe('invalid_grant');

    // The browser's session (its cookies, signed with the stored cookie key) is still valid: no sign-in, no consent.
    const again = await signInWithCode(service.url, issuer, app, agent);
    remember('authorization code', again.code);
    remember('access token', again.access_token);
    remember('refresh token', again.refresh_token);
    expect(again.screens).toEqual([]);
    expect(await userinfo(service.url, browserTokens.access_token)).toEqual({ status: 200, sub: ids.ann });
  });
});

describe('(a) two instances on one PostgreSQL database', () => {
  let tenant: PreparedTenant;
  let app: RegisteredApp;
  let ids: Record<string, string>;
  let one: ServeProcess;
  let two: ServeProcess;
  let dir: string;
  const ben = { username: 'ben', password: password('ben') };

  beforeAll(async () => {
    const fresh = await freshDatabase('postgres');
    dir = fresh.dir;
    tenant = await prepareTenant({ db: fresh.db, groups: ['platform'] });
    // One issuer for both, as behind a load balancer: the second instance is told the first one's origin.
    one = await start('postgres instance 1', { db: fresh.db, issuer: (u) => u });
    two = await start('postgres instance 2', { db: fresh.db, issuer: one.issuer });
    ({ app, ids } = await tenantWithApp(one, tenant, [ben]));
  });

  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a token from instance 1 works on instance 2, a sign-in made on 1 is refreshed on 2, and both serve the same JWKS', async () => {
    expect(two.url).not.toBe(one.url);
    expect(await jwksKids(two.url)).toEqual(await jwksKids(one.url));
    const run = await runOidc(
      codeRequest({ issuer: one.issuer, client_id: app.client_id, client_secret: app.client_secret!, redirect_uri: CALLBACK, scope: 'openid offline_access', person: ben, return_tokens: true }),
    );
    expectOidcOk(run);
    const t = run.tokens!;
    remember('access token', t.access_token);
    remember('refresh token', t.refresh_token);
    await verifyIdToken(two.url, t.id_token!);

    expect(await userinfo(two.url, t.access_token!)).toEqual({ status: 200, sub: ids.ben });
    const me = await serviceCall(two.url, 'GET', '/v1/me', t.access_token!);
    expect(me.status).toBe(200);
    expect(me.json.username).toBe('ben');

    const refreshed = await clientPost(`${two.url}/oauth/token`, app, { grant_type: 'refresh_token', refresh_token: t.refresh_token! });
    expect(refreshed.status).toBe(200);
    remember('access token', refreshed.json.access_token);
    remember('refresh token', refreshed.json.refresh_token);
    // Tokens made on 2 work on 1; the refresh token made on 2 refreshes on 1.
    expect(await userinfo(one.url, refreshed.json.access_token)).toEqual({ status: 200, sub: ids.ben });
    expect((await serviceCall(one.url, 'GET', '/v1/me', refreshed.json.access_token)).status).toBe(200);
    const again = await clientPost(`${one.url}/oauth/token`, app, { grant_type: 'refresh_token', refresh_token: refreshed.json.refresh_token });
    expect(again.status).toBe(200);
    remember('access token', again.json.access_token);
    remember('refresh token', again.json.refresh_token);
    // The refresh token spent on 2 is spent on 1 as well.
    const replay = await clientPost(`${one.url}/oauth/token`, app, { grant_type: 'refresh_token', refresh_token: t.refresh_token! });
    expect(replay.status).toBe(400);
    expect(replay.json.error).toBe('invalid_grant');
  });
});

// ---- (b) (c) (d) on one SQLite service ---------------------------------------------------

describe('on SQLite: the screens, password guessing, and nothing stored in plain text', () => {
  let tenant: PreparedTenant;
  let service: ServeProcess;
  let app: RegisteredApp;
  let deviceApp: RegisteredApp;
  let publicApp: RegisteredApp;
  let ids: Record<string, string>;
  const people = Object.fromEntries(['cora', 'dina', 'eve', 'finn', 'gus', 'hal', 'ivy', 'jay'].map((u) => [u, { username: u, password: password(u) }]));

  beforeAll(async () => {
    tenant = await prepareTenant({ groups: ['platform'] });
    service = await start('sqlite (screens, guessing, storage)', { db: tenant.db });
    ({ app, ids } = await tenantWithApp(service, tenant, Object.values(people)));
    deviceApp = await registerApp(service.url, tenant.groupAdminTokens.platform!, tenant.groups.platform!, {
      name: 'Hall display',
      callback_urls: [CALLBACK],
      grant_types: ['device_code'],
    });
    remember('client secret', deviceApp.client_secret);
    publicApp = await registerApp(service.url, tenant.groupAdminTokens.platform!, tenant.groups.platform!, {
      name: 'Pocket app',
      callback_urls: [CALLBACK],
      grant_types: ['authorization_code'],
      public_client: true,
    });
  });

  afterAll(async () => {
    await service?.stop();
    removePrepared(tenant);
  });

  /** A browser on the sign-in page of a fresh authorization request; its interaction URL. */
  async function onSignInPage(): Promise<{ browser: Browser; visit: Visit; interaction: string }> {
    const browser = new Browser();
    const visit = await browser.open(authorizationRequest(service.issuer, app).url);
    expect(visit.status).toBe(200);
    const interaction = visit.url;
    expect(interaction).toMatch(new RegExp(`^${service.issuer}/oauth/interaction/[A-Za-z0-9_-]+$`));
    return { browser, visit, interaction };
  }

  function expectScreenHeaders(v: Visit): void {
    const csp = v.headers.get('content-security-policy') ?? '';
    const directives = csp.split(';').map((d) => d.trim());
    expect(directives).toContain("default-src 'none'");
    expect(directives).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|script-src/);
    expect(v.headers.get('x-frame-options')).toBe('DENY');
    expect(v.headers.get('cache-control')).toBe('no-store');
    expect(v.headers.get('content-type')).toMatch(/^text\/html/);
    expect(v.html).not.toMatch(/<script/i);
    expect(v.html).not.toMatch(/\son[a-z]+\s*=/i);
  }

  function isSignInForm(v: Visit): boolean {
    return v.page.forms.some((f) => findField(f, 'username') !== undefined && findField(f, 'password') !== undefined);
  }

  it('(c) the sign-in page: CSP default-src \'none\' and frame-ancestors \'none\', X-Frame-Options DENY, no-store, no script; "Username", "Password", "Sign in"', async () => {
    const { visit } = await onSignInPage();
    expectScreenHeaders(visit);
    expect(visit.page.title).toMatch(/Sign in/);
    expect(visit.page.text).toContain('Payroll portal');
    const form = visit.page.forms.find((f) => findField(f, 'username') !== undefined)!;
    expect(form.method).toBe('post');
    expect(new URL(form.action).origin).toBe(service.issuer);
    const username = findField(form, 'username')!;
    const pw = findField(form, 'password')!;
    expect({ type: username.type, label: username.label }).toEqual({ type: 'text', label: 'Username' });
    expect({ type: pw.type, label: pw.label, value: pw.value }).toEqual({ type: 'password', label: 'Password', value: '' });
    expect(findButton(form, 'Sign in')).toBeDefined();
    expect(findField(form, 'csrf')?.type).toBe('hidden');
  });

  it('(c) a sign-in POST without the csrf field, or with a wrong one, gets 403 and signs nobody in', async () => {
    const { browser, visit, interaction } = await onSignInPage();
    const csrf = hidden(visit.page, 'csrf');
    remember('csrf token', csrf);
    const right = { username: 'cora', password: people.cora!.password };
    const missing = await browser.request(`${interaction}/login`, right);
    expect(missing.status).toBe(403);
    expect(missing.location).toBeUndefined();
    expectScreenHeaders(missing);
    const wrong = await browser.request(`${interaction}/login`, { ...right, csrf: `${csrf.slice(0, -2)}xx` });
    expect(wrong.status).toBe(403);
    expect(wrong.location).toBeUndefined();
    const otherSign = await browser.request(`${interaction}/login`, { ...right, csrf: randomBytes(32).toString('base64url') });
    expect(otherSign.status).toBe(403);
    // Nobody is signed in: the interaction still asks for the sign-in form.
    const after = await browser.request(interaction);
    expect(after.status).toBe(200);
    expect(isSignInForm(after)).toBe(true);
    // And the right form does sign in (so the 403s were the csrf field, nothing else).
    const ok = await browser.request(`${interaction}/login`, { ...right, csrf: hidden(after.page, 'csrf') });
    expect(ok.status).toBe(303);
  });

  it('(c) signing out: the end-session page asks first ("Sign out"), with the screens\' headers; after it the next sign-in shows the sign-in form again', async () => {
    const { browser, visit, interaction } = await onSignInPage();
    const signedIn = await browser.request(`${interaction}/login`, { csrf: hidden(visit.page, 'csrf'), username: 'hal', password: people.hal!.password });
    expect(signedIn.status).toBe(303);
    // The session cookie is set when the authorization resumes (it then asks for consent).
    await browser.follow(signedIn, service.issuer);
    expect(browser.jar.matching().map((c) => c.name)).toContain('appreg_session');
    // Signed in: a new authorization request does not ask for the password.
    expect(isSignInForm(await browser.open(authorizationRequest(service.issuer, app).url))).toBe(false);

    const ask = await browser.open(`${service.issuer}/oauth/logout`);
    expect(ask.status).toBe(200);
    expectScreenHeaders(ask);
    const form = ask.page.forms[0]!;
    const signOut = findButton(form, 'Sign out');
    expect(signOut).toBeDefined();
    expect(findButton(form, 'Stay signed in')).toBeDefined();
    expect(signOut!.name).toBe('logout');
    const done = await browser.follow(
      await browser.request(form.action, { xsrf: hidden(ask.page, 'xsrf'), logout: signOut!.value }),
      service.issuer,
    );
    expect(done.status).toBe(200);
    expect(done.page.text).toContain('You are signed out');
    expectScreenHeaders(done);
    // Signed out: the next authorization request asks for the username and password again.
    expect(isSignInForm(await browser.open(authorizationRequest(service.issuer, app).url))).toBe(true);
  });

  it('(c) a sign-in POST from another browser (no interaction cookie) is refused, and signs nobody in', async () => {
    const { browser, visit, interaction } = await onSignInPage();
    const csrf = hidden(visit.page, 'csrf');
    const stranger = new Browser();
    const answer = await stranger.request(`${interaction}/login`, { csrf, username: 'dina', password: people.dina!.password });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.location).toBeUndefined();
    expect(isSignInForm(answer)).toBe(false);
    expect(stranger.jar.matching().map((c) => c.name)).not.toContain('appreg_session');
    // The stranger cannot continue the interaction either.
    const look = await stranger.request(interaction);
    expect(look.status).toBeGreaterThanOrEqual(400);
    expect(isSignInForm(look)).toBe(false);
    // The person's own browser is still on the sign-in form.
    const own = await browser.request(interaction);
    expect(isSignInForm(own)).toBe(true);
  });

  it('(c) the consent page names the app and its owning group, with Allow and Deny posting decision (and a csrf field)', async () => {
    const { browser, visit, interaction } = await onSignInPage();
    const signedIn = await browser.request(`${interaction}/login`, { csrf: hidden(visit.page, 'csrf'), username: 'eve', password: people.eve!.password });
    expect(signedIn.status).toBe(303);
    const consent = await browser.follow(signedIn, service.issuer);
    expect(consent.status).toBe(200);
    expectScreenHeaders(consent);
    // After sign-in, forms may end at the app's callback (form-action names its origin).
    expect(consent.headers.get('content-security-policy')).toMatch(/form-action 'self' http:\/\/127\.0\.0\.1:9(;|$)/);
    expect(consent.page.title).toMatch(/Allow access/);
    expect(consent.page.text).toContain('Payroll portal');
    expect(consent.page.text).toMatch(/registered by the group\s+platform/);
    const form = consent.page.forms.find((f) => findButton(f, 'Allow') !== undefined)!;
    expect(form.method).toBe('post');
    const allow = findButton(form, 'Allow')!;
    const deny = findButton(form, 'Deny')!;
    expect({ name: allow.name, value: allow.value }).toEqual({ name: 'decision', value: 'allow' });
    expect({ name: deny.name, value: deny.value }).toEqual({ name: 'decision', value: 'deny' });
    const csrf = hidden(consent.page, 'csrf');
    // Consent without the csrf field is refused as well.
    const forged = await browser.request(form.action, { decision: 'allow' });
    expect(forged.status).toBe(403);
    const allowed = await browser.request(form.action, { csrf, decision: 'allow' });
    const end = await browser.follow(allowed, service.issuer);
    expect(end.location).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?code=/);
    remember('authorization code', new URL(end.location!).searchParams.get('code'));
  });

  /** One wrong-password attempt for `username` at the sign-in form: its status. */
  async function guess(browser: Browser, interaction: string, csrf: string, username: string, n: number): Promise<Visit> {
    const wrongPassword = `wrong-${n}-${randomBytes(6).toString('base64url')}`;
    remember('wrong password', wrongPassword);
    return browser.request(`${interaction}/login`, { csrf, username, password: wrongPassword });
  }

  it('(d) after 10 wrong passwords for a username, the 11th attempt, even with the right password, gets 429 with Retry-After and the message on the form; another username still signs in', async () => {
    const { browser, visit, interaction } = await onSignInPage();
    const csrf = hidden(visit.page, 'csrf');
    // Sent together, so that all ten fall in the same few seconds whatever the machine's speed (see the next test for slower ones).
    const wrong = await Promise.all(Array.from({ length: 10 }, (_, i) => guess(browser, interaction, csrf, 'finn', i)));
    expect(wrong.map((r) => r.status)).toEqual(Array(10).fill(401));
    for (const r of wrong) expect(r.page.text).toContain('Wrong username or password');
    const eleventh = await browser.request(`${interaction}/login`, { csrf, username: 'finn', password: people.finn!.password });
    expect(eleventh.status).toBe(429);
    expect(eleventh.location).toBeUndefined();
    const retryAfter = eleventh.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    expect(isSignInForm(eleventh)).toBe(true);
    expect(eleventh.page.text).toMatch(/Too many failed sign-ins for this username\. Wait \d+ seconds/);
    expectScreenHeaders(eleventh);
    // The same username in other letter case is the same username.
    const upper = await browser.request(`${interaction}/login`, { csrf, username: 'FINN', password: people.finn!.password });
    expect(upper.status).toBe(429);
    // Another username is not affected, in the same browser and interaction.
    const other = await browser.request(`${interaction}/login`, { csrf, username: 'gus', password: people.gus!.password });
    expect(other.status).toBe(303);
  });

  it('(d) the limit is per minute: 10 wrong passwords one after the other over 15 s, and the 11th attempt is still refused (429)', async () => {
    const { browser, visit, interaction } = await onSignInPage();
    const csrf = hidden(visit.page, 'csrf');
    const began = Date.now();
    for (let i = 0; i < 10; i++) {
      const r = await guess(browser, interaction, csrf, 'ivy', i);
      expect({ attempt: i + 1, status: r.status }).toEqual({ attempt: i + 1, status: 401 });
      // A person retyping: about one attempt every 1.5 s, all ten well within the minute.
      const due = began + (i + 1) * 1500;
      if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const elapsed = Date.now() - began;
    expect(elapsed).toBeLessThan(40_000);
    const eleventh = await browser.request(`${interaction}/login`, { csrf, username: 'ivy', password: people.ivy!.password });
    expect({ eleventh: eleventh.status, after_ms: elapsed }).toEqual({ eleventh: 429, after_ms: elapsed });
  });

  it('(d) guesses sent at once are limited too: of 25 wrong passwords sent together for one username, at most 10 are checked, the rest get 429', async () => {
    const { browser, visit, interaction } = await onSignInPage();
    const csrf = hidden(visit.page, 'csrf');
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => guess(browser, interaction, csrf, 'jay', i)));
    const counts = { checked_401: answers.filter((a) => a.status === 401).length, refused_429: answers.filter((a) => a.status === 429).length };
    expect(counts.checked_401 + counts.refused_429).toBe(25);
    // A limit of 10 failures lets at most 10 passwords be checked, however the guesses arrive.
    expect({ ...counts, at_most_10_checked: counts.checked_401 <= 10 }).toEqual({ ...counts, at_most_10_checked: true });
  });

  it('(b) after code, refresh and device sign-ins, no token, code, secret or password is in any column of any table, nor in the database file', async () => {
    // A code flow by the confidential app, a refresh, a code flow by the public app, a device flow.
    const hal = new PersonAgent({ username: 'hal', password: people.hal!.password, consent: 'allow' });
    const code = await signInWithCode(service.url, service.issuer, app, hal);
    remember('authorization code', code.code);
    remember('access token', code.access_token);
    remember('refresh token', code.refresh_token);
    rememberSession(hal);
    const refreshed = await clientPost(`${service.url}/oauth/token`, app, { grant_type: 'refresh_token', refresh_token: code.refresh_token });
    expect(refreshed.status).toBe(200);
    remember('access token', refreshed.json.access_token);
    remember('refresh token', refreshed.json.refresh_token);

    const pub = await signInWithCode(service.url, service.issuer, publicApp, new PersonAgent({ username: 'gus', password: people.gus!.password }));
    remember('authorization code', pub.code);
    remember('access token', pub.access_token);
    remember('refresh token', pub.refresh_token);

    const started = await clientPost(`${service.url}/oauth/device/auth`, deviceApp, { scope: 'openid' });
    expect(started.status).toBe(200);
    remember('device code', started.json.device_code);
    remember('user code', started.json.user_code);
    remember('user code (as stored, without the dash)', String(started.json.user_code).replace(/-/g, ''));
    const device = await new PersonAgent({ username: 'hal', password: people.hal!.password }).completeDevice(started.json.verification_uri_complete, started.json.user_code);
    expect(device.connected).toBe(true);
    const deviceTokens = await clientPost(`${service.url}/oauth/token`, deviceApp, { grant_type: DEVICE_GRANT, device_code: started.json.device_code });
    expect(deviceTokens.status).toBe(200);
    remember('access token', deviceTokens.json.access_token);
    // The tokens are live (so their rows are in the database now).
    expect((await serviceCall(service.url, 'GET', '/v1/me', deviceTokens.json.access_token)).json.user_id).toBe(ids.hal);

    // Every row of every table, while the service runs (WAL included, as SQLite reads it).
    const dump = (): { text: string; tables: string[] } => {
      const db = new Database(tenant.db, { readonly: true, fileMustExist: true });
      try {
        const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
        const parts: string[] = [];
        for (const t of tables) {
          for (const row of db.prepare(`SELECT * FROM "${t.replace(/"/g, '""')}"`).all() as Array<Record<string, unknown>>) {
            for (const [col, v] of Object.entries(row)) {
              const text = Buffer.isBuffer(v) ? `${v.toString('utf8')} ${v.toString('hex')}` : String(v);
              parts.push(`${t}.${col}=${text}`);
            }
          }
        }
        return { text: parts.join('\n'), tables };
      } finally {
        db.close();
      }
    };
    const live = dump();
    // The dump reads what the service wrote (else finding nothing would prove nothing).
    expect(live.tables).toEqual(expect.arrayContaining(['oidc_store', 'users', 'apps']));
    expect(live.text).toContain(app.client_id);
    expect(live.text).toContain(`users.username=hal`);
    expect(live.text).toMatch(/oidc_store\.kind=AccessToken/);
    expect(leaked(live.text)).toEqual([]);

    await service.stop();
    // The raw bytes too, after the stop (SQLite checkpoints its WAL then): every file in the database's folder.
    const folder = path.dirname(tenant.db);
    const files = fs.readdirSync(folder).filter((n) => fs.statSync(path.join(folder, n)).isFile());
    expect(files).toContain(path.basename(tenant.db));
    for (const f of files) {
      expect({ file: f, leaked: leaked(fs.readFileSync(path.join(folder, f))) }).toEqual({ file: f, leaked: [] });
    }
    expect(leaked(dump().text)).toEqual([]);
  });
});

// ---- (e) ------------------------------------------------------------------------------

describe('(e) the log', () => {
  it('of every service started in this file holds no password, token, code or secret seen here', () => {
    expect(services.length).toBeGreaterThanOrEqual(4);
    const labels = [...seen.keys()];
    // What this file saw covers every kind it promises to look for.
    for (const kind of ['password of', 'wrong password', 'access token', 'refresh token', 'authorization code', 'device code', 'user code', 'client secret', 'service token']) {
      expect(labels.some((l) => l.startsWith(kind))).toBe(true);
    }
    const found = services.map((s) => ({ service: s.name, leaked: leaked(s.proc.logs()) })).filter((s) => s.leaked.length > 0);
    expect(found).toEqual([]);
    // The logs are there (a service that logged nothing would pass the check above for nothing).
    for (const s of services) expect(s.proc.logs()).toMatch(/"path":"\/oauth\//);
  });
});
