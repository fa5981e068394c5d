/**
 * The console's pure parts (src/server/console): its sealed cookies and CSRF
 * tokens, and how an API answer's field errors land at the form's fields.
 * The console end to end is console-http.test.ts (acceptance).
 */
import { errorsByField, fieldOfPath, registrationBody } from '../../src/server/console/plugin';
import {
  csrfMatches,
  csrfToken,
  openLogin,
  openSession,
  readCookie,
  sealLogin,
  sealSession,
  setCookie,
  type ConsoleSession,
} from '../../src/server/console/session';
import { EMPTY_NEW_APP } from '../../src/server/console/views';

const KEY = 'k'.repeat(44);
const SESSION: ConsoleSession = { v: 1, tid: 'ten_0123456789abcdefghjkmnpqrs', at: 'A'.repeat(43), exp: 1, rt: 'R'.repeat(43), sid: 'sid1' };

describe('console cookies', () => {
  it('seals the session: the tokens are not in the cookie, and only the key opens it', () => {
    const c = sealSession(KEY, SESSION);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(c).not.toContain(SESSION.at);
    expect(Buffer.from(c, 'base64url').toString('utf8')).not.toContain(SESSION.at);
    expect(openSession(KEY, c)).toEqual(SESSION);
    expect(openSession('x'.repeat(44), c)).toBeUndefined();
    expect(openSession(KEY, `${c.slice(0, -2)}AA`)).toBeUndefined();
    expect(openSession(KEY, undefined)).toBeUndefined();
  });

  it('does not take a sign-in cookie for a session, nor the other way round, nor an expired sign-in', () => {
    const login = sealLogin(KEY, { v: 1, tid: SESSION.tid, verifier: 'v', state: 's', until: 1000 });
    expect(openSession(KEY, login)).toBeUndefined();
    expect(openLogin(KEY, sealSession(KEY, SESSION), 0)).toBeUndefined();
    expect(openLogin(KEY, login, 999)?.state).toBe('s');
    expect(openLogin(KEY, login, 1001)).toBeUndefined();
  });

  it('makes a CSRF token per session that only that session accepts', () => {
    const t = csrfToken(KEY, SESSION);
    expect(csrfMatches(KEY, SESSION, t)).toBe(true);
    expect(csrfMatches(KEY, { sid: 'other' }, t)).toBe(false);
    expect(csrfMatches(KEY, SESSION, undefined)).toBe(false);
    expect(csrfMatches(KEY, SESSION, `${t}x`)).toBe(false);
  });

  it('writes HttpOnly, SameSite=Lax cookies (Secure when asked) and reads them back', () => {
    expect(setCookie('a', 'b_c-1', { path: '/console', secure: true, maxAge: 60 })).toBe('a=b_c-1; Path=/console; Max-Age=60; HttpOnly; SameSite=Lax; Secure');
    expect(setCookie('a', '', { path: '/console', secure: false, maxAge: 0 })).toContain('Max-Age=0; Expires=Thu, 01 Jan 1970');
    expect(() => setCookie('a', 'x;y', { path: '/', secure: false })).toThrow();
    expect(readCookie('x=1; appreg_console=abc; y=2', 'appreg_console')).toBe('abc');
    expect(readCookie('appreg_console_login=abc', 'appreg_console')).toBeUndefined();
  });
});

describe('New App Registration', () => {
  it('maps API error paths to the form fields', () => {
    expect(fieldOfPath('callback_urls[2]')).toEqual({ field: 'callback_urls', line: 3 });
    expect(fieldOfPath('name')).toEqual({ field: 'name' });
    expect(fieldOfPath('description').field).toBeUndefined();
    const { fields, other } = errorsByField({
      errors: [
        { path: 'callback_urls[0]', message: 'must use https' },
        { path: 'name', message: 'is too long' },
        { path: 'description', message: 'nope' },
      ],
    });
    expect(fields).toEqual({ callback_urls: ['Line 1: must use https'], name: ['is too long'] });
    expect(other).toEqual(['description: nope']);
  });

  it('sends one callback URL per line, and leaves Require PKCE to its default when unticked', () => {
    const body = registrationBody({ ...EMPTY_NEW_APP, name: 'A', callbackUrls: ' https://a.example/cb \r\n\nhttps://b.example/cb\n', publicClient: true, deviceGrant: true });
    expect(body).toEqual({
      name: 'A',
      callback_urls: ['https://a.example/cb', 'https://b.example/cb'],
      scope: 'group',
      public_client: true,
      grant_types: ['authorization_code', 'device_code'],
    });
    expect(registrationBody({ ...EMPTY_NEW_APP, requirePkce: true }).require_pkce).toBe(true);
  });
});
