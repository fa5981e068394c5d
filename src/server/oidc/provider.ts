/**
 * `appreg serve` as an OpenID Connect provider for the apps it registers,
 * built on `oidc-provider` (no cryptography or protocol of our own).
 *
 * - Clients are the registrations, read from the apps table on every request
 *   (apps.ts): a disabled or deleted app, or any app of a tenant with OAuth
 *   off, is unknown (`invalid_client`); the device grant disappears while the
 *   tenant uses SSO; a rotated secret stops working at once.
 * - Secrets are checked against the stored SHA-256 (`compareClientSecret`);
 *   the stored hash itself is never accepted (checked at start-up, and tested).
 * - Code + PKCE (S256 only; required for public clients and where the app
 *   says `require_pkce`), refresh tokens (rotated on use), the device
 *   authorization grant, userinfo, JWKS, revocation. Opaque access tokens of
 *   10 minutes, accepted by the `/v1` API (access.ts).
 * - Who may sign in (DOMAIN.md): members of the app's group, or of a group
 *   that consented to an organization-scoped app; anyone else gets
 *   `access_denied` at the redirect URI.
 * - State lives in the service's database (store.ts), keys in `server_keys`
 *   (keys.ts), so restarts and other instances agree.
 *
 * Paths: `/.well-known/openid-configuration` and everything under `/oauth/`.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type * as OidcModule from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC, default as ProviderType } from 'oidc-provider';
import { recordAudit } from '../audit';
import { hashCredential } from '../crypto';
import { makeSigningKeys, OIDC_COOKIE_KEY, OIDC_SIGNING_KEYS, serverKey } from '../keys';
import type { AuditActor } from '../model';
import { now } from '../model';
import { hashPassword, verifyPassword } from '../passwords';
import { tenantTransaction, type Database } from '../storage/database';
import { getUserLogin, usernameKey } from '../storage/repo';
import { CONSOLE_CALLBACK_PATH } from '../console/paths';
import { allowedBefore, mayUseApp, rememberAllowed, type SignInApp, signInAppByClientId, signInPerson } from './apps';
import {
  consentPage,
  deviceCodePage,
  deviceConfirmPage,
  deviceDonePage,
  errorPage,
  screenHeaders,
  signedOutPage,
  signInPage,
  signOutPage,
} from './screens';
import { checkIssuer, DISCOVERY_PATH, OIDC_PREFIX, type SignIn } from './mount';
import { LoginGuard } from './guard';
import { OidcStore } from './store';

/** How long an access token lives: DOMAIN.md says at most 10 minutes. */
export const ACCESS_TOKEN_TTL_S = 600;
/** Failed sign-ins a username may have per minute before it must wait (per process). */
export const LOGIN_FAILURES_PER_MINUTE = 10;

/** A refresh token: two weeks, rotated on every use. */
export const REFRESH_TOKEN_TTL_S = 14 * 24 * 3600;

const ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  userinfo: '/oauth/userinfo',
  jwks: '/oauth/jwks',
  device_authorization: '/oauth/device/auth',
  code_verification: '/oauth/device',
  revocation: '/oauth/revoke',
  end_session: '/oauth/logout',
  introspection: '/oauth/introspect',
  pushed_authorization_request: '/oauth/par',
  registration: '/oauth/register',
  backchannel_authentication: '/oauth/backchannel',
  challenge: '/oauth/challenge',
  credential: '/oauth/credential',
} as const;

const INTERACTION_PATH = /^\/oauth\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|consent))?$/;

/** Largest form body the screens accept; a username and a password fit many times over. */
const FORM_LIMIT = 16 * 1024;

/** The device grant's type URN. */
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Routes where the person is signing in (eligibility is decided by the screens, see `mayUseCheck`). */
const INTERACTIVE_ROUTES = new Set(['authorization', 'resume', 'code_verification', 'device_resume', 'pushed_authorization_request']);

/** Why a device sign-in stopped when the app may no longer use the device grant. */
const DEVICE_REFUSED = 'This app may not sign in devices now: the tenant uses single sign-on, or the app no longer allows the device grant. Nothing was connected.';

/** Whether an app may use the device grant right now (it allows it, and the tenant does not use SSO). */
function deviceAllowed(app: SignInApp | undefined): boolean {
  return app !== undefined && app.grant_types.includes('device_code') && !app.sso_enabled;
}

/** Options of {@link createSignIn}. */
export interface SignInOptions {
  db: Database;
  /** The issuer URL: an origin (`https://login.example.com`), no path. */
  issuer: string;
  /** The service's logger (JSON lines). */
  log: FastifyBaseLogger;
}

/**
 * Our secret check: the SHA-256 of what the client sent against the stored
 * hash, in constant time. The stored value is the hash, so sending the hash
 * itself hashes to something else and fails.
 */
export function secretMatches(storedHash: string | undefined, actual: unknown): boolean {
  if (typeof storedHash !== 'string' || typeof actual !== 'string' || actual === '') return false;
  const a = Buffer.from(hashCredential(actual), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}

/**
 * Loads oidc-provider. It is an ES module (Node loads it with require since
 * 20.19), and on Node 20 it prints a plain-text "Unsupported runtime"
 * warning to the console when loaded; the service's log is JSON lines, so
 * that line is caught and logged as JSON instead. appreg is tested on Node 20.
 */
async function loadOidcProvider(log: FastifyBaseLogger): Promise<typeof OidcModule> {
  const warn = console.warn;
  const caught: string[] = [];
  console.warn = (...args: unknown[]) => caught.push(args.map(String).join(' '));
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
    for (const line of caught) log.info({ component: 'oidc-provider', notice: line }, 'oidc-provider notice at load');
  }
}

/** Reads a form body (application/x-www-form-urlencoded) of at most {@link FORM_LIMIT} bytes. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > FORM_LIMIT) return undefined;
    chunks.push(b);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Origins of an app's callback URLs: where a form post may be redirected after sign-in. */
function callbackOrigins(app: Pick<SignInApp, 'callback_urls'> | undefined): string[] {
  if (app === undefined) return [];
  const out = new Set<string>();
  for (const u of app.callback_urls) {
    try {
      out.add(new URL(u).origin);
    } catch {
      // Stored URLs were checked on the way in; a bad one just adds no origin.
    }
  }
  return [...out];
}

/** The value of `name="<field>" value="..."` in a form oidc-provider made (it escapes its values). */
function formField(form: string, field: string): string {
  const m = new RegExp(`name="${field}" value="([^"]*)"`).exec(form);
  return m?.[1] ?? '';
}

function formAction(form: string): string {
  return /action="([^"]*)"/.exec(form)?.[1] ?? ROUTES.code_verification;
}

/** The audit actor of a sign-in: the person when known, else the app being signed in to. */
function signInActor(clientId: string, userId?: string): AuditActor {
  return userId !== undefined ? { type: 'person', user_id: userId, client_id: clientId } : { type: 'sign-in', client_id: clientId };
}

/** Builds the provider for the service's database. */
export async function createSignIn(opts: SignInOptions): Promise<SignIn> {
  const { db, log } = opts;
  const issuer = checkIssuer(opts.issuer);
  const issuerUrl = new URL(issuer);
  const [jwksText, cookieKey] = await Promise.all([serverKey(db, OIDC_SIGNING_KEYS, makeSigningKeys), serverKey(db, OIDC_COOKIE_KEY)]);
  const jwks = JSON.parse(jwksText) as { keys: Configuration['jwks'] extends infer J ? J extends { keys: infer K } ? K : never : never };
  const oidc = await loadOidcProvider(log);
  const { default: Provider, errors, interactionPolicy } = oidc;

  /** Failed sign-ins per username (of a tenant), per process: {@link LOGIN_FAILURES_PER_MINUTE} a minute. */
  const loginGuard = new LoginGuard(LOGIN_FAILURES_PER_MINUTE, 60_000);

  /** A hash no password matches (random), verified against for unknown usernames. */
  const decoyHash = hashPassword(randomBytes(24).toString('base64url'));

  /** The CSRF token of an interaction's forms: bound to its uid, keyed by the cookie key. */
  const csrfFor = (uid: string): string => createHmac('sha256', cookieKey).update(`csrf\0${uid}`).digest('base64url');
  const csrfOk = (uid: string, sent: string | null): boolean => {
    if (sent === null) return false;
    const a = Buffer.from(csrfFor(uid));
    const b = Buffer.from(sent);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  /** Records an audit event; a failure is logged, never thrown into the sign-in. */
  const audit = (tenantId: string, actor: AuditActor, action: string, appId: string, after: object): void => {
    tenantTransaction(db, tenantId, (tx) =>
      recordAudit(tx, { tenant_id: tenantId, actor, action, target_type: 'app', target_id: appId, before: null, after }),
    ).catch((err: unknown) => log.error({ err, action }, 'could not write a sign-in audit event'));
  };

  const clientAdapter = {
    /** The client metadata of a registration, or undefined: read on every request. */
    async find(clientId: string): Promise<Record<string, unknown> | undefined> {
      const app = await signInAppByClientId(db, clientId);
      if (app === undefined) return undefined;
      const grants: string[] = [];
      if (app.grant_types.includes('authorization_code')) grants.push('authorization_code', 'refresh_token');
      if (app.grant_types.includes('device_code') && !app.sso_enabled) grants.push(DEVICE_GRANT);
      if (grants.length === 0) {
        // Only a device grant, and the tenant uses SSO: a client that may do nothing. An empty list
        // is not valid metadata, so keep the code grant without any response type (it can never start).
        grants.push('authorization_code');
      }
      if (app.console === true) {
        // The console (src/server/console): a public client served by this very service, code + PKCE,
        // refreshable; its only redirect URI is its own callback on the issuer's origin.
        return {
          client_id: app.client_id,
          client_name: app.name,
          redirect_uris: [`${issuer}${CONSOLE_CALLBACK_PATH}`],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
          application_type: 'web',
          id_token_signed_response_alg: 'RS256',
          appreg_require_pkce: true,
        };
      }
      return {
        client_id: app.client_id,
        client_name: app.name,
        redirect_uris: app.callback_urls,
        grant_types: grants,
        response_types: app.grant_types.includes('authorization_code') ? ['code'] : [],
        token_endpoint_auth_method: app.public_client ? 'none' : 'client_secret_basic',
        // The stored hash, only for our compareClientSecret below: oidc-provider needs some secret
        // for a confidential client, and every other use of it (HMAC signing, symmetric encryption,
        // client_secret_jwt) is switched off in the configuration.
        ...(app.public_client ? {} : { client_secret: app.secret_hash ?? 'no-secret-issued' }),
        application_type: 'web',
        id_token_signed_response_alg: 'RS256',
        appreg_require_pkce: app.require_pkce,
      };
    },
    async upsert(): Promise<void> {
      throw new Error('bug: clients are registrations; oidc-provider must not write them');
    },
    async destroy(): Promise<void> {},
  };

  const mayUseCheck = new interactionPolicy.Check(
    'appreg_not_allowed',
    'the person may not use this app',
    'access_denied',
    async (ctx: KoaContextWithOIDC) => {
      const accountId = ctx.oidc.session?.accountId;
      const clientId = ctx.oidc.client?.clientId;
      if (accountId === undefined || clientId === undefined) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const app = await signInAppByClientId(db, clientId);
      const allowed = app !== undefined && (await mayUseApp(db, accountId, app));
      return allowed ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    },
  );
  const policy = interactionPolicy.base();
  // Before every other consent check: a signed-in person who may not use this app is
  // sent to the interaction, which ends it with access_denied.
  policy.get('consent')!.checks.add(mayUseCheck, 0);

  const configuration: Configuration = {
    adapter: ((name: string) => (name === 'Client' ? clientAdapter : new OidcStore(db, name))) as unknown as Configuration['adapter'],
    clients: [],
    async findAccount(ctx, sub, token) {
      const person = await signInPerson(db, sub);
      if (person === undefined) return undefined;
      const clientId = (token as { clientId?: string } | undefined)?.clientId ?? ctx.oidc?.client?.clientId;
      // Outside sign-in (token, refresh, userinfo), a person who may no longer use the app has no account
      // here: a refresh gets invalid_grant and userinfo invalid_token, at once. During sign-in the
      // screens decide (mayUseCheck), so that the answer is access_denied at the redirect URI.
      if (clientId !== undefined && !INTERACTIVE_ROUTES.has(ctx.oidc?.route ?? '')) {
        const app = await signInAppByClientId(db, clientId);
        if (app === undefined || app.tenant_id !== person.tenant_id || !(await mayUseApp(db, person.id, app))) return undefined;
      }
      return {
        accountId: person.id,
        claims: () => ({ sub: person.id, preferred_username: person.username }),
      };
    },
    claims: { openid: ['sub'], profile: ['preferred_username'] },
    scopes: ['openid', 'offline_access', 'profile'],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    // Only asymmetric algorithms: an HMAC would be keyed with client_secret, which here is a hash.
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
      authorizationSigningAlgValues: ['RS256', 'ES256'],
      introspectionSigningAlgValues: ['RS256', 'ES256'],
      requestObjectSigningAlgValues: ['RS256', 'ES256'],
      clientAuthSigningAlgValues: ['RS256', 'ES256'],
    },
    pkce: {
      required: (_ctx, client) => client.clientAuthMethod === 'none' || client.metadata()['appreg_require_pkce'] === true,
    },
    extraClientMetadata: {
      properties: ['appreg_require_pkce'],
      validator(_ctx, key, value) {
        if (key === 'appreg_require_pkce' && typeof value !== 'boolean') throw new errors.InvalidClientMetadata('appreg_require_pkce must be a boolean');
      },
    },
    allowOmittingSingleRegisteredRedirectUri: false,
    acceptQueryParamAccessTokens: false,
    // Only an app's own callback origins may call the token endpoint from a browser (public clients in a page).
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris?.some((u) => {
      try {
        return new URL(u).origin === origin;
      } catch {
        return false;
      }
    }) === true,
    // Every authorization code grant may be refreshed ("authorization_code also allows refresh tokens").
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    async loadExistingGrant(ctx) {
      const clientId = ctx.oidc.client!.clientId;
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(clientId);
      if (grantId) {
        const grant = await ctx.oidc.provider.Grant.find(grantId);
        if (grant !== undefined) return grant;
      }
      // Consent is asked once per person and app, not once per browser: an earlier Allow,
      // remembered in oidc_grants, becomes this session's grant when it covers what is asked.
      const accountId = ctx.oidc.session!.accountId;
      if (accountId === undefined) return undefined;
      const app = await signInAppByClientId(db, clientId);
      if (app === undefined) return undefined;
      if (app.console === true) {
        // The console is the product itself, not a third party acting as the person: no consent screen.
        const grant = new ctx.oidc.provider.Grant({ accountId, clientId });
        grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
        await grant.save();
        return grant;
      }
      const allowed = await allowedBefore(db, accountId, app.id);
      if (allowed === undefined) return undefined;
      const asked = [...ctx.oidc.requestParamOIDCScopes];
      if (!asked.every((s) => allowed.includes(s))) return undefined;
      const grant = new ctx.oidc.provider.Grant({ accountId, clientId });
      grant.addOIDCScope(asked.join(' '));
      await grant.save();
      return grant;
    },
    cookies: {
      keys: [cookieKey],
      names: { session: 'appreg_session', interaction: 'appreg_interaction', resume: 'appreg_resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    jwks: { keys: jwks.keys },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_S,
      AuthorizationCode: 60,
      IdToken: ACCESS_TOKEN_TTL_S,
      DeviceCode: 600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: REFRESH_TOKEN_TTL_S,
      RefreshToken: REFRESH_TOKEN_TTL_S,
    },
    routes: { ...ROUTES },
    interactions: {
      policy,
      url: (_ctx, interaction) => `/oauth/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource(ctx, form, out, err) {
          let error: string | undefined;
          const e = err as { name?: string; userCode?: unknown } | undefined;
          if (e?.userCode !== undefined || e?.name === 'NoCodeError') error = 'That code is not valid or has expired. Check the code your device shows and try again.';
          else if (e?.name === 'AbortedError') error = 'The sign-in was cancelled. Start again on your device.';
          else if (out?.error === 'access_denied') error = 'You may not use this app, or you denied it access. Nothing was connected.';
          else if (out !== undefined || err !== undefined) error = `The device could not be connected (${out?.error ?? 'error'}). Start again on your device.`;
          ctx.set(screenHeaders());
          ctx.body = deviceCodePage({ action: formAction(form), xsrf: formField(form, 'xsrf'), ...(error !== undefined ? { error } : {}) });
        },
        async userCodeConfirmSource(ctx, form, client, _deviceInfo, userCode) {
          const app = await signInAppByClientId(db, client.clientId);
          ctx.set(screenHeaders());
          if (!deviceAllowed(app)) {
            ctx.body = deviceCodePage({ action: formAction(form), xsrf: formField(form, 'xsrf'), error: DEVICE_REFUSED });
            return;
          }
          ctx.body = deviceConfirmPage({
            action: formAction(form),
            xsrf: formField(form, 'xsrf'),
            userCode,
            appName: app?.name ?? client.clientName ?? client.clientId,
            groupName: app?.group_name ?? '',
          });
        },
        async successSource(ctx) {
          ctx.set(screenHeaders());
          // The tenant may have switched SSO on (or the app dropped the grant) while the person was
          // signing in: the device will be refused its tokens, so do not say it is connected.
          const app = ctx.oidc.client === undefined ? undefined : await signInAppByClientId(db, ctx.oidc.client.clientId);
          ctx.body = deviceAllowed(app)
            ? deviceDonePage(ctx.oidc.client?.clientName ?? 'the app')
            : errorPage({ title: 'The device was not connected', message: DEVICE_REFUSED, code: 'unauthorized_client' });
        },
      },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      // Off: the /v1 API reads its tokens from the store itself; with it on, allowedPolicy must be guarded.
      introspection: { enabled: false },
      // Off: access tokens are for this service (userinfo and /v1), opaque, and read from the store.
      resourceIndicators: { enabled: false },
      // Sign-out at end_session_endpoint (/oauth/logout), asked on a page of our own.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          ctx.set(screenHeaders());
          ctx.body = signOutPage({ action: formAction(form), xsrf: formField(form, 'xsrf') });
        },
        postLogoutSuccessSource(ctx) {
          ctx.set(screenHeaders());
          ctx.body = signedOutPage();
        },
      },
      registration: { enabled: false },
      clientCredentials: { enabled: false },
    },
    renderError(ctx, out, error) {
      const e = error as { expose?: boolean; status?: number };
      if (!(e.expose ?? false)) log.error({ err: error }, 'sign-in error');
      ctx.type = 'html';
      ctx.set(screenHeaders());
      ctx.body = errorPage({
        title: 'Sign-in cannot continue',
        message: typeof out.error_description === 'string' && (e.expose ?? false)
          ? out.error_description
          : 'Something went wrong while signing in. Start again from the app.',
        code: String(out.error),
      });
    },
  };

  const provider: ProviderType = new Provider(issuer, configuration);
  // Our own front door (handle below) sets the forwarded headers to the issuer's
  // origin on every request, so this trusts nothing a client sent.
  provider.proxy = true;

  // Secrets are stored as hashes: compare the hash of what was sent.
  const compare = function (this: { clientSecret?: string }, actual: string): boolean {
    return secretMatches(this.clientSecret, actual);
  };
  provider.Client.prototype.compareClientSecret = compare;
  // Self-test: the stored hash must never work as the secret, the secret must.
  const probe = 'ars_self-test';
  if (!compare.call({ clientSecret: hashCredential(probe) }, probe) || compare.call({ clientSecret: hashCredential(probe) }, hashCredential(probe))) {
    throw new Error('bug: the client secret check accepts the stored hash, or refuses the secret');
  }

  provider.on('server_error', (_ctx: unknown, err: Error) => log.error({ err }, 'oidc-provider server error'));

  // Audit: tokens issued and refused at the token endpoint (ids only, never a token).
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    void (async () => {
      const client = ctx.oidc.client;
      if (client === undefined) return;
      const app = await signInAppByClientId(db, client.clientId);
      if (app === undefined) return;
      const at = ctx.oidc.entities.AccessToken as { accountId?: string; expiration?: number } | undefined;
      // What the answer carries (its names only): the token endpoint has set its body by now.
      const body = (ctx.body ?? {}) as Record<string, unknown>;
      const issued = ['access_token', 'refresh_token', 'id_token'].filter((k) => typeof body[k] === 'string');
      const accountId = at?.accountId ?? (ctx.oidc.entities.Account as { accountId?: string } | undefined)?.accountId;
      audit(app.tenant_id, signInActor(app.client_id, accountId), 'token.issue', app.id, {
        client_id: app.client_id,
        grant_type: ctx.oidc.params?.grant_type ?? null,
        issued,
        access_token_expires_in: ACCESS_TOKEN_TTL_S,
      });
    })().catch((err: unknown) => log.error({ err }, 'could not audit a token'));
  });
  const refusal = (action: string) => (ctx: KoaContextWithOIDC, err: { error?: string; error_description?: string }) => {
    void (async () => {
      const clientId = ctx.oidc?.client?.clientId ?? (typeof ctx.oidc?.params?.client_id === 'string' ? ctx.oidc.params.client_id : undefined);
      // Without a known app there is no tenant to write to; the request log has it.
      const app = clientId === undefined ? undefined : await signInAppByClientId(db, clientId);
      log.info({ action, error: err.error, client_id: clientId ?? null }, 'sign-in refused');
      if (app === undefined) return;
      audit(app.tenant_id, signInActor(app.client_id, ctx.oidc?.session?.accountId), action, app.id, {
        client_id: app.client_id,
        error: err.error ?? 'error',
        error_description: err.error_description ?? null,
        grant_type: ctx.oidc?.params?.grant_type ?? null,
      });
    })().catch((e: unknown) => log.error({ err: e }, 'could not audit a refusal'));
  };
  provider.on('grant.error', refusal('token.refuse'));
  provider.on('authorization.error', refusal('signin.refuse'));

  // The screens: sign-in and consent, under /oauth/interaction/<uid>.
  provider.use(async (ctx, next) => {
    const m = INTERACTION_PATH.exec(ctx.path);
    if (m === null) {
      await next();
      grantNotAllowed(ctx.body);
      // Koa's context type does not know oidc-provider adds `oidc` to it (optional at this point).
      secureHtml(ctx as unknown as KoaContextWithOIDC);
      return;
    }
    const [, uid, step] = m;
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      ctx.status = 400;
      ctx.set(screenHeaders());
      ctx.body = errorPage({ title: 'Sign-in expired', message: 'This sign-in has expired or was opened in another browser. Start again from the app.' });
      return;
    }
    if (details.uid !== uid) {
      ctx.status = 400;
      ctx.set(screenHeaders());
      ctx.body = errorPage({ title: 'Sign-in expired', message: 'This page belongs to another sign-in. Start again from the app.' });
      return;
    }
    const clientId = String(details.params.client_id ?? '');
    const app = await signInAppByClientId(db, clientId);
    const headers = screenHeaders(callbackOrigins(app));
    const finish = async (result: Parameters<ProviderType['interactionResult']>[2]): Promise<void> => {
      const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.set(headers);
      ctx.redirect(to);
    };
    if (app === undefined) {
      // Disabled, deleted or OAuth switched off while the person was on the screen.
      await finish({ error: 'invalid_client', error_description: 'This app cannot sign people in any more.' });
      return;
    }
    const action = `/oauth/interaction/${uid}`;
    const csrf = csrfFor(uid!);
    /**
     * The form posted to step `name` of this interaction, or undefined once a refusal is answered:
     * 405 for another method or step, 403 without this interaction's CSRF token.
     */
    const checkedPost = async (name: 'login' | 'consent'): Promise<URLSearchParams | undefined> => {
      if (ctx.method !== 'POST' || step !== name) {
        ctx.status = 405;
        return undefined;
      }
      const form = await readForm(ctx.req);
      if (form === undefined || !csrfOk(uid!, form.get('csrf'))) {
        ctx.status = 403;
        ctx.set(headers);
        ctx.body = errorPage({ title: 'Sign-in refused', message: 'The form could not be checked (it may be old or from another site). Start again from the app.' });
        return undefined;
      }
      return form;
    };

    if (details.prompt.name === 'login') {
      if (ctx.method === 'GET' && step === undefined) {
        ctx.set(headers);
        ctx.body = signInPage({ action: `${action}/login`, csrf, appName: app.name });
        return;
      }
      const form = await checkedPost('login');
      if (form === undefined) return;
      const username = (form.get('username') ?? '').trim();
      const password = form.get('password') ?? '';
      // Password guessing: failures are counted per username typed (whether or not it exists, so the
      // limit tells nothing), attempts being checked included; over the limit the username waits.
      const attempt = loginGuard.begin(`${app.tenant_id}\0${usernameKey(username)}`);
      if (!attempt.allowed) {
        ctx.status = 429;
        ctx.set({ ...headers, 'retry-after': String(attempt.retryAfterSeconds) });
        ctx.body = signInPage({
          action: `${action}/login`,
          csrf,
          appName: app.name,
          username,
          error: `Too many failed sign-ins for this username. Wait ${attempt.retryAfterSeconds} seconds and try again.`,
        });
        return;
      }
      const found = username === '' || username.length > 64 ? undefined : await getUserLogin(db, app.tenant_id, username);
      // Verify even when nobody has that username, so the answer takes as long either way.
      let ok = false;
      try {
        ok = (await verifyPassword(password, found?.password_hash ?? (await decoyHash))) && found !== undefined;
      } finally {
        attempt.done(ok);
      }
      if (found === undefined || !ok) {
        audit(app.tenant_id, signInActor(app.client_id, found?.id), 'signin.refuse', app.id, {
          client_id: app.client_id,
          error: 'wrong_credentials',
          error_description: found === undefined ? 'no person has that username in this tenant' : 'wrong password',
        });
        ctx.status = 401;
        ctx.set(headers);
        ctx.body = signInPage({ action: `${action}/login`, csrf, appName: app.name, username, error: 'Wrong username or password' });
        return;
      }
      if (!(await mayUseApp(db, found.id, app))) {
        audit(app.tenant_id, signInActor(app.client_id, found.id), 'signin.refuse', app.id, {
          client_id: app.client_id,
          error: 'access_denied',
          error_description: 'not a member of the app\'s group or of a group that consented to it',
        });
        await finish({
          error: 'access_denied',
          error_description: `You are not a member of the group that registered this app, nor of a group that added consent to it.`,
        });
        return;
      }
      audit(app.tenant_id, signInActor(app.client_id, found.id), 'signin.success', app.id, { client_id: app.client_id, username: found.username });
      await finish({ login: { accountId: found.id } });
      return;
    }

    if (details.prompt.name === 'consent') {
      const accountId = details.session?.accountId;
      const person = accountId === undefined ? undefined : await signInPerson(db, accountId);
      if (person === undefined || person.tenant_id !== app.tenant_id || !(await mayUseApp(db, person.id, app))) {
        if (person !== undefined) {
          audit(app.tenant_id, signInActor(app.client_id, person.id), 'signin.refuse', app.id, {
            client_id: app.client_id,
            error: 'access_denied',
            error_description: 'not a member of the app\'s group or of a group that consented to it',
          });
        }
        await finish({
          error: 'access_denied',
          error_description: 'You are not a member of the group that registered this app, nor of a group that added consent to it.',
        });
        return;
      }
      if (app.console === true) {
        // Normally never reached (loadExistingGrant grants the console at once); kept so that the
        // console never shows a consent screen whatever oidc-provider asks.
        const grant = new provider.Grant({ accountId: person.id, clientId: app.client_id });
        grant.addOIDCScope(String(details.params.scope ?? 'openid'));
        await finish({ consent: { grantId: await grant.save() } });
        return;
      }
      const promptDetails = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      const asked = String(details.params.scope ?? '').split(' ').filter((s) => s !== '');
      if (ctx.method === 'GET' && step === undefined) {
        ctx.set(headers);
        ctx.body = consentPage({ action: `${action}/consent`, csrf, appName: app.name, groupName: app.group_name, username: person.username, scopes: asked });
        return;
      }
      const form = await checkedPost('consent');
      if (form === undefined) return;
      if (form.get('decision') !== 'allow') {
        audit(app.tenant_id, signInActor(app.client_id, person.id), 'signin.refuse', app.id, {
          client_id: app.client_id,
          error: 'access_denied',
          error_description: 'the person chose Deny',
        });
        await finish({ error: 'access_denied', error_description: 'You chose Deny: the app was not given access.' });
        return;
      }
      const grant = details.grantId !== undefined
        ? (await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId: person.id, clientId: app.client_id })
        : new provider.Grant({ accountId: person.id, clientId: app.client_id });
      if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
      if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
      const grantId = await grant.save();
      await rememberAllowed(db, person.id, app.id, [...new Set([...(await allowedBefore(db, person.id, app.id) ?? []), ...asked])].join(' '), now());
      audit(app.tenant_id, signInActor(app.client_id, person.id), 'signin.consent', app.id, { client_id: app.client_id, scope: asked.join(' ') });
      await finish({ consent: { grantId } });
      return;
    }
    ctx.status = 400;
    ctx.set(headers);
    ctx.body = errorPage({ title: 'Sign-in cannot continue', message: 'This step of the sign-in is not supported. Start again from the app.' });
  });

  /**
   * A grant the client may not use is `unauthorized_client` (RFC 6749 5.2,
   * which RFC 8628 3.2 uses for the device authorization endpoint too):
   * oidc-provider answers `invalid_request`, which tells a client developer
   * their request is malformed when it is the registration (or the
   * tenant's SSO) that refuses the grant.
   */
  function grantNotAllowed(body: unknown): void {
    if (body === null || typeof body !== 'object') return;
    const b = body as { error?: unknown; error_description?: unknown };
    if (b.error === 'invalid_request' && typeof b.error_description === 'string' && /grant[_ ]type is not allowed for this client$|^urn:ietf:params:oauth:grant-type:device_code is not allowed for this client$/.test(b.error_description)) {
      b.error = 'unauthorized_client';
    }
  }

  /**
   * Pages oidc-provider makes itself get the screens' headers too. The device
   * page reached through `verification_uri_complete` (a self-submitting form)
   * becomes our Code page with the code filled in, so it needs no script;
   * the `form_post` response mode keeps its script, allowed by its hash.
   */
  function secureHtml(ctx: KoaContextWithOIDC): void {
    if ((ctx.response.get('content-security-policy') ?? '') !== '' || typeof ctx.body !== 'string' || !ctx.response.is('html')) return;
    const userCode = ctx.query.user_code;
    if (ctx.method === 'GET' && ctx.path === ROUTES.code_verification && typeof userCode === 'string') {
      const xsrf = formField(ctx.body, 'xsrf');
      ctx.set(screenHeaders());
      ctx.body = deviceCodePage({ action: ROUTES.code_verification, xsrf, code: userCode });
      return;
    }
    const scripts = [...ctx.body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((s) => createHash('sha256').update(s[1]!, 'utf8').digest('base64'));
    const client = ctx.oidc?.client;
    const targets = client === undefined ? [] : callbackOrigins({ callback_urls: [...(client.redirectUris ?? [])] });
    ctx.set(screenHeaders(targets, scripts));
  }

  const callback = provider.callback();
  const forwardedProto = issuerUrl.protocol.slice(0, -1);
  return {
    issuer,
    handles: (path) => path === DISCOVERY_PATH || path.startsWith(OIDC_PREFIX),
    handle(req, res) {
      // The issuer's origin, whatever the client claims: discovery, redirects and cookies follow it.
      req.headers['x-forwarded-proto'] = forwardedProto;
      req.headers['x-forwarded-host'] = issuerUrl.host;
      delete req.headers['x-forwarded-for'];
      delete req.headers.forwarded;
      void callback(req, res);
    },
  };
}
