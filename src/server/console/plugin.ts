/**
 * The console (DOMAIN.md "The console"): server-rendered screens at
 * `/console` over the service's own `/v1` API.
 *
 * - Sign-in: the console is a public client of the built-in OpenID Connect
 *   provider, one per tenant (`console.<tenant_id>`, oidc/apps.ts), code +
 *   PKCE. The first page asks for the organization, since usernames are per
 *   tenant and the sign-in screen must know the tenant.
 * - The person's tokens live in a sealed, HttpOnly cookie (session.ts), never
 *   in a page, a URL or a log; the access token is refreshed when near expiry.
 * - Every action is a `/v1` call made in-process (`inject`) with the person's
 *   access token, so authz.ts decides exactly as it does on the API: the
 *   console has no rules of its own about who may do what, it only hides
 *   what the API would refuse.
 * - Every POST carries the session's CSRF token; every page has a strict
 *   Content-Security-Policy and is never cached (views.ts).
 *
 * An encapsulated Fastify plugin: its form-body parser, cookies (session.ts)
 * and error pages stay here; the JSON API is untouched. Its routes are public for the
 * service's bearer-token hook; the console checks its own session.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { serverKey } from '../keys';
import { consoleClientId } from '../oidc/apps';
import type { SignIn } from '../oidc/mount';
import type { Database } from '../storage/database';
import { getTenantByName, getUser } from '../storage/repo';
import { adminRoutes } from './admin';
import { registerAppActions } from './app-actions';
import { registerBrowse } from './browse';
import { CONSOLE_CALLBACK_PATH } from './paths';
import {
  CONSOLE_KEY,
  type ConsoleSession,
  csrfMatches,
  csrfToken,
  LOGIN_COOKIE,
  LOGIN_TTL_S,
  openLogin,
  openSession,
  readCookie,
  sameString,
  sealLogin,
  sealSession,
  SESSION_COOKIE,
  setCookie,
} from './session';
import {
  type AppRow,
  appListPage,
  consoleErrorPage,
  consoleHeaders,
  COPY_SCRIPT,
  COPY_SCRIPT_PATH,
  credentialsPage,
  EMPTY_NEW_APP,
  type GroupChoice,
  type NewAppField,
  type NewAppInput,
  newAppPage,
  organizationPage,
  type Viewer,
} from './views';

/** Options of {@link consolePlugin}. */
export interface ConsoleOptions {
  db: Database;
  /**
   * The OpenID Connect provider once built: the issuer (by default the
   * service's own URL) is known only after the server listens.
   */
  signIn: () => Promise<SignIn>;
  /** The service itself: `/v1` calls are injected into it, and its socket takes the token requests. */
  service: FastifyInstance;
}

/** Refresh the access token when it has less than this left, so a page never fails half-way for an expiring token. */
const REFRESH_MARGIN_MS = 60_000;

/** The longest session cookie: the refresh token's life (oidc/provider.ts REFRESH_TOKEN_TTL_S). */
const SESSION_MAX_AGE_S = 14 * 24 * 3600;

/** What the token endpoint answers (the parts used). */
interface TokenAnswer {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
}

/** A `/v1` answer. */
interface ApiAnswer {
  status: number;
  json: any;
  /** The answer's ETag, for an If-Match on the next write. */
  etag?: string;
}

/** A problem document's field errors. */
interface FieldErrors {
  errors?: Array<{ path?: unknown; message?: unknown }>;
  detail?: unknown;
}

/** Thrown when the person's token no longer works: the session ends and they sign in again. */
class SignedOut extends Error {}

const PUBLIC = { config: { public: true } } as const;

/** The form field of an API error path: `callback_urls[2]` is at "Callback URL(s)", line 3. */
export function fieldOfPath(path: string): { field: NewAppField | undefined; line?: number } {
  const m = /^([a-z_]+)(?:\[(\d+)\])?/.exec(path);
  const known: readonly NewAppField[] = ['name', 'callback_urls', 'scope', 'public_client', 'require_pkce', 'grant_types'];
  if (m === null || !(known as readonly string[]).includes(m[1]!)) return { field: undefined };
  return { field: m[1] as NewAppField, ...(m[2] !== undefined ? { line: Number(m[2]) + 1 } : {}) };
}

/** Each API field error at its form field; errors of fields the form does not have go to `other`. */
export function errorsByField(problem: FieldErrors): { fields: Partial<Record<NewAppField, string[]>>; other: string[] } {
  const fields: Partial<Record<NewAppField, string[]>> = {};
  const other: string[] = [];
  for (const e of problem.errors ?? []) {
    const message = typeof e.message === 'string' ? e.message : 'is not valid';
    const { field, line } = fieldOfPath(typeof e.path === 'string' ? e.path : '');
    if (field === undefined) {
      other.push(`${typeof e.path === 'string' ? e.path : 'request'}: ${message}`);
      continue;
    }
    (fields[field] ??= []).push(line !== undefined ? `Line ${line}: ${message}` : message);
  }
  return { fields, other };
}

/** The registration body of a "New App Registration" form, as POST /v1/groups/{id}/apps takes it. */
export function registrationBody(i: NewAppInput): Record<string, unknown> {
  const grants: string[] = [];
  if (i.authorizationCode) grants.push('authorization_code');
  if (i.deviceGrant) grants.push('device_code');
  return {
    name: i.name,
    callback_urls: i.callbackUrls.split(/\r?\n/).map((u) => u.trim()).filter((u) => u !== ''),
    scope: i.scope,
    public_client: i.publicClient,
    // Unticked means "the default": false for a confidential client, true (the only value) for a public one.
    ...(i.requirePkce ? { require_pkce: true } : {}),
    grant_types: grants,
  };
}

/** The form's values (a urlencoded body, repeated names as arrays). */
function formInput(body: Record<string, unknown>): NewAppInput {
  const str = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '');
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
  const grants = list(body.grant_types);
  return {
    name: str(body.name),
    callbackUrls: str(body.callback_urls),
    scope: str(body.scope) === 'organization' ? 'organization' : 'group',
    publicClient: str(body.public_client) === 'true',
    requirePkce: str(body.require_pkce) === 'true',
    authorizationCode: grants.includes('authorization_code'),
    deviceGrant: grants.includes('device_code'),
  };
}

/** The URL of the service's own socket, for requests to the provider that must not leave the host. */
function ownUrl(service: FastifyInstance): string {
  const a = service.server.address() as AddressInfo | null;
  if (a === null || typeof a !== 'object') throw new Error('bug: the console made a token request before the service listens');
  const host = a.family === 'IPv6' ? (a.address === '::' ? '[::1]' : `[${a.address}]`) : a.address === '0.0.0.0' ? '127.0.0.1' : a.address;
  return `http://${host}:${a.port}`;
}

/** The console, to register with prefix `/console`. */
export async function consolePlugin(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const { db, service } = opts;
  const key = await serverKey(db, CONSOLE_KEY);
  await app.register(formbody, { bodyLimit: 256 * 1024 });

  const issuer = async (): Promise<string> => (await opts.signIn()).issuer;
  /** Sets a console cookie (Max-Age 0 deletes it). */
  const putCookie = async (reply: FastifyReply, name: string, value: string, maxAge: number): Promise<void> => {
    // Secure whenever the issuer (the origin people use) is https; plain http only for local use.
    const secure = (await issuer()).startsWith('https:');
    // Fastify appends set-cookie headers rather than replacing them.
    reply.header('set-cookie', setCookie(name, value, { path: '/console', secure, maxAge }));
  };
  const cookieOf = (req: FastifyRequest, name: string): string | undefined => readCookie(req.headers.cookie, name);

  // The page's own markup picks its policy: only the credentials page loads the copy script (views.ts consoleHeaders).
  const send = (reply: FastifyReply, status: number, html: string): FastifyReply => reply.code(status).headers(consoleHeaders(html)).send(html);

  /**
   * A request to the provider's token (or revocation) endpoint, as a public
   * client. Made to the service's own socket rather than to the issuer URL:
   * the issuer may be a public name behind a TLS-terminating proxy that the
   * host cannot reach (or should not hairpin through), and the provider
   * answers as the issuer whatever the request's Host (oidc/provider.ts).
   */
  const providerPost = async (path: string, form: Record<string, string>): Promise<Response> =>
    fetch(`${ownUrl(service)}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(15_000),
    });

  const tokenRequest = async (form: Record<string, string>): Promise<TokenAnswer | undefined> => {
    const res = await providerPost('/oauth/token', form);
    const body = (await res.json().catch(() => undefined)) as Partial<TokenAnswer> | undefined;
    if (!res.ok || body === undefined || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      // The error code only: the answer of a token endpoint is never logged whole.
      app.log.info({ status: res.status, error: (body as { error?: unknown } | undefined)?.error ?? null }, 'console: token request refused');
      return undefined;
    }
    return { access_token: body.access_token, expires_in: body.expires_in, ...(typeof body.refresh_token === 'string' ? { refresh_token: body.refresh_token } : {}) };
  };

  const sessionFrom = (t: TokenAnswer, tid: string, sid: string, previousRefresh?: string): ConsoleSession => ({
    v: 1,
    tid,
    at: t.access_token,
    exp: Date.now() + t.expires_in * 1000,
    ...(t.refresh_token !== undefined ? { rt: t.refresh_token } : previousRefresh !== undefined ? { rt: previousRefresh } : {}),
    sid,
  });

  const setSession = async (reply: FastifyReply, s: ConsoleSession): Promise<void> => {
    await putCookie(reply, SESSION_COOKIE, sealSession(key, s), SESSION_MAX_AGE_S);
  };
  const clearSession = async (reply: FastifyReply): Promise<void> => {
    await putCookie(reply, SESSION_COOKIE, '', 0);
  };

  /** The session of a request, refreshed when its access token is near expiry; undefined when there is none (any more). */
  const currentSession = async (req: FastifyRequest, reply: FastifyReply): Promise<ConsoleSession | undefined> => {
    const s = openSession(key, cookieOf(req, SESSION_COOKIE));
    if (s === undefined) return undefined;
    if (s.exp - Date.now() > REFRESH_MARGIN_MS) return s;
    const t = s.rt === undefined ? undefined : await tokenRequest({ grant_type: 'refresh_token', refresh_token: s.rt, client_id: consoleClientId(s.tid) });
    if (t === undefined) {
      await clearSession(reply);
      return undefined;
    }
    // The same session id: the CSRF token of a form already on screen stays valid across a refresh.
    const next = sessionFrom(t, s.tid, s.sid, s.rt);
    await setSession(reply, next);
    return next;
  };

  /** A `/v1` call with the person's access token, in-process: the person's rights, exactly as on the API. */
  const api = async (s: ConsoleSession, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> => {
    const res = await service.inject({
      method,
      url,
      headers: {
        ...headers,
        authorization: `Bearer ${s.at}`,
        accept: 'application/json',
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
    });
    // The token stopped working (the person was removed, the token revoked): sign in again.
    if (res.statusCode === 401) throw new SignedOut();
    let json: unknown;
    try {
      json = res.body === '' ? undefined : JSON.parse(res.body);
    } catch {
      json = undefined;
    }
    const etag = res.headers.etag;
    return { status: res.statusCode, json, ...(typeof etag === 'string' ? { etag } : {}) };
  };

  /** Who is signed in, and the groups they may pick. */
  const viewerOf = async (s: ConsoleSession): Promise<{ viewer: Viewer; groups: GroupChoice[] }> => {
    const me = await api(s, 'GET', '/v1/me');
    if (me.status !== 200) throw new Error(`GET /v1/me answered ${me.status}`);
    const m = me.json as { user_id: string; username: string; groups: Array<{ id: string; name: string; role: string }> };
    // Display only (the "Administration" entry and the "+" of a security admin); the API decides every action.
    const user = await getUser(db, s.tid, m.user_id);
    const securityAdmin = user?.security_admin === true;
    let groups: GroupChoice[] = m.groups.map((g) => ({ id: g.id, name: g.name, admin: g.role === 'admin' || securityAdmin }));
    if (securityAdmin) {
      // A security admin works in every group of the tenant, not only their own.
      const all = await api(s, 'GET', '/v1/groups');
      if (all.status === 200) {
        const items = (Array.isArray(all.json) ? all.json : (all.json as { items?: unknown }).items) as Array<{ id: string; name: string }> | undefined;
        if (Array.isArray(items)) groups = items.map((g) => ({ id: g.id, name: g.name, admin: true }));
      }
    }
    return { viewer: { username: m.username, securityAdmin, csrf: csrfToken(key, s) }, groups };
  };

  /**
   * Runs a page that needs a session: without one (or once its token stops
   * working) the person goes back to the first page to sign in again.
   */
  const withSession = (handler: (s: ConsoleSession, req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const s = await currentSession(req, reply);
      if (s === undefined) return reply.code(303).header('cache-control', 'no-store').redirect('/console');
      try {
        return await handler(s, req, reply);
      } catch (err) {
        if (!(err instanceof SignedOut)) throw err;
        await clearSession(reply);
        return reply.code(303).header('cache-control', 'no-store').redirect('/console');
      }
    };

  /** A POST's form body with its CSRF token checked; undefined once a 403 page is sent. */
  const checkedForm = (s: ConsoleSession, req: FastifyRequest, reply: FastifyReply): Record<string, unknown> | undefined => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof req.body !== 'object' || !csrfMatches(key, s, body.csrf)) {
      void send(reply, 403, consoleErrorPage({
        title: 'Request refused',
        message: 'The form could not be checked (it may be old, or from another site). Nothing was changed. Open the page again and retry.',
        back: { href: '/console/apps', label: 'Back to Register Custom Apps' },
      }));
      return undefined;
    }
    return body;
  };

  app.setErrorHandler(async (err, req, reply) => {
    req.log.error({ err }, 'console error');
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' && (err as { statusCode: number }).statusCode < 500
      ? (err as { statusCode: number }).statusCode
      : 500;
    return send(reply, status, consoleErrorPage({
      title: status < 500 ? 'Request refused' : 'Something went wrong',
      message: status < 500 ? 'The request could not be read. Open the page again and retry.' : 'The console could not finish this. The service log has the details.',
    }));
  });

  // A console address that does not exist is a page too, not the API's problem document.
  app.setNotFoundHandler(async (_req, reply) =>
    send(reply, 404, consoleErrorPage({ title: 'Page not found', message: 'There is no such page in the console.', back: { href: '/console', label: 'Go to the console' } })));

  // ---- the one static file --------------------------------------------------------------

  // The Copy buttons' script (views.ts COPY_SCRIPT): a file of the console itself, so the
  // credentials page allows `script-src 'self'` and nothing inline. The same for everyone and
  // holding nothing of a person, so it may be cached (an hour: a new release is picked up soon).
  app.get(COPY_SCRIPT_PATH.slice('/console'.length), PUBLIC, async (_req, reply) =>
    reply.code(200).headers({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    }).send(COPY_SCRIPT));

  // ---- signing in and out ----------------------------------------------------------

  app.get('/', PUBLIC, async (req, reply) => {
    const s = await currentSession(req, reply);
    if (s !== undefined) return reply.code(303).header('cache-control', 'no-store').redirect('/console/apps');
    return send(reply, 200, organizationPage({}));
  });

  app.get<{ Querystring: { organization?: string } }>('/signin', PUBLIC, async (req, reply) => {
    const name = typeof req.query.organization === 'string' ? req.query.organization.trim() : '';
    const tenant = name === '' || name.length > 200 ? undefined : await getTenantByName(db, name);
    if (tenant === undefined) {
      return send(reply, name === '' ? 400 : 404, organizationPage({
        organization: name,
        error: name === '' ? 'Enter the name of your organization.' : 'No organization has that name. Check the spelling, or ask your administrator.',
      }));
    }
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(24).toString('base64url');
    await putCookie(reply, LOGIN_COOKIE, sealLogin(key, { v: 1, tid: tenant.id, verifier, state, until: Date.now() + LOGIN_TTL_S * 1000 }), LOGIN_TTL_S);
    const iss = await issuer();
    const u = new URL('/oauth/authorize', iss);
    u.search = new URLSearchParams({
      client_id: consoleClientId(tenant.id),
      response_type: 'code',
      redirect_uri: `${iss}${CONSOLE_CALLBACK_PATH}`,
      scope: 'openid',
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return reply.code(303).header('cache-control', 'no-store').redirect(u.toString());
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/callback', PUBLIC, async (req, reply) => {
    const login = openLogin(key, cookieOf(req, LOGIN_COOKIE), Date.now());
    await putCookie(reply, LOGIN_COOKIE, '', 0);
    const q = req.query;
    if (login === undefined || typeof q.state !== 'string' || !sameString(q.state, login.state)) {
      return send(reply, 400, consoleErrorPage({
        title: 'Sign-in expired',
        message: 'This sign-in has expired or was started in another browser. Start again.',
      }));
    }
    if (typeof q.error === 'string') {
      return send(reply, 403, consoleErrorPage({
        title: 'Not signed in',
        message: typeof q.error_description === 'string' && q.error_description !== '' ? q.error_description : `The sign-in ended with ${q.error}.`,
      }));
    }
    if (typeof q.code !== 'string' || q.code === '') {
      return send(reply, 400, consoleErrorPage({ title: 'Sign-in failed', message: 'The sign-in came back without a code. Start again.' }));
    }
    const t = await tokenRequest({
      grant_type: 'authorization_code',
      code: q.code,
      redirect_uri: `${await issuer()}${CONSOLE_CALLBACK_PATH}`,
      client_id: consoleClientId(login.tid),
      code_verifier: login.verifier,
    });
    if (t === undefined) {
      return send(reply, 400, consoleErrorPage({ title: 'Sign-in failed', message: 'The sign-in could not be completed (the code may have expired). Start again.' }));
    }
    await setSession(reply, sessionFrom(t, login.tid, randomBytes(18).toString('base64url')));
    return reply.code(303).header('cache-control', 'no-store').redirect('/console/apps');
  });

  app.post('/signout', PUBLIC, async (req, reply) => {
    const s = openSession(key, cookieOf(req, SESSION_COOKIE));
    if (s !== undefined) {
      if (checkedForm(s, req, reply) === undefined) return reply;
      // The refresh token is revoked (which ends its grant, so the access token too), not just forgotten.
      if (s.rt !== undefined) {
        await providerPost('/oauth/revoke', { token: s.rt, token_type_hint: 'refresh_token', client_id: consoleClientId(s.tid) }).catch((err: unknown) =>
          req.log.warn({ err }, 'console: could not revoke the refresh token at sign-out'));
      }
    }
    await clearSession(reply);
    // The provider's own session (its cookie) ends on its sign-out page.
    return reply.code(303).header('cache-control', 'no-store').redirect(`${await issuer()}/oauth/logout`);
  });

  // ---- Register Custom Apps ------------------------------------------------------------

  /** The group a page works in: the one asked for if the person may pick it, else their first. */
  const pickGroup = (groups: readonly GroupChoice[], asked: unknown): GroupChoice | undefined =>
    groups.find((g) => g.id === asked) ?? groups[0];

  app.get('/apps', PUBLIC, withSession(async (s, req, reply) => {
    const { viewer, groups } = await viewerOf(s);
    const group = pickGroup(groups, (req.query as { group_id?: unknown }).group_id);
    let apps: AppRow[] = [];
    let message: string | undefined;
    if (group !== undefined) {
      const r = await api(s, 'GET', `/v1/apps?group_id=${encodeURIComponent(group.id)}&limit=100`);
      if (r.status === 200) apps = (r.json as { items: AppRow[] }).items.filter((a) => (a as AppRow & { group_id?: string }).group_id === group.id);
      else message = problemText(r);
    }
    return send(reply, 200, appListPage({ viewer, groups, group, apps, ...(message !== undefined ? { message } : {}) }));
  }));

  app.get('/apps/new', PUBLIC, withSession(async (s, req, reply) => {
    const { viewer, groups } = await viewerOf(s);
    const group = pickGroup(groups, (req.query as { group_id?: unknown }).group_id);
    if (group === undefined) return reply.code(303).redirect('/console/apps');
    return send(reply, 200, newAppPage({
      viewer,
      group,
      input: EMPTY_NEW_APP,
      ...(group.admin ? {} : { message: 'Only a group administrator of this group registers apps; you may look, but "Add" will be refused.' }),
    }));
  }));

  app.post('/apps/new', PUBLIC, withSession(async (s, req, reply) => {
    const body = checkedForm(s, req, reply);
    if (body === undefined) return reply;
    const { viewer, groups } = await viewerOf(s);
    const group = groups.find((g) => g.id === body.group_id);
    if (group === undefined) {
      return send(reply, 404, consoleErrorPage({ title: 'No such group', message: 'That group does not exist or you are not in it.', viewer }));
    }
    const input = formInput(body);
    const r = await api(s, 'POST', `/v1/groups/${encodeURIComponent(group.id)}/apps`, registrationBody(input));
    if (r.status === 201) {
      const created = r.json as { name: string; client_id: string; client_secret?: string };
      return send(reply, 201, credentialsPage({
        viewer,
        groupId: group.id,
        appName: created.name,
        clientId: created.client_id,
        ...(typeof created.client_secret === 'string' ? { clientSecret: created.client_secret } : {}),
      }));
    }
    const { fields, other } = errorsByField((r.json ?? {}) as FieldErrors);
    const hasFieldErrors = Object.keys(fields).length > 0;
    const message = hasFieldErrors
      ? ['The app was not registered: correct the fields marked below.', ...other].join(' ')
      : problemText(r);
    return send(reply, r.status, newAppPage({ viewer, group, input, errors: fields, message }));
  }));

  // ---- Administration > Security > OAuth Clients (admin.ts) ------------------------------
  adminRoutes(app, { withSession, api, viewerOf, send, checkedForm, publicRoute: PUBLIC });

  // ---- per app (edit, rotate secret, delete) and Browse App Registrations ------------------
  registerAppActions(app, { api, withSession, checkedForm, viewerOf, send, pickGroup });
  registerBrowse(app, { api, withSession, checkedForm, viewerOf, send, pickGroup });
}

/** The words of a refusal from the API, for a message at the top of a page. */
function problemText(r: ApiAnswer): string {
  const p = (r.json ?? {}) as { detail?: unknown; title?: unknown };
  const detail = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : `The service answered ${r.status}.`;
  if (r.status === 403) return `You may not do this: ${detail}`;
  return detail;
}
