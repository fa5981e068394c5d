/**
 * The app side of the sign-in tests: a real OpenID Connect client
 * (openid-client 6) that signs a person in against `appreg serve`.
 *
 * openid-client is ESM-only; jest 29 cannot load it, Node 20 can (require of
 * an ES module). So this file runs as its own process, compiled:
 * `node dist/test/support/oidc-driver.js`, one JSON {@link OidcRequest} on
 * standard input, one JSON {@link OidcResult} on standard output.
 * test/support/oidc-client.ts runs it from jest. Jest only imports the TYPES
 * of this file (`import type`), which are erased, so openid-client is never
 * loaded there.
 *
 * Standard error gets progress lines (paths without queries, what the
 * person clicked); never a token, a code, a secret or a password.
 * Standard output carries tokens only when the request says `return_tokens`.
 */
import * as oidc from 'openid-client';
import { PersonAgent, UnexpectedPageError, type AgentPage, type AuthorizeOutcome, type DeviceOutcome, type ScreenKind } from '../../scripts/lib/person-agent';

// ---- the JSON contract (shared with oidc-client.ts) -----------------------------

/** How the client authenticates at the token endpoint: client_secret_basic, client_secret_post, or none (public). */
export type ClientAuthMethod = 'basic' | 'post' | 'none';

/** The person who signs in, and what they answer on the consent screen (default allow). */
export interface OidcPerson {
  username: string;
  password: string;
  consent?: 'allow' | 'deny';
}

/** What to do after the grant, in order; the run stops at the first step that fails (a call_api never fails). */
export type OidcStep =
  /** refresh_token grant with the current refresh token; the new tokens become the current ones. */
  | { do: 'refresh' }
  /** GET the userinfo endpoint with the current access token. */
  | { do: 'userinfo' }
  /** Revoke the current access or refresh token (default the access token). */
  | { do: 'revoke'; token?: 'access_token' | 'refresh_token' }
  /** Call the service's API (`/v1/me`, ...) with the current access token as a Bearer token. */
  | { do: 'call_api'; path: string; method?: string; body?: unknown }
  /** Let time pass (for expiry tests). */
  | { do: 'sleep'; ms: number };

interface OidcRequestBase {
  /** The issuer URL; discovery is at `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  client_id: string;
  /** For auth 'basic' and 'post'. */
  client_secret?: string;
  auth: ClientAuthMethod;
  /** Space-separated scopes, e.g. "openid profile offline_access". */
  scope: string;
  person: OidcPerson;
  steps?: OidcStep[];
  /** Put the raw tokens in the result (to use them from jest). Default false: only whether each is present. */
  return_tokens?: boolean;
  /** Base URL of the `/v1` API for call_api; default the issuer's origin. */
  api_base?: string;
  /** The whole run's deadline in milliseconds; default 60000. */
  timeout_ms?: number;
}

/** Authorization code flow: the person goes through the screens in a headless browser (scripts/lib/person-agent.ts). */
export interface CodeFlowRequest extends OidcRequestBase {
  flow: 'code';
  redirect_uri: string;
  /** S256 (what the service supports), plain (sent as-is, to see it refused), or none (no code_challenge). */
  pkce: 'S256' | 'plain' | 'none';
  /** More authorization request parameters (prompt, max_age, ...); they win over the driver's own. */
  extra_params?: Record<string, string>;
  /** Send a nonce (default: when scope has openid) and check it in the ID token. */
  nonce?: boolean;
  /**
   * Redeem the same code a second time after the first grant; the result's
   * `code_replay` says what the token endpoint answered (it must refuse).
   * oidc-provider then also revokes what the code gave (RFC 6749 4.1.2), so
   * later steps see the tokens as revoked.
   */
  replay_code?: boolean;
  /**
   * First redeem the code with a different code_verifier (PKCE must refuse
   * it) and report the answer in `code_replay`; the real redemption follows,
   * and shows whether the failed attempt burned the code.
   */
  wrong_verifier?: boolean;
}

/** Device authorization grant (RFC 8628): the device asks, the person confirms on the verification page, the device polls. */
export interface DeviceFlowRequest extends OidcRequestBase {
  flow: 'device';
  /** Open `verification_uri_complete` (no typing of the code) instead of `verification_uri`. */
  use_complete_uri?: boolean;
  /** Type this instead of the real user code (a wrong code). */
  user_code_override?: string;
  /** Before the person acts, make one token request and report its error (should be authorization_pending). */
  pending_check?: boolean;
  /**
   * Poll at the server's interval as a real device does (slow: 5 s by
   * default). Otherwise the first poll follows the person's confirmation at
   * once, and pending polls repeat every 200 ms.
   */
  honour_interval?: boolean;
}

/** One run of the driver. */
export type OidcRequest = CodeFlowRequest | DeviceFlowRequest;

/** Where a run failed. */
export type OidcWhere =
  | 'request'
  | 'discovery'
  | 'authorize'
  | 'device_authorization'
  | 'device_page'
  | 'token'
  | 'refresh'
  | 'userinfo'
  | 'revoke'
  | 'call_api'
  | 'driver';

/** A failure: the OAuth error code when the server sent one (`invalid_client`, `access_denied`, ...), else a driver code. */
export interface OidcError {
  /**
   * The OAuth error, or: `page` (the person ended on a page instead of a
   * redirect: see `page`), `wrong_redirect` (redirected somewhere other
   * than the redirect_uri), `client_error` (openid-client refused the
   * answer: see `error_description`), `timeout`, `crash`.
   */
  error: string;
  error_description?: string;
  where: OidcWhere;
  /** The HTTP status of the answer, when there was one. */
  status?: number;
  /** openid-client's error code (OAUTH_..., ERR_...), when it raised one. */
  code?: string;
  /** The page the person ended on (error === 'page'). */
  page?: { status: number; url: string; title: string; text: string };
}

/** What a token response held: presence flags, the ID token's claims, and the tokens themselves only on request. */
export interface TokenSummary {
  token_type?: string;
  expires_in?: number;
  scope?: string;
  access_token_present: boolean;
  /** 'jwt' when the access token has the form of a JWT (three dot-separated parts), else 'opaque'. */
  access_token_format: 'jwt' | 'opaque' | 'none';
  refresh_token_present: boolean;
  id_token_present: boolean;
  /** The ID token's claims (openid-client has checked iss, aud, exp, iat and the nonce). */
  id_token_claims?: Record<string, unknown>;
  access_token?: string;
  refresh_token?: string;
  id_token?: string;
}

/** An API call's answer. */
export interface ApiAnswer {
  status: number;
  json?: unknown;
  /** The body when it is not JSON (first 2000 characters). */
  text?: string;
  www_authenticate?: string;
}

/** One step's outcome. */
export interface OidcStepResult {
  do: OidcStep['do'];
  ok: boolean;
  tokens?: TokenSummary;
  userinfo?: Record<string, unknown>;
  api?: ApiAnswer;
  error?: OidcError;
}

/** What a run found out. */
export interface OidcResult {
  ok: boolean;
  flow: OidcRequest['flow'];
  /** The first failure (the run stops there). */
  error?: OidcError;
  /** The issuer's discovery document. */
  metadata?: Record<string, unknown>;
  /** Code flow: the authorization response's parameter names (never their values), e.g. ["code","iss","state"]. */
  callback_params?: string[];
  /** Code flow: whether the authorization response (a code or an error) carried back the request's state. */
  callback_state_matches?: boolean;
  /** Device flow: what the device was told (not the device code). */
  device?: { verification_uri: string; verification_uri_complete_present: boolean; user_code_length: number; expires_in: number; interval?: number };
  /** Device flow, pending_check: the error of the token request made before the person acted. */
  pending_check?: { error: string; status?: number };
  /** Device flow: the text of the page the person ended on. */
  device_page?: { title: string; text: string; connected: boolean };
  /** Code flow, replay_code / wrong_verifier: what the token endpoint said to the second redemption. */
  code_replay?: OidcError | { error: 'none'; where: 'token' };
  /** The tokens of the grant. */
  tokens?: TokenSummary;
  /** The last userinfo answer. */
  userinfo?: Record<string, unknown>;
  /** The last API answer. */
  api?: ApiAnswer;
  steps: OidcStepResult[];
  /** What the person did on the screens (no secrets). */
  person_steps: string[];
  /** The screens the person answered, in order, e.g. ["sign-in","consent"]; no "consent" when it was given before. */
  screens: ScreenKind[];
}

// ---- the run ------------------------------------------------------------------------

/** Thrown inside a run to end it with an {@link OidcError}. */
class Failure extends Error {
  constructor(readonly failure: OidcError) {
    super(failure.error);
  }
}

function progress(line: string): void {
  process.stderr.write(`[oidc-driver] ${line}\n`);
}

/** Where the page excerpt ends: enough for an error page's message, short enough for a failure message. */
const PAGE_EXCERPT = 1500;

function pageExcerpt(page: AgentPage): NonNullable<OidcError['page']> {
  return { status: page.status, url: page.url.split('?')[0]!, title: page.title, text: page.text.slice(0, PAGE_EXCERPT) };
}

/**
 * An openid-client error as an {@link OidcError}: the server's OAuth error
 * when it sent one (in the body or in WWW-Authenticate), else the library's
 * own complaint, so a test sees "invalid_client" rather than a stack.
 */
export function describeError(e: unknown, where: OidcWhere): OidcError {
  if (e instanceof Failure) return e.failure;
  const err = e as { name?: string; message?: string; code?: string; error?: string; error_description?: string; status?: number; cause?: unknown };
  if (e instanceof oidc.ResponseBodyError) {
    return { error: e.error, ...(e.error_description ? { error_description: e.error_description } : {}), where, status: e.status, code: e.code };
  }
  if (e instanceof oidc.AuthorizationResponseError) {
    return { error: e.error, ...(e.error_description ? { error_description: e.error_description } : {}), where, code: e.code };
  }
  if (e instanceof oidc.WWWAuthenticateChallengeError) {
    const challenge = e.cause[0];
    const params = challenge?.parameters ?? {};
    return {
      error: params.error ?? 'www_authenticate',
      ...(params.error_description ? { error_description: params.error_description } : {}),
      where,
      status: e.status,
      code: e.code,
    };
  }
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return { error: 'timeout', error_description: err.message ?? 'timed out', where };
  // openid-client wraps the HTTP response when it cannot make sense of it; say what came back.
  const cause = err?.cause as { status?: number; code?: string; message?: string } | undefined;
  // fetch's "fetch failed" says why only in its cause (ECONNREFUSED, ...).
  const why = cause instanceof Error ? ` (${(cause as Error & { code?: string }).code ?? cause.message})` : '';
  return {
    error: 'client_error',
    error_description: `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}${why}`,
    where,
    ...(typeof cause?.status === 'number' ? { status: cause.status } : {}),
    ...(err?.code ? { code: err.code } : {}),
  };
}

function summarize(t: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, returnTokens: boolean): TokenSummary {
  const claims = t.id_token ? t.claims() : undefined;
  return {
    ...(t.token_type !== undefined ? { token_type: t.token_type } : {}),
    ...(t.expires_in !== undefined ? { expires_in: t.expires_in } : {}),
    ...(t.scope !== undefined ? { scope: t.scope } : {}),
    access_token_present: typeof t.access_token === 'string' && t.access_token !== '',
    access_token_format: !t.access_token ? 'none' : t.access_token.split('.').length === 3 ? 'jwt' : 'opaque',
    refresh_token_present: typeof t.refresh_token === 'string' && t.refresh_token !== '',
    id_token_present: typeof t.id_token === 'string' && t.id_token !== '',
    ...(claims ? { id_token_claims: { ...claims } } : {}),
    ...(returnTokens
      ? {
          ...(t.access_token ? { access_token: t.access_token } : {}),
          ...(t.refresh_token ? { refresh_token: t.refresh_token } : {}),
          ...(t.id_token ? { id_token: t.id_token } : {}),
        }
      : {}),
  };
}

function clientAuth(req: OidcRequest): oidc.ClientAuth {
  switch (req.auth) {
    case 'basic':
      if (req.client_secret === undefined) throw new Failure({ error: 'bad_request', error_description: 'auth "basic" needs client_secret', where: 'request' });
      return oidc.ClientSecretBasic(req.client_secret);
    case 'post':
      if (req.client_secret === undefined) throw new Failure({ error: 'bad_request', error_description: 'auth "post" needs client_secret', where: 'request' });
      return oidc.ClientSecretPost(req.client_secret);
    case 'none':
      return oidc.None();
    default:
      throw new Failure({ error: 'bad_request', error_description: `unknown auth ${JSON.stringify((req as { auth: unknown }).auth)}`, where: 'request' });
  }
}

/** The checks a malformed request fails, before anything is sent. */
function checkRequest(req: unknown): asserts req is OidcRequest {
  const bad = (what: string): Failure => new Failure({ error: 'bad_request', error_description: what, where: 'request' });
  if (req === null || typeof req !== 'object') throw bad('the request must be a JSON object');
  const r = req as { [k: string]: unknown; person?: { username?: unknown; password?: unknown } };
  if (r.flow !== 'code' && r.flow !== 'device') throw bad('flow must be "code" or "device"');
  for (const k of ['issuer', 'client_id', 'scope']) if (typeof r[k] !== 'string') throw bad(`${k} must be a string`);
  if (typeof r.person?.username !== 'string' || typeof r.person.password !== 'string') throw bad('person must have username and password');
  if (r.flow === 'code') {
    if (typeof r.redirect_uri !== 'string') throw bad('redirect_uri must be a string');
    if (!['S256', 'plain', 'none'].includes(String(r.pkce))) throw bad('pkce must be "S256", "plain" or "none"');
  }
}

/** Runs one request to its end; never throws (failures are in the result). */
export async function runRequest(input: unknown): Promise<OidcResult> {
  const flow = ((input as { flow?: unknown } | null)?.flow === 'device' ? 'device' : 'code') as OidcRequest['flow'];
  const result: OidcResult = { ok: false, flow, steps: [], person_steps: [], screens: [] };
  try {
    checkRequest(input);
    const req = input;
    let config: oidc.Configuration;
    try {
      config = await oidc.discovery(new URL(req.issuer), req.client_id, undefined, clientAuth(req), {
        // The test issuer is http://127.0.0.1:<port>; openid-client refuses plain http without this.
        execute: [oidc.allowInsecureRequests],
        timeout: 15,
      });
    } catch (e) {
      throw new Failure(describeError(e, 'discovery'));
    }
    result.metadata = { ...config.serverMetadata() } as Record<string, unknown>;
    progress(`discovered ${req.issuer}`);
    let tokens = req.flow === 'code' ? await codeFlow(config, req, result) : await deviceFlow(config, req, result);
    result.tokens = summarize(tokens, req.return_tokens === true);
    await runSteps(config, req, tokens, result, (t) => (tokens = t));
    result.ok = result.error === undefined;
  } catch (e) {
    result.ok = false;
    result.error = e instanceof Failure ? e.failure : { error: 'crash', error_description: (e as Error)?.stack ?? String(e), where: 'driver' };
  }
  return result;
}

type Tokens = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

/** A fresh person (no cookies: a new browser) who follows redirects only within `issuer`'s origin. */
function newPerson(req: OidcRequest, issuer?: string): PersonAgent {
  return new PersonAgent({
    username: req.person.username,
    password: req.person.password,
    consent: req.person.consent ?? 'allow',
    ...(issuer !== undefined ? { issuer } : {}),
    onStep: (l) => progress(`person: ${l}`),
  });
}

/** The person's own failure (a page without the expected form) as the run's failure. */
function personFailure(e: unknown, where: OidcWhere): Failure {
  return new Failure({
    error: 'page',
    error_description: (e as Error)?.message ?? String(e),
    where,
    ...(e instanceof UnexpectedPageError ? { status: e.page.status, page: pageExcerpt(e.page) } : {}),
  });
}

async function codeFlow(config: oidc.Configuration, req: CodeFlowRequest, result: OidcResult): Promise<Tokens> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const wantsNonce = req.nonce ?? req.scope.split(/\s+/).includes('openid');
  const nonce = wantsNonce ? oidc.randomNonce() : undefined;
  const params: Record<string, string> = { redirect_uri: req.redirect_uri, scope: req.scope, state, ...(nonce ? { nonce } : {}) };
  if (req.pkce === 'S256') {
    params.code_challenge = await oidc.calculatePKCECodeChallenge(verifier);
    params.code_challenge_method = 'S256';
  } else if (req.pkce === 'plain') {
    params.code_challenge = verifier;
    params.code_challenge_method = 'plain';
  }
  Object.assign(params, req.extra_params ?? {});
  const authUrl = oidc.buildAuthorizationUrl(config, params);
  const person = newPerson(req, new URL(config.serverMetadata().authorization_endpoint ?? req.issuer).origin);
  let outcome: AuthorizeOutcome;
  try {
    outcome = await person.authorize(authUrl.href, req.redirect_uri);
  } catch (e) {
    throw personFailure(e, 'authorize');
  }
  result.person_steps.push(...outcome.steps);
  result.screens.push(...outcome.screens);
  if (outcome.page) {
    throw new Failure({ error: 'page', where: 'authorize', status: outcome.page.status, page: pageExcerpt(outcome.page) });
  }
  const callback = new URL(outcome.callbackUrl!);
  const expected = new URL(req.redirect_uri);
  // The person stops at any URL starting with the redirect_uri; the app accepts only the redirect_uri itself.
  if (callback.origin !== expected.origin || callback.pathname !== expected.pathname) {
    throw new Failure({ error: 'wrong_redirect', error_description: `redirected to ${callback.origin}${callback.pathname}, not to the redirect_uri`, where: 'authorize' });
  }
  result.callback_params = [...new Set(callback.searchParams.keys())].sort();
  result.callback_state_matches = callback.searchParams.get('state') === state;
  const error = callback.searchParams.get('error');
  if (error !== null) {
    const description = callback.searchParams.get('error_description');
    throw new Failure({ error, ...(description !== null ? { error_description: description } : {}), where: 'authorize' });
  }
  const checks: oidc.AuthorizationCodeGrantChecks = {
    expectedState: state,
    ...(nonce ? { expectedNonce: nonce } : {}),
    ...(req.pkce !== 'none' ? { pkceCodeVerifier: verifier } : {}),
    idTokenExpected: req.scope.split(/\s+/).includes('openid'),
  };
  if (req.wrong_verifier) {
    // A stolen code without the verifier: the token endpoint must refuse it (invalid_grant).
    try {
      await oidc.authorizationCodeGrant(config, callback, { ...checks, pkceCodeVerifier: oidc.randomPKCECodeVerifier() });
      result.code_replay = { error: 'none', where: 'token' };
    } catch (e) {
      result.code_replay = describeError(e, 'token');
    }
  }
  let tokens: Tokens;
  try {
    tokens = await oidc.authorizationCodeGrant(config, callback, checks);
  } catch (e) {
    throw new Failure(describeError(e, 'token'));
  }
  progress('code redeemed');
  if (req.replay_code) {
    try {
      await oidc.authorizationCodeGrant(config, callback, checks);
      result.code_replay = { error: 'none', where: 'token' };
    } catch (e) {
      result.code_replay = describeError(e, 'token');
    }
  }
  return tokens;
}

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

async function deviceFlow(config: oidc.Configuration, req: DeviceFlowRequest, result: OidcResult): Promise<Tokens> {
  let auth: oidc.DeviceAuthorizationResponse;
  try {
    auth = await oidc.initiateDeviceAuthorization(config, { scope: req.scope });
  } catch (e) {
    throw new Failure(describeError(e, 'device_authorization'));
  }
  result.device = {
    verification_uri: auth.verification_uri,
    verification_uri_complete_present: typeof auth.verification_uri_complete === 'string',
    user_code_length: auth.user_code.length,
    expires_in: auth.expires_in,
    ...(auth.interval !== undefined ? { interval: auth.interval } : {}),
  };
  progress(`device authorization started; verification_uri ${auth.verification_uri.split('?')[0]}`);
  if (req.pending_check) {
    try {
      await oidc.genericGrantRequest(config, DEVICE_CODE_GRANT, { device_code: auth.device_code });
      result.pending_check = { error: 'none' };
    } catch (e) {
      const d = describeError(e, 'token');
      result.pending_check = { error: d.error, ...(d.status !== undefined ? { status: d.status } : {}) };
    }
  }
  const openComplete = req.use_complete_uri === true;
  if (openComplete && auth.verification_uri_complete === undefined) {
    throw new Failure({ error: 'no_verification_uri_complete', where: 'device_authorization' });
  }
  let outcome: DeviceOutcome;
  try {
    outcome = await newPerson(req).completeDevice(
      openComplete ? auth.verification_uri_complete! : auth.verification_uri,
      openComplete ? undefined : req.user_code_override ?? auth.user_code,
    );
  } catch (e) {
    throw personFailure(e, 'device_page');
  }
  result.person_steps.push(...outcome.steps);
  result.screens.push(...outcome.screens);
  result.device_page = { title: outcome.page.title, text: outcome.page.text.slice(0, PAGE_EXCERPT), connected: outcome.connected };
  if (!outcome.connected) {
    // Not connected (a denial, a wrong code, an error page): one token request says which, without
    // polling until the code expires. A pending answer means the person's part did not complete.
    try {
      const tokens = await oidc.genericGrantRequest(config, DEVICE_CODE_GRANT, { device_code: auth.device_code });
      progress('device token issued although the page did not say connected');
      return tokens;
    } catch (e) {
      const d = describeError(e, 'token');
      if (d.error === 'authorization_pending') throw new Failure({ error: 'page', where: 'device_page', status: outcome.page.status, page: pageExcerpt(outcome.page) });
      throw new Failure(d);
    }
  }
  // The person has confirmed: poll at once, not after the server's interval (5 s by default); pending polls repeat quickly.
  const pollAs = req.honour_interval ? auth : { ...auth, interval: 0.2 };
  const deadline = Math.min(auth.expires_in, req.honour_interval ? auth.expires_in : 30) * 1000;
  try {
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, pollAs, undefined, { signal: AbortSignal.timeout(deadline) });
    progress('device token issued');
    return tokens;
  } catch (e) {
    throw new Failure(describeError(e, 'token'));
  }
}

async function runSteps(config: oidc.Configuration, req: OidcRequest, first: Tokens, result: OidcResult, setTokens: (t: Tokens) => void): Promise<void> {
  let tokens = first;
  let refreshToken = first.refresh_token;
  const subject = first.id_token ? first.claims()?.sub : undefined;
  const apiBase = (req.api_base ?? new URL(req.issuer).origin).replace(/\/+$/, '');
  for (const step of req.steps ?? []) {
    const out: OidcStepResult = { do: step.do, ok: true };
    result.steps.push(out);
    try {
      switch (step.do) {
        case 'refresh': {
          if (!refreshToken) throw new Failure({ error: 'no_refresh_token', error_description: 'the grant issued no refresh token', where: 'refresh' });
          try {
            tokens = await oidc.refreshTokenGrant(config, refreshToken);
          } catch (e) {
            throw new Failure(describeError(e, 'refresh'));
          }
          // A server that does not rotate refresh tokens sends none back; the old one stays valid.
          refreshToken = tokens.refresh_token ?? refreshToken;
          setTokens(tokens);
          out.tokens = summarize(tokens, req.return_tokens === true);
          progress('refreshed');
          break;
        }
        case 'userinfo': {
          try {
            out.userinfo = { ...(await oidc.fetchUserInfo(config, tokens.access_token, subject ?? oidc.skipSubjectCheck)) };
          } catch (e) {
            throw new Failure(describeError(e, 'userinfo'));
          }
          result.userinfo = out.userinfo;
          progress('userinfo fetched');
          break;
        }
        case 'revoke': {
          const which = step.token ?? 'access_token';
          const token = which === 'refresh_token' ? refreshToken : tokens.access_token;
          if (!token) throw new Failure({ error: 'no_refresh_token', error_description: 'nothing to revoke', where: 'revoke' });
          try {
            await oidc.tokenRevocation(config, token, { token_type_hint: which });
          } catch (e) {
            throw new Failure(describeError(e, 'revoke'));
          }
          progress(`revoked the ${which}`);
          break;
        }
        case 'call_api': {
          out.api = await callApi(apiBase, step, tokens.access_token);
          result.api = out.api;
          progress(`${step.method ?? 'GET'} ${step.path} -> ${out.api.status}`);
          break;
        }
        case 'sleep':
          await new Promise((r) => setTimeout(r, step.ms));
          break;
        default:
          throw new Failure({ error: 'bad_request', error_description: `unknown step ${JSON.stringify((step as { do: unknown }).do)}`, where: 'request' });
      }
    } catch (e) {
      out.ok = false;
      out.error = describeError(e, 'driver');
      result.error = out.error;
      return;
    }
  }
}

async function callApi(base: string, step: Extract<OidcStep, { do: 'call_api' }>, accessToken: string): Promise<ApiAnswer> {
  const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: 'application/json' };
  if (step.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${base}${step.path}`, {
      method: step.method ?? 'GET',
      headers,
      ...(step.body !== undefined ? { body: JSON.stringify(step.body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    throw new Failure({ error: 'network', error_description: (e as Error).message, where: 'call_api' });
  }
  const text = await res.text();
  const www = res.headers.get('www-authenticate');
  const answer: ApiAnswer = { status: res.status, ...(www !== null ? { www_authenticate: www } : {}) };
  try {
    answer.json = text === '' ? undefined : JSON.parse(text);
  } catch {
    answer.text = text.slice(0, 2000);
  }
  return answer;
}

/** Reads the request from stdin, runs it, writes the result on stdout (exit 0 whatever the outcome; 2 on a crash). */
async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  let input: unknown;
  try {
    input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, flow: 'code', steps: [], person_steps: [], screens: [], error: { error: 'bad_request', error_description: `not JSON: ${(e as Error).message}`, where: 'request' } })}\n`);
    process.exitCode = 2;
    return;
  }
  const timeoutMs = Number((input as { timeout_ms?: unknown } | null)?.timeout_ms ?? 60_000);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<OidcResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, flow: (input as OidcRequest).flow, steps: [], person_steps: [], screens: [], error: { error: 'timeout', error_description: `no result within ${timeoutMs} ms`, where: 'driver' } }),
      timeoutMs,
    );
  });
  const result = await Promise.race([runRequest(input), timedOut]);
  clearTimeout(timer);
  // Written in one piece and then exit, so the parent reads exactly one JSON document.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(result.error?.where === 'driver' && result.error.error === 'crash' ? 2 : 0));
}

if (require.main === module) {
  void main();
}
