/**
 * Signing people in, end to end (DOMAIN.md "People and sign-in"): a real
 * OpenID Connect client (openid-client 6, through test/support/oidc-client.ts)
 * and a headless person (scripts/lib/person-agent.ts) against `appreg serve`
 * over real HTTP, on SQLite and on PostgreSQL.
 *
 * What it proves, as an app and a person would notice it:
 * - code + PKCE works for a confidential client (client_secret_basic and
 *   client_secret_post) and for a public one; the ID token names the issuer,
 *   the app (aud = client_id) and the person (sub = usr_…); refresh gives a
 *   working access token and the old refresh token stops working; userinfo
 *   and GET /v1/me describe the person; a revoked access token stops working;
 *   access tokens live at most 10 minutes.
 * - a person's token carries the person's rights on /v1 (a member reads, a
 *   group admin registers, and the audit names the person, not a token).
 * - who may sign in to an organization-scoped app follows consent, and
 *   withdrawing consent cuts off new sign-ins, refresh and API calls at once.
 * - every refusal gives the client the error DOMAIN.md promises, where the
 *   client sees it (the redirect URI, an error page, the token endpoint).
 * - nothing secret (tokens, client secrets, codes, passwords) reaches the
 *   service's log or the audit log, while the audit records the sign-ins.
 *
 * Why a child process: the provider is oidc-provider 9 and the client
 * openid-client 6, both ES modules that jest 29 cannot load. So the service
 * runs as `bin/appreg serve` (startServeProcess), exactly as an operator runs
 * it, and the client runs in the compiled driver (runOidc). Jest itself only
 * prepares databases, makes plain HTTP calls, and drives one sign-in by hand
 * (PersonAgent, plain CommonJS) to see an authorization code.
 *
 * Needs dist/ and bin/ (`npx tsc -p tsconfig.json`); an acceptance test.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import Sqlite from 'better-sqlite3';
import { Client as PgClient } from 'pg';
import { PersonAgent } from '../../scripts/lib/person-agent';
import {
  codeRequest,
  type CodeFlowRequest,
  expectOidcError,
  expectOidcOk,
  type OidcRun,
  runOidc,
  type TokenSummary,
} from '../support/oidc-client';
import {
  addPerson,
  addPersonWithCli,
  enableOAuth,
  type PreparedTenant,
  prepareTenant,
  type RegisteredApp,
  registerApp,
  type ServeProcess,
  serviceCall,
  startServeProcess,
} from '../support/serve-process';
import { type Backend, BACKENDS, freshDatabase } from './harness';

jest.setTimeout(120_000);

/** Where the apps say they receive the authorization response; the person never fetches it. */
const CALLBACK = 'https://app.example.com/callback';
const OTHER_CALLBACK = 'https://attacker.example.net/callback';

/** A password of its own per person and run, so a search for it in logs finds nothing by chance. */
function newPassword(): string {
  return `pw-${randomBytes(12).toString('base64url')}`;
}

/** Hex SHA-256: what the service stores for a client secret. */
function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

interface Person {
  username: string;
  password: string;
  id: string;
}

/** A token endpoint answer seen from jest. */
interface TokenAnswer {
  status: number;
  json: Record<string, unknown>;
}

describe.each(BACKENDS)('sign-in end to end on %s', (backend: Backend) => {
  let dir: string;
  let tenant: PreparedTenant;
  let svc: ServeProcess;
  let tokenEndpoint: string;
  let authorizationEndpoint: string;

  /** group platform (A): alice member, gina admin; partners (B): bob; outsiders (C): carol. */
  const people: Record<'alice' | 'gina' | 'bob' | 'carol', Person> = {
    alice: { username: 'alice', password: newPassword(), id: '' },
    gina: { username: 'gina', password: newPassword(), id: '' },
    bob: { username: 'bob', password: newPassword(), id: '' },
    carol: { username: 'carol', password: newPassword(), id: '' },
  };

  /** Confidential, group-scoped, in platform. */
  let conf: RegisteredApp;
  /** Public client (no secret, PKCE required), in platform. */
  let pub: RegisteredApp;
  /** Confidential with require_pkce, in platform. */
  let strict: RegisteredApp;
  /** Confidential, organization-scoped, in platform. */
  let org: RegisteredApp;

  /** Every secret value this suite saw (tokens, client secrets, codes, passwords), with what it is. */
  const seen = new Map<string, string>();
  const remember = (value: string | undefined, what: string): void => {
    if (value !== undefined && value !== '') seen.set(value, what);
  };
  const rememberTokens = (t: TokenSummary | undefined, what: string): void => {
    remember(t?.access_token, `${what} access token`);
    remember(t?.refresh_token, `${what} refresh token`);
  };

  /** A code flow for `person` to `app` (a confidential app's secret unless overridden); tokens returned and remembered. */
  async function signIn(app: RegisteredApp, person: Pick<Person, 'username' | 'password'>, over: Partial<CodeFlowRequest> = {}): Promise<OidcRun> {
    const run = await runOidc(
      codeRequest({
        issuer: svc.issuer,
        client_id: app.client_id,
        redirect_uri: CALLBACK,
        person: { username: person.username, password: person.password },
        ...(app.client_secret !== undefined ? { client_secret: app.client_secret } : {}),
        return_tokens: true,
        ...over,
      }),
    );
    rememberTokens(run.tokens, `${person.username}@${app.name}`);
    for (const s of run.steps) rememberTokens(s.tokens, `${person.username}@${app.name} (${s.do})`);
    return run;
  }

  /** A token endpoint request made by hand (client_secret_basic when a secret is given, else client_id in the body). */
  async function tokenRequest(params: Record<string, string>, client: { client_id: string; client_secret?: string | undefined }): Promise<TokenAnswer> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const body = new URLSearchParams(params);
    if (client.client_secret !== undefined) {
      const basic = `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`;
      headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    } else {
      body.set('client_id', client.client_id);
    }
    const res = await fetch(tokenEndpoint, { method: 'POST', headers, body: body.toString(), signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { raw: text };
    }
    return { status: res.status, json };
  }

  /** Every audit event of the tenant (all pages), as the tenant admin reads them. */
  async function allAudit(): Promise<Array<Record<string, any>>> {
    const out: Array<Record<string, any>> = [];
    let cursor: string | null = null;
    do {
      const q: string = `/v1/audit?limit=200${cursor !== null ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await serviceCall(svc.url, 'GET', q, tenant.adminToken);
      if (r.status !== 200) throw new Error(`GET ${q}: ${r.status} ${r.text}`);
      out.push(...(r.json.items as Array<Record<string, any>>));
      cursor = r.json.next_cursor as string | null;
    } while (cursor !== null);
    return out;
  }

  const me = (token: string) => serviceCall(svc.url, 'GET', '/v1/me', token);

  beforeAll(async () => {
    const fresh = await freshDatabase(backend);
    dir = fresh.dir;
    tenant = await prepareTenant({ db: fresh.db, tenant: 'acme', groups: ['platform', 'partners', 'outsiders'] });
    people.alice.id = await addPerson(tenant.db, { tenant: 'acme', username: 'alice', password: people.alice.password, member: ['platform'] });
    // One person added the way an operator does, password on standard input.
    people.gina.id = await addPersonWithCli(tenant.db, { tenant: 'acme', username: 'gina', password: people.gina.password, adminOf: ['platform'] });
    people.bob.id = await addPerson(tenant.db, { tenant: 'acme', username: 'bob', password: people.bob.password, member: ['partners'] });
    people.carol.id = await addPerson(tenant.db, { tenant: 'acme', username: 'carol', password: people.carol.password, member: ['outsiders'] });
    for (const p of Object.values(people)) remember(p.password, `${p.username}'s password`);

    // No per-token rate limit, and no 429 for the few 401s the tests cause on purpose (revoked tokens).
    svc = await startServeProcess({ db: tenant.db, extraArgs: ['--rate-limit', '0', '--auth-failure-limit', '0'] });
    await enableOAuth(svc.url, tenant.adminToken);
    const platformAdmin = tenant.groupAdminTokens.platform!;
    const platform = tenant.groups.platform!;
    conf = await registerApp(svc.url, platformAdmin, platform, { name: 'Reports', callback_urls: [CALLBACK] });
    pub = await registerApp(svc.url, platformAdmin, platform, { name: 'Pocket', callback_urls: [CALLBACK], public_client: true });
    strict = await registerApp(svc.url, platformAdmin, platform, { name: 'Strict', callback_urls: [CALLBACK], require_pkce: true });
    org = await registerApp(svc.url, platformAdmin, platform, { name: 'Directory', callback_urls: [CALLBACK], scope: 'organization' });
    for (const a of [conf, strict, org]) remember(a.client_secret, `${a.name}'s client secret`);
    expect(pub.client_secret).toBeUndefined();

    const discovery = await fetch(`${svc.issuer}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    const meta = (await discovery.json()) as Record<string, string>;
    expect(meta.issuer).toBe(svc.issuer);
    tokenEndpoint = meta.token_endpoint!;
    authorizationEndpoint = meta.authorization_endpoint!;
  });

  afterAll(async () => {
    await svc?.stop();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  // ---- the code flow ------------------------------------------------------------

  describe('code + PKCE', () => {
    it('confidential client, client_secret_basic: ID token, userinfo, /v1/me, refresh with rotation, revocation, 10-minute tokens', async () => {
      const run = expectOidcOk(
        await signIn(conf, people.alice, {
          auth: 'basic',
          scope: 'openid profile offline_access',
          steps: [
            { do: 'userinfo' },
            { do: 'call_api', path: '/v1/me' },
            { do: 'refresh' },
            { do: 'call_api', path: '/v1/me' },
            { do: 'revoke' },
            { do: 'call_api', path: '/v1/me' },
          ],
        }),
      );
      expect(run.screens).toEqual(['sign-in', 'consent']);
      expect(run.callback_state_matches).toBe(true);

      const first = run.tokens!;
      expect(first.access_token_present && first.refresh_token_present && first.id_token_present).toBe(true);
      expect(first.token_type?.toLowerCase()).toBe('bearer');
      expect(first.expires_in).toBeGreaterThan(0);
      expect(first.expires_in).toBeLessThanOrEqual(600);
      const claims = first.id_token_claims!;
      expect(claims.iss).toBe(svc.issuer);
      expect([claims.aud].flat()).toEqual([conf.client_id]);
      expect(claims.sub).toBe(people.alice.id);
      expect(claims.sub).toMatch(/^usr_/);

      const [userinfo, meBefore, refresh, meAfterRefresh, revoke, meAfterRevoke] = run.steps;
      expect(userinfo!.userinfo).toEqual(expect.objectContaining({ sub: people.alice.id, preferred_username: 'alice' }));
      const expectedMe = {
        user_id: people.alice.id,
        username: 'alice',
        tenant_id: tenant.tenantId,
        groups: [{ id: tenant.groups.platform, name: 'platform', role: 'member' }],
      };
      expect(meBefore!.api).toEqual(expect.objectContaining({ status: 200, json: expectedMe }));

      // Refresh: new tokens, the new access token works, the refresh token was rotated.
      const second = refresh!.tokens!;
      expect(second.access_token).toBeDefined();
      expect(second.access_token).not.toBe(first.access_token);
      expect(second.refresh_token).toBeDefined();
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect(second.expires_in).toBeGreaterThan(0);
      expect(second.expires_in).toBeLessThanOrEqual(600);
      expect(meAfterRefresh!.api).toEqual(expect.objectContaining({ status: 200, json: expectedMe }));

      // Revocation of the (new) access token: the API refuses it at once.
      expect(revoke!.ok).toBe(true);
      expect(meAfterRevoke!.api!.status).toBe(401);

      // The first refresh token was used up by the rotation.
      const old = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token! }, conf);
      expect(old.status).toBe(400);
      expect(old.json.error).toBe('invalid_grant');
    });

    it('confidential client, client_secret_post', async () => {
      const run = expectOidcOk(await signIn(conf, people.alice, { auth: 'post', steps: [{ do: 'call_api', path: '/v1/me' }] }));
      expect([run.tokens!.id_token_claims!.aud].flat()).toEqual([conf.client_id]);
      expect(run.tokens!.id_token_claims!.sub).toBe(people.alice.id);
      expect(run.api).toEqual(expect.objectContaining({ status: 200, json: expect.objectContaining({ user_id: people.alice.id }) }));
      // Consent was given in the first test: asked once per person and app.
      expect(run.screens).toEqual(['sign-in']);
    });

    it('public client (auth none) with S256', async () => {
      const run = expectOidcOk(await signIn(pub, people.alice, { auth: 'none', scope: 'openid profile', steps: [{ do: 'userinfo' }, { do: 'call_api', path: '/v1/me' }] }));
      const claims = run.tokens!.id_token_claims!;
      expect(claims.iss).toBe(svc.issuer);
      expect([claims.aud].flat()).toEqual([pub.client_id]);
      expect(claims.sub).toBe(people.alice.id);
      expect(run.tokens!.expires_in).toBeLessThanOrEqual(600);
      expect(run.userinfo).toEqual(expect.objectContaining({ sub: people.alice.id, preferred_username: 'alice' }));
      expect(run.api).toEqual(expect.objectContaining({ status: 200, json: expect.objectContaining({ user_id: people.alice.id, username: 'alice' }) }));
    });

    it('an authorization code seen by the app works once, with its verifier (the code is kept for the leak checks)', async () => {
      // By hand, so the test sees the code itself: the driver never hands it out.
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const state = randomBytes(12).toString('base64url');
      const url = new URL(authorizationEndpoint);
      for (const [k, v] of Object.entries({
        client_id: conf.client_id,
        redirect_uri: CALLBACK,
        response_type: 'code',
        scope: 'openid',
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      })) url.searchParams.set(k, v);
      const person = new PersonAgent({ username: 'alice', password: people.alice.password, consent: 'allow', issuer: svc.issuer });
      const outcome = await person.authorize(url.href, CALLBACK);
      expect(outcome.page).toBeUndefined();
      const callback = new URL(outcome.callbackUrl!);
      expect(callback.searchParams.get('state')).toBe(state);
      expect(callback.searchParams.get('iss')).toBe(svc.issuer);
      const code = callback.searchParams.get('code');
      expect(code).toEqual(expect.any(String));
      remember(code!, 'an authorization code');

      const redeem = { grant_type: 'authorization_code', code: code!, redirect_uri: CALLBACK, code_verifier: verifier };
      const ok = await tokenRequest(redeem, conf);
      expect(ok.status).toBe(200);
      remember(ok.json.access_token as string, 'hand-made access token');
      expect((await me(ok.json.access_token as string)).json).toEqual(expect.objectContaining({ user_id: people.alice.id }));
      const again = await tokenRequest(redeem, conf);
      expect(again.status).toBe(400);
      expect(again.json.error).toBe('invalid_grant');
    });
  });

  // ---- a person's rights through a real token -------------------------------------

  describe('person rights on /v1', () => {
    it('a member of the group reads its apps but may not register one', async () => {
      const run = expectOidcOk(await signIn(conf, people.alice));
      const token = run.tokens!.access_token!;
      const list = await serviceCall(svc.url, 'GET', `/v1/apps?group_id=${tenant.groups.platform}`, token);
      expect(list.status).toBe(200);
      expect((list.json.items as Array<{ id: string }>).map((a) => a.id)).toEqual(expect.arrayContaining([conf.id, pub.id, strict.id, org.id]));
      const one = await serviceCall(svc.url, 'GET', `/v1/apps/${strict.id}`, token);
      expect(one.status).toBe(200);
      expect(one.json).toEqual(expect.objectContaining({ id: strict.id, group_id: tenant.groups.platform }));
      expect(one.json.client_secret).toBeUndefined();
      const post = await serviceCall(svc.url, 'POST', `/v1/groups/${tenant.groups.platform}/apps`, token, {
        name: 'Not Allowed',
        callback_urls: [CALLBACK],
        scope: 'group',
      });
      expect(post.status).toBe(403);
      const after = await serviceCall(svc.url, 'GET', `/v1/apps?group_id=${tenant.groups.platform}`, tenant.adminToken);
      expect(after.status).toBe(200);
      expect((after.json.items as Array<{ name: string }>).map((a) => a.name)).not.toContain('Not Allowed');
    });

    it('an admin of the group registers an app; the audit names the person and the app they used, no token', async () => {
      const run = expectOidcOk(await signIn(conf, people.gina, { steps: [{ do: 'call_api', path: '/v1/me' }] }));
      expect(run.api!.json).toEqual({
        user_id: people.gina.id,
        username: 'gina',
        tenant_id: tenant.tenantId,
        groups: [{ id: tenant.groups.platform, name: 'platform', role: 'admin' }],
      });
      const token = run.tokens!.access_token!;
      const post = await serviceCall(svc.url, 'POST', `/v1/groups/${tenant.groups.platform}/apps`, token, {
        name: 'Made By Gina',
        callback_urls: [CALLBACK],
        scope: 'group',
      });
      expect(post.status).toBe(201);
      remember(post.json.client_secret as string, "gina's app's client secret");
      const event = (await allAudit()).find((e) => e.action === 'app.create' && e.target_id === post.json.id);
      expect(event).toBeDefined();
      expect(event!.actor).toMatchObject({ type: 'person', user_id: people.gina.id, client_id: conf.client_id });
      const actorText = JSON.stringify(event!.actor);
      expect(actorText).not.toContain(token);
      expect(Object.keys(event!.actor as object).filter((k) => /token|secret/i.test(k))).toEqual([]);
      expect(JSON.stringify(event)).not.toContain(token);
    });
  });

  // ---- consent to an organization-scoped app -----------------------------------------

  describe('an organization-scoped app and consent', () => {
    it('B consented: B signs in; C did not: access_denied; consent withdrawn: sign-in, refresh and API refused', async () => {
      const put = await serviceCall(svc.url, 'PUT', `/v1/groups/${tenant.groups.partners}/consents/${org.id}`, tenant.groupAdminTokens.partners!);
      expect(put.status).toBe(201);

      const [bobRun, carol] = await Promise.all([
        signIn(org, people.bob, { scope: 'openid offline_access', steps: [{ do: 'call_api', path: '/v1/me' }] }),
        signIn(org, people.carol),
      ]);
      const bob = expectOidcOk(bobRun);
      expect(bob.tokens!.id_token_claims!.sub).toBe(people.bob.id);
      expect(bob.api).toEqual(expect.objectContaining({ status: 200, json: expect.objectContaining({ user_id: people.bob.id }) }));
      const bobAccess = bob.tokens!.access_token!;
      const bobRefresh = bob.tokens!.refresh_token!;
      expect(bobRefresh).toBeDefined();

      expectOidcError(carol, 'access_denied', 'authorize');
      expect(carol.callback_state_matches).toBe(true);
      expect(carol.tokens).toBeUndefined();

      const del = await serviceCall(svc.url, 'DELETE', `/v1/groups/${tenant.groups.partners}/consents/${org.id}`, tenant.groupAdminTokens.partners!);
      expect(del.status).toBe(204);

      expectOidcError(await signIn(org, people.bob), 'access_denied', 'authorize');
      const refresh = await tokenRequest({ grant_type: 'refresh_token', refresh_token: bobRefresh }, org);
      expect(refresh.status).toBe(400);
      expect(refresh.json.error).toBe('invalid_grant');
      expect((await me(bobAccess)).status).toBe(401);
    });
  });

  // ---- refusals -------------------------------------------------------------------------

  describe('refusals, as the client sees them', () => {
    it('a redirect_uri that is not registered: an error page, no redirect anywhere', async () => {
      const run = await signIn(conf, people.alice, { redirect_uri: OTHER_CALLBACK });
      const e = expectOidcError(run, 'page', 'authorize');
      expect(e.page!.text).toContain('invalid_redirect_uri');
      expect(e.page!.status).toBe(400);
      expect(run.callback_params).toBeUndefined();
      expect(run.screens).toEqual([]);
    });

    it('a public client without PKCE: invalid_request at the redirect URI', async () => {
      const run = await signIn(pub, people.alice, { pkce: 'none' });
      expectOidcError(run, 'invalid_request', 'authorize');
      expect(run.callback_state_matches).toBe(true);
      expect(run.screens).toEqual([]);
    });

    it('a confidential app with require_pkce, without PKCE: invalid_request; with PKCE it works', async () => {
      const [without, withPkce] = await Promise.all([signIn(strict, people.alice, { pkce: 'none' }), signIn(strict, people.alice)]);
      expectOidcError(without, 'invalid_request', 'authorize');
      expectOidcOk(withPkce);
    });

    it('plain PKCE: invalid_request', async () => {
      const runs = await Promise.all([signIn(pub, people.alice, { pkce: 'plain' }), signIn(conf, people.alice, { pkce: 'plain' })]);
      for (const run of runs) expectOidcError(run, 'invalid_request', 'authorize');
    });

    it('a wrong client secret: invalid_client at the token endpoint', async () => {
      const wrong = `ars_${randomBytes(24).toString('base64url')}`;
      remember(wrong, 'a wrong client secret');
      const [basic, post] = await Promise.all([
        signIn(conf, people.alice, { client_secret: wrong, auth: 'basic' }),
        signIn(conf, people.alice, { client_secret: wrong, auth: 'post' }),
      ]);
      expect(expectOidcError(basic, 'invalid_client', 'token').status).toBe(401);
      expect(basic.tokens).toBeUndefined();
      expectOidcError(post, 'invalid_client', 'token');
    });

    it('a rotated secret: the old one is refused at once, the new one works', async () => {
      const app = await registerApp(svc.url, tenant.groupAdminTokens.platform!, tenant.groups.platform!, { name: 'Rotating', callback_urls: [CALLBACK] });
      const oldSecret = app.client_secret!;
      remember(oldSecret, 'Rotating: first secret');
      expectOidcOk(await signIn(app, people.alice));
      const rot = await serviceCall(svc.url, 'POST', `/v1/apps/${app.id}/rotate-secret`, tenant.groupAdminTokens.platform!);
      expect(rot.status).toBe(200);
      const newSecret = rot.json.client_secret as string;
      remember(newSecret, 'Rotating: second secret');
      expect(newSecret).not.toBe(oldSecret);
      expectOidcError(await signIn(app, people.alice, { client_secret: oldSecret }), 'invalid_client', 'token');
      expectOidcOk(await signIn(app, people.alice, { client_secret: newSecret, steps: [{ do: 'call_api', path: '/v1/me' }] }));
    });

    it('the stored hash of the secret is not the secret: invalid_client', async () => {
      const hash = sha256Hex(conf.client_secret!);
      // Prove it is exactly what the database holds.
      let stored: string | undefined;
      if (backend === 'sqlite') {
        const file = new Sqlite(tenant.db, { readonly: true, fileMustExist: true });
        try {
          stored = (file.prepare('SELECT secret_hash FROM apps WHERE id = ?').get(conf.id) as { secret_hash: string } | undefined)?.secret_hash;
        } finally {
          file.close();
        }
      } else {
        const pg = new PgClient({ connectionString: tenant.db });
        await pg.connect();
        try {
          stored = (await pg.query<{ secret_hash: string }>('SELECT secret_hash FROM apps WHERE id = $1', [conf.id])).rows[0]?.secret_hash;
        } finally {
          await pg.end();
        }
      }
      expect(stored).toBe(hash);
      const runs = await Promise.all([
        signIn(conf, people.alice, { client_secret: hash, auth: 'basic' }),
        signIn(conf, people.alice, { client_secret: hash, auth: 'post' }),
      ]);
      for (const run of runs) expectOidcError(run, 'invalid_client', 'token');
    });

    it('a disabled app: invalid_client on an error page at the authorization endpoint, and at the token endpoint for refresh', async () => {
      const app = await registerApp(svc.url, tenant.groupAdminTokens.platform!, tenant.groups.platform!, { name: 'Soon Disabled', callback_urls: [CALLBACK] });
      remember(app.client_secret, 'Soon Disabled: secret');
      const before = expectOidcOk(await signIn(app, people.alice, { scope: 'openid offline_access' }));
      const patch = await serviceCall(svc.url, 'PATCH', `/v1/apps/${app.id}`, tenant.groupAdminTokens.platform!, { enabled: false });
      expect(patch.status).toBe(200);
      expect(patch.json.enabled).toBe(false);

      const run = await signIn(app, people.alice);
      const e = expectOidcError(run, 'page', 'authorize');
      expect(e.page!.text).toContain('invalid_client');
      expect(run.callback_params).toBeUndefined();
      const refresh = await tokenRequest({ grant_type: 'refresh_token', refresh_token: before.tokens!.refresh_token! }, app);
      expect(refresh.json.error).toBe('invalid_client');
      expect((await me(before.tokens!.access_token!)).status).toBe(401);
    });

    it('a deleted app: invalid_client', async () => {
      const app = await registerApp(svc.url, tenant.groupAdminTokens.platform!, tenant.groups.platform!, { name: 'Soon Deleted', callback_urls: [CALLBACK] });
      remember(app.client_secret, 'Soon Deleted: secret');
      const before = expectOidcOk(await signIn(app, people.alice, { scope: 'openid offline_access' }));
      const del = await serviceCall(svc.url, 'DELETE', `/v1/apps/${app.id}`, tenant.groupAdminTokens.platform!);
      expect(del.status).toBe(204);

      const e = expectOidcError(await signIn(app, people.alice), 'page', 'authorize');
      expect(e.page!.text).toContain('invalid_client');
      const refresh = await tokenRequest({ grant_type: 'refresh_token', refresh_token: before.tokens!.refresh_token! }, app);
      expect(refresh.json.error).toBe('invalid_client');
      expect((await me(before.tokens!.access_token!)).status).toBe(401);
    });

    it('the tenant switches OAuth off: invalid_client; on again: sign-in works', async () => {
      const before = expectOidcOk(await signIn(conf, people.alice, { scope: 'openid offline_access' }));
      const off = await serviceCall(svc.url, 'PUT', '/v1/tenant/oauth-settings', tenant.adminToken, { oauth_enabled: false });
      expect(off.status).toBe(200);
      try {
        const [confRun, pubRun] = await Promise.all([signIn(conf, people.alice), signIn(pub, people.alice)]);
        for (const run of [confRun, pubRun]) expect(expectOidcError(run, 'page', 'authorize').page!.text).toContain('invalid_client');
        const refresh = await tokenRequest({ grant_type: 'refresh_token', refresh_token: before.tokens!.refresh_token! }, conf);
        expect(refresh.json.error).toBe('invalid_client');
        expect((await me(before.tokens!.access_token!)).status).toBe(401);
      } finally {
        await enableOAuth(svc.url, tenant.adminToken);
      }
      expectOidcOk(await signIn(conf, people.alice));
    });

    it('a person outside the app\'s group: access_denied at the redirect URI', async () => {
      const run = await signIn(conf, people.carol);
      expectOidcError(run, 'access_denied', 'authorize');
      expect(run.callback_state_matches).toBe(true);
      expect(run.screens).toEqual(['sign-in']);
      expect(run.tokens).toBeUndefined();
    });

    it('a wrong password: the form again with "Wrong username or password", no redirect', async () => {
      const wrong = newPassword();
      remember(wrong, 'a wrong password');
      const [run, nobody] = await Promise.all([
        signIn(conf, { username: 'alice', password: wrong }),
        signIn(conf, { username: 'nobody-here', password: wrong }),
      ]);
      const e = expectOidcError(run, 'page', 'authorize');
      expect(e.page!.status).toBe(401);
      expect(e.page!.text).toContain('Wrong username or password');
      expect(run.screens).toEqual(['sign-in']);
      expect(run.callback_params).toBeUndefined();
      // Nobody by that name: the same words, nothing said about which was wrong.
      const e2 = expectOidcError(nobody, 'page', 'authorize');
      expect(e2.page!.status).toBe(401);
      expect(e2.page!.text).toContain('Wrong username or password');
    });
  });

  // ---- nothing secret leaks ------------------------------------------------------------------

  describe('nothing secret leaks (after every flow above)', () => {
    it('the service log holds no token, client secret, code or password', () => {
      expect(seen.size).toBeGreaterThan(20);
      expect([...seen.values()].some((w) => w.includes('access token'))).toBe(true);
      expect([...seen.values()].some((w) => w.includes('refresh token'))).toBe(true);
      expect([...seen.values()].some((w) => w.includes('code'))).toBe(true);
      const log = svc.logs();
      // The log does record the sign-ins (so finding no secret in it means something).
      expect(log).toContain('sign-in refused');
      expect(log).toContain(conf.client_id);
      const leaked = [...seen].filter(([value]) => log.includes(value)).map(([, what]) => what);
      expect(leaked).toEqual([]);
    });

    it('the audit records sign-ins, refusals and tokens, and none of the secret values', async () => {
      // token.issue and refusals are written without holding up the answer: let the last ones land.
      await new Promise((r) => setTimeout(r, 300));
      const events = await allAudit();
      const actions = new Set(events.map((e) => e.action as string));
      for (const a of ['signin.success', 'signin.refuse', 'token.issue', 'token.refuse']) expect(actions).toContain(a);

      const refusals = events.filter((e) => e.action === 'signin.refuse').map((e) => e.after?.error as string);
      expect(refusals).toEqual(expect.arrayContaining(['access_denied', 'wrong_credentials']));
      const issued = events.find((e) => e.action === 'token.issue' && e.actor?.user_id === people.alice.id);
      expect(issued).toBeDefined();
      expect(issued!.actor).toMatchObject({ type: 'person', user_id: people.alice.id });

      const text = JSON.stringify(events);
      expect(text).toContain(people.bob.id);
      const leaked = [...seen].filter(([value]) => text.includes(value)).map(([, what]) => what);
      expect(leaked).toEqual([]);
    });
  });
});
