/**
 * The console's cookies: the session (the person's tokens) and the sign-in
 * in progress (PKCE verifier and state), each sealed with AES-256-GCM
 * (crypto.ts `seal`) under a key kept in the database (keys.ts), so that
 * restarts and several instances agree and nothing in them is readable or
 * forgeable by the browser or by scripts (they are HttpOnly as well).
 *
 * The CSRF token of a session is an HMAC of the session's random id: it is
 * the same on every page of one session, differs between sessions, and
 * cannot be made without the server key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { open, seal } from '../crypto';

/** Name of the console's sealing key in `server_keys`. */
export const CONSOLE_KEY = 'console-session-v1';

/** The session cookie. */
export const SESSION_COOKIE = 'appreg_console';
/** The cookie of a sign-in in progress. */
export const LOGIN_COOKIE = 'appreg_console_login';

/** How long a sign-in may take, seconds (the provider's interaction lives longer; this bounds the verifier). */
export const LOGIN_TTL_S = 600;

/** What the session cookie holds. Never logged, never in a URL. */
export interface ConsoleSession {
  v: 1;
  /** The tenant the person signed in to (the console client is per tenant). */
  tid: string;
  /** Access token, its expiry (epoch ms), and the refresh token. */
  at: string;
  exp: number;
  rt?: string;
  /** Random id of this session: what its CSRF token is made from. */
  sid: string;
}

/** What the sign-in cookie holds while the person is at the provider. */
export interface PendingLogin {
  v: 1;
  tid: string;
  verifier: string;
  state: string;
  /** Epoch ms after which the sign-in is refused. */
  until: number;
}

const SESSION_AAD = 'appreg console session v1';
const LOGIN_AAD = 'appreg console login v1';

/** Seals a value for a cookie (base64url of the envelope). */
function sealCookie(key: string, aad: string, value: object): string {
  return Buffer.from(seal(key, aad, JSON.stringify(value)), 'utf8').toString('base64url');
}

/** Opens a sealed cookie, or undefined for anything forged, damaged, or sealed for another purpose. */
function openCookie(key: string, aad: string, cookie: string | undefined): unknown {
  if (cookie === undefined || cookie === '' || cookie.length > 4096) return undefined;
  try {
    return JSON.parse(open(key, aad, Buffer.from(cookie, 'base64url').toString('utf8')));
  } catch {
    return undefined;
  }
}

/** The session cookie's value. */
export function sealSession(key: string, s: ConsoleSession): string {
  return sealCookie(key, SESSION_AAD, s);
}

/** The session in a cookie, or undefined. */
export function openSession(key: string, cookie: string | undefined): ConsoleSession | undefined {
  const s = openCookie(key, SESSION_AAD, cookie) as Partial<ConsoleSession> | undefined;
  if (s === undefined || s === null || s.v !== 1 || typeof s.tid !== 'string' || typeof s.at !== 'string' || typeof s.exp !== 'number' || typeof s.sid !== 'string') {
    return undefined;
  }
  return s as ConsoleSession;
}

/** The sign-in cookie's value. */
export function sealLogin(key: string, l: PendingLogin): string {
  return sealCookie(key, LOGIN_AAD, l);
}

/** The sign-in in a cookie, or undefined (also once expired). */
export function openLogin(key: string, cookie: string | undefined, nowMs: number): PendingLogin | undefined {
  const l = openCookie(key, LOGIN_AAD, cookie) as Partial<PendingLogin> | undefined;
  if (l === undefined || l === null || l.v !== 1 || typeof l.tid !== 'string' || typeof l.verifier !== 'string' || typeof l.state !== 'string') return undefined;
  if (typeof l.until !== 'number' || l.until < nowMs) return undefined;
  return l as PendingLogin;
}

/** The CSRF token of a session. */
export function csrfToken(key: string, s: Pick<ConsoleSession, 'sid'>): string {
  return createHmac('sha256', key).update(`console csrf\0${s.sid}`).digest('base64url');
}

/** Whether `sent` is the CSRF token of the session, in constant time. */
export function csrfMatches(key: string, s: Pick<ConsoleSession, 'sid'>, sent: unknown): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(csrfToken(key, s));
  const b = Buffer.from(sent);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Compares two strings in constant time (for the OAuth state). */
export function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Attributes of a console cookie. */
export interface CookieOptions {
  path: string;
  secure: boolean;
  /** Seconds; 0 deletes the cookie; undefined makes a browser-session cookie. */
  maxAge?: number;
}

/**
 * A `Set-Cookie` value: always HttpOnly (no script ever reads these) and
 * SameSite=Lax (sent on the top-level redirect back from the sign-in, not on
 * cross-site posts). Values here are base64url, which needs no encoding.
 * Written by hand rather than with a cookie library: two cookies of one
 * known shape do not justify a dependency (`cookie` 2 wants Node.js 22).
 */
export function setCookie(name: string, value: string, o: CookieOptions): string {
  if (!/^[A-Za-z0-9_-]*$/.test(value)) throw new Error('bug: a console cookie value must be base64url');
  return [
    `${name}=${value}`,
    `Path=${o.path}`,
    ...(o.maxAge !== undefined ? [`Max-Age=${o.maxAge}`] : []),
    ...(o.maxAge === 0 ? ['Expires=Thu, 01 Jan 1970 00:00:00 GMT'] : []),
    'HttpOnly',
    'SameSite=Lax',
    ...(o.secure ? ['Secure'] : []),
  ].join('; ');
}

/** The value of cookie `name` in a `Cookie` header (the first, as browsers send the most specific path first). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
