/**
 * The device authorization grant (RFC 8628) end to end, on SQLite and on
 * PostgreSQL, against `appreg serve` run as an operator runs it (a child
 * process), with a real OpenID Connect client (openid-client 6, in the
 * driver process) and a headless person answering the screens.
 *
 * What it proves (DOMAIN.md, "People and sign-in"):
 * - a confidential and a public device client get `authorization_pending`
 *   until the person acts; the person goes Code page → confirmation →
 *   sign-in → consent and ends on a page saying the device is connected;
 *   the device's tokens then work on userinfo and on `GET /v1/me`;
 * - `verification_uri_complete` opens the Code page with the code filled
 *   in: no script in the page, and the screens' Content-Security-Policy;
 * - Deny gives the device `access_denied`; a wrong code shows the Code page
 *   again with an error;
 * - while the tenant uses SSO (`appreg admin tenant set --sso true`) the
 *   device authorization request is refused at once (`unauthorized_client`),
 *   a flow started before gets no tokens, and `--sso false` makes the grant
 *   work again; an app registered without `device_code` is refused the same;
 * - consent is asked once per person and app: the same person's second
 *   device sign-in shows no consent screen.
 *
 * The code flow and its refusals are test/server/signin.test.ts's.
 */
import * as fs from 'node:fs';
import { PersonAgent, findButton, findField, parseHtml } from '../../scripts/lib/person-agent';
import { runAppreg } from '../support/appreg-cli';
import { deviceRequest, expectOidcError, expectOidcOk, runOidc, type OidcRun } from '../support/oidc-client';
import {
  addPerson,
  enableOAuth,
  prepareTenant,
  registerApp,
  serviceCall,
  startServeProcess,
  type PreparedTenant,
  type RegisteredApp,
  type ServeProcess,
} from '../support/serve-process';
import { BACKENDS, freshDatabase, type Backend } from './harness';

jest.setTimeout(180_000);

/** A password of the people here (at least 12 characters, never a word). */
const PASSWORD = 'device-test-Pw-7341';
const CALLBACK = 'http://127.0.0.1:9/callback';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** A form POST (application/x-www-form-urlencoded) to the service, with client_secret_basic when a secret is given. */
async function formPost(url: string, form: Record<string, string>, client?: { id: string; secret?: string }): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const body = new URLSearchParams(form);
  if (client?.secret !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
  } else if (client !== undefined) {
    body.set('client_id', client.id);
  }
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = { text };
  }
  return { status: res.status, json, headers: res.headers };
}

/** The client of an app as {@link formPost} takes it. */
function clientOf(app: RegisteredApp): { id: string; secret?: string } {
  return { id: app.client_id, ...(app.client_secret !== undefined ? { secret: app.client_secret } : {}) };
}

describe.each(BACKENDS)('the device grant on %s', (backend: Backend) => {
  let dir: string;
  let db: string;
  let tenant: PreparedTenant;
  /** A second tenant, whose SSO switch the SSO tests flip (so the other tests never see it on). */
  let ssoTenant: PreparedTenant;
  let service: ServeProcess;
  const ids: Record<string, string> = {};
  /** Device-only confidential app, device-only public app, code-only app. */
  let tv: RegisteredApp;
  let tvPublic: RegisteredApp;
  let web: RegisteredApp;
  /** In the SSO tenant: a device app and one with both grants. */
  let ssoTv: RegisteredApp;
  let ssoBoth: RegisteredApp;

  const person = (username: string, consent: 'allow' | 'deny' = 'allow') => ({ username, password: PASSWORD, consent });

  beforeAll(async () => {
    ({ db, dir } = await freshDatabase(backend));
    tenant = await prepareTenant({ db, tenant: 'acme', groups: ['platform'] });
    ssoTenant = await prepareTenant({ db, tenant: 'ssocorp', groups: ['devices'] });
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      ids[name] = await addPerson(db, { tenant: 'acme', username: name, password: PASSWORD, member: ['platform'] });
    }
    ids.sam = await addPerson(db, { tenant: 'ssocorp', username: 'sam', password: PASSWORD, member: ['devices'] });
    service = await startServeProcess({ db });
    await enableOAuth(service.url, tenant.adminToken);
    await enableOAuth(service.url, ssoTenant.adminToken);
    const reg = (t: PreparedTenant, group: string, name: string, more: { grant_types: string[]; public_client?: boolean }) =>
      registerApp(service.url, t.groupAdminTokens[group]!, t.groups[group]!, { name, callback_urls: [CALLBACK], ...more });
    tv = await reg(tenant, 'platform', 'Living room TV', { grant_types: ['device_code'] });
    tvPublic = await reg(tenant, 'platform', 'Kitchen display', { grant_types: ['device_code'], public_client: true });
    web = await reg(tenant, 'platform', 'Web dashboard', { grant_types: ['authorization_code'] });
    ssoTv = await reg(ssoTenant, 'devices', 'Lobby screen', { grant_types: ['device_code'] });
    ssoBoth = await reg(ssoTenant, 'devices', 'Kiosk', { grant_types: ['authorization_code', 'device_code'] });
    expect(tv.client_secret).toEqual(expect.any(String));
    expect(tvPublic.client_secret).toBeUndefined();
  });

  afterAll(async () => {
    await service?.stop();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Sets the SSO tenant's switch as an operator does. */
  async function setSso(on: boolean): Promise<void> {
    const run = await runAppreg(['admin', 'tenant', 'set', '--db', db, '--tenant', 'ssocorp', '--sso', String(on)]);
    if (run.code !== 0) throw new Error(`appreg admin tenant set --sso ${on} failed (${run.code}): ${run.stderr}`);
    expect(JSON.parse(run.stdout)).toEqual({ tenant_id: ssoTenant.tenantId, sso_enabled: on });
  }

  /** The checks every successful device sign-in passes: connected page, the person's tokens on userinfo and /v1/me. */
  function expectSignedIn(run: OidcRun, who: string, groupName: string, groupId: string): void {
    expectOidcOk(run);
    expect(run.device).toEqual(
      expect.objectContaining({ verification_uri: `${service.issuer}/oauth/device`, verification_uri_complete_present: true, expires_in: expect.any(Number) }),
    );
    expect(run.device_page?.connected).toBe(true);
    expect(run.device_page?.title).toMatch(/connected/i);
    expect(run.device_page?.text).toMatch(/Your device is connected/);
    expect(run.tokens).toEqual(expect.objectContaining({ access_token_present: true, access_token_format: 'opaque', id_token_present: true, expires_in: expect.any(Number) }));
    expect(run.tokens!.expires_in!).toBeLessThanOrEqual(600);
    expect(run.tokens?.id_token_claims?.sub).toBe(ids[who]);
    expect(run.userinfo?.sub).toBe(ids[who]);
    expect(run.api?.status).toBe(200);
    expect(run.api?.json).toEqual({
      user_id: ids[who],
      username: who,
      tenant_id: expect.any(String),
      groups: [{ id: groupId, name: groupName, role: 'member' }],
    });
  }

  const signedInSteps = [{ do: 'userinfo' as const }, { do: 'call_api' as const, path: '/v1/me' }];

  it('a confidential device client: authorization_pending until the person acts; Code → confirmation → sign-in → consent → connected; the tokens work on userinfo and /v1/me', async () => {
    const run = await runOidc(
      deviceRequest({ issuer: service.issuer, client_id: tv.client_id, client_secret: tv.client_secret!, person: person('alice'), pending_check: true, steps: signedInSteps }),
    );
    expectSignedIn(run, 'alice', 'platform', tenant.groups.platform!);
    expect(run.pending_check).toEqual({ error: 'authorization_pending', status: 400 });
    expect(run.screens).toEqual(['device-code', 'device-confirm', 'sign-in', 'consent']);
    expect((run.api?.json as { tenant_id?: string }).tenant_id).toBe(tenant.tenantId);
    // The confirmation names the app, so the person can check what they connect.
    expect(run.person_steps.join('\n')).toMatch(/device: confirmation, "Continue"/);
  });

  it('a public device client (no secret): the same', async () => {
    const run = await runOidc(deviceRequest({ issuer: service.issuer, client_id: tvPublic.client_id, person: person('bob'), pending_check: true, steps: signedInSteps }));
    expectSignedIn(run, 'bob', 'platform', tenant.groups.platform!);
    expect(run.pending_check?.error).toBe('authorization_pending');
    expect(run.screens).toEqual(['device-code', 'device-confirm', 'sign-in', 'consent']);
  });

  it('a confidential device client that sends no secret is refused (invalid_client) before any code is issued', async () => {
    const answer = await formPost(`${service.url}/oauth/device/auth`, { scope: 'openid' }, { id: tv.client_id });
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe('invalid_client');
    expect(answer.json.device_code).toBeUndefined();
  });

  it('consent is asked once per person and app: the second device sign-in of the same person shows no consent screen', async () => {
    const first = await runOidc(deviceRequest({ issuer: service.issuer, client_id: tv.client_id, client_secret: tv.client_secret!, person: person('carol'), steps: signedInSteps }));
    expectSignedIn(first, 'carol', 'platform', tenant.groups.platform!);
    expect(first.screens).toEqual(['device-code', 'device-confirm', 'sign-in', 'consent']);
    // A new device, a new browser (the driver's person keeps no cookies between runs): sign-in again, no consent.
    const second = await runOidc(deviceRequest({ issuer: service.issuer, client_id: tv.client_id, client_secret: tv.client_secret!, person: person('carol'), steps: signedInSteps }));
    expectSignedIn(second, 'carol', 'platform', tenant.groups.platform!);
    expect(second.screens).toEqual(['device-code', 'device-confirm', 'sign-in']);
    // Per app: another app still asks the same person.
    const other = await runOidc(deviceRequest({ issuer: service.issuer, client_id: tvPublic.client_id, person: person('carol') }));
    expectOidcOk(other);
    expect(other.screens).toEqual(['device-code', 'device-confirm', 'sign-in', 'consent']);
  });

  it('verification_uri_complete opens the Code page with the code filled in: no script, the screens\' Content-Security-Policy; continuing connects the device', async () => {
    const started = await formPost(`${service.url}/oauth/device/auth`, { scope: 'openid' }, clientOf(tv));
    expect(started.status).toBe(200);
    const { device_code: deviceCode, user_code: userCode, verification_uri: verificationUri, verification_uri_complete: complete } = started.json as Record<string, string>;
    expect(verificationUri).toBe(`${service.issuer}/oauth/device`);
    expect(new URL(complete!).searchParams.get('user_code')).toBe(userCode);

    const res = await fetch(complete!, { redirect: 'manual', headers: { accept: 'text/html' } });
    const html = await res.text();
    expect(res.status).toBe(200);
    // Every expectation on the page at once, so one failure does not hide the others.
    const problems: string[] = [];
    if (/<script/i.test(html)) problems.push('the page has a <script>');
    const csp = res.headers.get('content-security-policy');
    if (csp === null) problems.push('no Content-Security-Policy header');
    else {
      if (!csp.includes("default-src 'none'")) problems.push(`CSP without default-src 'none': ${csp}`);
      if (!csp.includes("frame-ancestors 'none'")) problems.push(`CSP without frame-ancestors 'none': ${csp}`);
      if (/script-src/.test(csp)) problems.push(`CSP allows scripts: ${csp}`);
    }
    if (res.headers.get('x-frame-options') !== 'DENY') problems.push(`X-Frame-Options is ${res.headers.get('x-frame-options')}`);
    if (res.headers.get('cache-control') !== 'no-store') problems.push(`Cache-Control is ${res.headers.get('cache-control')}`);
    const page = parseHtml(html, complete!);
    if (!/Connect a device/.test(page.title)) problems.push(`the page is "${page.title}", not the Code page`);
    const form = page.forms.find((f) => findField(f, 'user_code') !== undefined);
    const field = form === undefined ? undefined : findField(form, 'user_code');
    if (field === undefined) problems.push('no user_code field');
    else {
      if (field.type !== 'text') problems.push(`the user_code field is type=${field.type}, not a field the person sees`);
      if (field.label !== 'Code') problems.push(`the user_code field's label is "${field.label}", not "Code"`);
      if (field.value !== userCode) problems.push('the user_code field does not hold the code');
    }
    if (form === undefined || findButton(form, 'Continue') === undefined) problems.push('no "Continue" button');

    // The person continues with the code the page shows (a new browser, which types it where the Code page asks).
    const dave = new PersonAgent({ username: 'dave', password: PASSWORD, consent: 'allow' });
    const outcome = await dave.completeDevice(complete!, userCode);
    expect(outcome.connected).toBe(true);
    expect(outcome.screens.slice(-2)).toEqual(['sign-in', 'consent']);
    const tokens = await formPost(`${service.url}/oauth/token`, { grant_type: DEVICE_GRANT, device_code: deviceCode! }, clientOf(tv));
    expect(tokens.status).toBe(200);
    const me = await serviceCall(service.url, 'GET', '/v1/me', tokens.json.access_token);
    expect(me.status).toBe(200);
    expect(me.json.username).toBe('dave');
    expect(problems).toEqual([]);
  });

  it('Deny on the consent screen: the device gets access_denied', async () => {
    const run = await runOidc(deviceRequest({ issuer: service.issuer, client_id: tv.client_id, client_secret: tv.client_secret!, person: person('erin', 'deny') }));
    const e = expectOidcError(run, 'access_denied', 'token');
    expect(e.status).toBe(400);
    expect(run.screens).toEqual(['device-code', 'device-confirm', 'sign-in', 'consent']);
    expect(run.device_page?.connected).toBe(false);
    expect(run.tokens).toBeUndefined();
    // Denying is not remembered as consent: the next sign-in of erin asks again.
    const again = await runOidc(deviceRequest({ issuer: service.issuer, client_id: tv.client_id, client_secret: tv.client_secret!, person: person('erin') }));
    expectOidcOk(again);
    expect(again.screens).toEqual(['device-code', 'device-confirm', 'sign-in', 'consent']);
  });

  it('a wrong code shows the Code page again with an error, and the device stays pending', async () => {
    const run = await runOidc(
      deviceRequest({ issuer: service.issuer, client_id: tv.client_id, client_secret: tv.client_secret!, person: person('alice'), user_code_override: 'BCDF-GHJK' }),
    );
    // The driver's one token request after the page was authorization_pending, so it reports the page.
    const e = expectOidcError(run, 'page', 'device_page');
    expect(run.screens).toEqual(['device-code']);
    expect(e.page?.title).toMatch(/Connect a device/);
    expect(e.page?.text).toMatch(/That code is not valid or has expired/);
    expect(e.page?.text).toMatch(/\nCode\n/);
    expect(run.device_page?.connected).toBe(false);
    expect(run.person_steps.join('\n')).not.toMatch(/sign-in: "Sign in"/);
  });

  it('an app registered without device_code in grant_types is refused at the device authorization request (unauthorized_client)', async () => {
    const run = await runOidc(deviceRequest({ issuer: service.issuer, client_id: web.client_id, client_secret: web.client_secret!, person: person('alice') }));
    expect(run.person_steps).toEqual([]);
    expect(run.device).toBeUndefined();
    const e = expectOidcError(run, 'unauthorized_client', 'device_authorization');
    expect(e.status).toBe(400);
  });

  it('under SSO the device authorization request is refused at once (unauthorized_client), for a device-only app and one with both grants', async () => {
    await setSso(true);
    try {
      for (const app of [ssoTv, ssoBoth]) {
        const run = await runOidc(deviceRequest({ issuer: service.issuer, client_id: app.client_id, client_secret: app.client_secret!, person: person('sam') }));
        expect(run.person_steps).toEqual([]);
        expect(run.device).toBeUndefined();
        expect(expectOidcError(run, 'unauthorized_client', 'device_authorization').status).toBe(400);
      }
    } finally {
      await setSso(false);
    }
  });

  it('a device flow started before SSO was switched on gets no tokens once it is on, and the person is not told it is connected', async () => {
    const started = await formPost(`${service.url}/oauth/device/auth`, { scope: 'openid' }, clientOf(ssoTv));
    expect(started.status).toBe(200);
    await setSso(true);
    try {
      const sam = new PersonAgent({ username: 'sam', password: PASSWORD, consent: 'allow' });
      const outcome = await sam.completeDevice(started.json.verification_uri, started.json.user_code);
      const tokens = await formPost(`${service.url}/oauth/token`, { grant_type: DEVICE_GRANT, device_code: started.json.device_code }, clientOf(ssoTv));
      // Every expectation at once, so one failure does not hide the others.
      const problems: string[] = [];
      if (tokens.status !== 400 || tokens.json.access_token !== undefined) problems.push(`the token request answered ${tokens.status} with ${Object.keys(tokens.json).join(', ')}`);
      if (tokens.json.error !== 'unauthorized_client') problems.push(`the token request's error is ${tokens.json.error} (${tokens.json.error_description}), not unauthorized_client`);
      if (outcome.connected) problems.push(`the person's page says the device is connected: "${outcome.page.text.replace(/\n/g, ' ')}"`);
      expect(problems).toEqual([]);
    } finally {
      await setSso(false);
    }
  });

  it('switching SSO off makes the device grant work again', async () => {
    await setSso(true);
    await setSso(false);
    const run = await runOidc(deviceRequest({ issuer: service.issuer, client_id: ssoTv.client_id, client_secret: ssoTv.client_secret!, person: person('sam'), steps: signedInSteps }));
    expectSignedIn(run, 'sam', 'devices', ssoTenant.groups.devices!);
  });
});
