/**
 * The headless person of the sign-in tests (scripts/lib/person-agent.ts),
 * checked on its own: its HTML reading, its form submissions, its cookie jar
 * and its way through canned screens served by a tiny in-process HTTP
 * server. This tests the agent, not the service: the pages here only mimic
 * the shapes DOMAIN.md promises (one form per page, hidden CSRF input,
 * buttons by label, controls linked with form="id", relative actions).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubmission, CookieJar, decodeEntities, findButton, findField, parseHtml, PersonAgent, safeLocation, UnexpectedPageError } from '../../scripts/lib/person-agent';

const PASSWORD = 'correct horse battery';

describe('decodeEntities', () => {
  test('named, decimal and hex references; unknown names stay; invalid code points become U+FFFD', () => {
    expect(decodeEntities('a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#x27; &hellip;&nbsp;')).toBe('a & b <c> "d" \'e\' \u2026\u00a0');
    expect(decodeEntities('&bogus; &amp &#0; &#xD800; &#128512; &#150;')).toBe('&bogus; &amp \ufffd \ufffd \u{1f600} \u2013');
  });
});

describe('parseHtml', () => {
  const page = `<!doctype html>
<html><head><title>Sign in &ndash; Acme &amp; Co</title><style>p { color: red }</style>
<script>var x = "<form action='/evil'>";</script></head>
<body>
  <!-- <form action="/commented"></form> -->
  <h1>Sign in to <b>Billing&nbsp;App</b></h1>
  <p>Owned by group &quot;payments&quot;</p>
  <form id="login" method="POST" action="login?x=1">
    <input type="hidden" name="csrf" value="t&amp;k">
    <label for="u">Username</label> <input id="u" name="username" value="">
    <label>Password: <input type=password name=password></label>
    <label>Remember <input type="checkbox" name="remember" value="yes" checked></label>
    <input type="checkbox" name="newsletter">
    <input name="disabled_one" value="x" disabled>
    <select name="lang"><option value="en">English<option selected>Deutsch</select>
    <textarea name="note">
line one &amp; two</textarea>
    <button type="submit" name="action" value="signin">Sign   <span>in</span></button>
    <button type="button">Show password</button>
  </form>
  <button form="login" name="action" value="forgot">Forgot password?</button>
  <input form="login" type="hidden" name="outside" value="1">
  <form method="get"><input name="q"><input type="submit"></form>
  <p>a &lt; b and a < b</p>
</body></html>`;

  const parsed = parseHtml(page, 'http://127.0.0.1:5000/oauth/interaction/abc');

  test('title and visible text without script, style, comments or attribute values', () => {
    expect(parsed.title).toBe('Sign in \u2013 Acme & Co');
    expect(parsed.text).toContain('Sign in to Billing App');
    expect(parsed.text).toContain('Owned by group "payments"');
    expect(parsed.text).toContain('a < b and a < b');
    expect(parsed.text).not.toContain('evil');
    expect(parsed.text).not.toContain('color');
    expect(parsed.text).not.toContain('t&k');
    expect(parsed.forms).toHaveLength(2);
  });

  test('form action, method and controls, with controls linked by form="id"', () => {
    const f = parsed.forms[0]!;
    expect(f).toMatchObject({ id: 'login', method: 'post', action: 'http://127.0.0.1:5000/oauth/interaction/login?x=1' });
    expect(f.controls.map((c) => c.name)).toEqual(['csrf', 'username', 'password', 'remember', 'newsletter', 'disabled_one', 'lang', 'note', 'action', undefined, 'action', 'outside']);
    expect(findField(f, 'csrf')).toMatchObject({ type: 'hidden', value: 't&k' });
    expect(findField(f, 'username')).toMatchObject({ label: 'Username', type: 'text' });
    expect(findField(f, 'password')).toMatchObject({ label: 'Password:', type: 'password' });
    expect(findField(f, 'lang')).toMatchObject({ value: 'Deutsch' });
    expect(findField(f, 'note')).toMatchObject({ value: 'line one & two' });
    expect(findButton(f, 'Sign in')).toMatchObject({ name: 'action', value: 'signin' });
    expect(findButton(f, 'sign in')).toBeDefined();
    expect(findButton(f, 'Show password')).toBeUndefined(); // type=button does not submit
    expect(findButton(f, 'Forgot password?')).toMatchObject({ value: 'forgot' });
    // A form without action submits to the page itself; an input submit reads "Submit".
    expect(parsed.forms[1]).toMatchObject({ method: 'get', action: 'http://127.0.0.1:5000/oauth/interaction/abc' });
    expect(findButton(parsed.forms[1]!, 'Submit')).toBeDefined();
  });

  test('a submission carries the hidden inputs, the filled fields, checked boxes and only the clicked button', () => {
    const f = parsed.forms[0]!;
    const sub = buildSubmission(f, { button: findButton(f, 'Sign in')!, fill: { username: 'alice', password: 'p&ss w=rd' } });
    expect(sub.method).toBe('POST');
    expect(sub.url).toBe('http://127.0.0.1:5000/oauth/interaction/login?x=1');
    expect([...new URLSearchParams(sub.body!)]).toEqual([
      ['csrf', 't&k'],
      ['username', 'alice'],
      ['password', 'p&ss w=rd'],
      ['remember', 'yes'],
      ['lang', 'Deutsch'],
      ['note', 'line one & two'],
      ['action', 'signin'],
      ['outside', '1'],
    ]);
    expect(() => buildSubmission(f, { fill: { user: 'x' } })).toThrow(/no field named "user" \(fields: csrf \(hidden\), username, password/);
    const get = buildSubmission(parsed.forms[1]!, { fill: { q: 'a b' } });
    expect(get).toEqual({ method: 'GET', url: 'http://127.0.0.1:5000/oauth/interaction/abc?q=a+b' });
  });

  test('<base href> resolves actions; formaction overrides the action of the clicked button', () => {
    const p = parseHtml(
      '<base href="/x/y/"><form action="next" method="post"><button name="d" value="1" formaction="../other">Go</button><button>Stay</button></form>',
      'http://h.test/a/b',
    );
    expect(p.forms[0]!.action).toBe('http://h.test/x/y/next');
    expect(buildSubmission(p.forms[0]!, { button: findButton(p.forms[0]!, 'Go')! }).url).toBe('http://h.test/x/other');
    expect(buildSubmission(p.forms[0]!, { button: findButton(p.forms[0]!, 'Stay')! }).url).toBe('http://h.test/x/y/next');
  });

  test('an unclosed head, unquoted and valueless attributes, and stray markup do not lose content', () => {
    const p = parseHtml('<html><head><title>T</title><p>Hello <i>there</p><form method=post action=/p><input name=a value=b readonly><button disabled>X</button></form>', 'http://h.test/');
    expect(p.text).toBe('Hello there\nX');
    expect(p.forms[0]!.controls[0]).toMatchObject({ name: 'a', value: 'b' });
    expect(findButton(p.forms[0]!, 'X')).toBeUndefined(); // disabled
  });
});

describe('CookieJar', () => {
  test('paths, several cookies, longest path first, only the origin that set them', () => {
    const jar = new CookieJar();
    jar.storeAll(
      ['_session=s1; path=/; HttpOnly; SameSite=Lax', '_interaction=i1; path=/oauth/interaction/abc; httponly', 'noslash=1; Path=oauth', 'bad', '=x'],
      'http://127.0.0.1:5000/oauth/authorize?x=1',
    );
    expect(jar.header('http://127.0.0.1:5000/oauth/interaction/abc')).toBe('_interaction=i1; noslash=1; _session=s1');
    expect(jar.header('http://127.0.0.1:5000/oauth/interaction/abc/login')).toBe('_interaction=i1; noslash=1; _session=s1');
    // "/oauth/interaction/abcd" is not under "/oauth/interaction/abc" (path-match stops at "/").
    expect(jar.header('http://127.0.0.1:5000/oauth/interaction/abcd')).toBe('noslash=1; _session=s1');
    // The default path of "/oauth/authorize" is "/oauth".
    expect(jar.header('http://127.0.0.1:5000/other')).toBe('_session=s1');
    expect(jar.header('http://127.0.0.1:5001/oauth/interaction/abc')).toBeUndefined();
    expect(jar.header('http://localhost:5000/')).toBeUndefined();
  });

  test('a cookie set again replaces it; Max-Age wins over Expires; an expiry in the past deletes; time runs out', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const jar = new CookieJar(() => now);
    const url = 'http://127.0.0.1:5000/';
    jar.store('a=1; Path=/', url);
    jar.store('a=2; Path=/', url);
    jar.store('b=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT', url);
    jar.store('c=1; Expires=Wed, 01 Jan 2030 00:10:00 GMT', url);
    jar.store('q="x y"', url);
    expect(jar.header(url)).toBe('a=2; b=1; c=1; q="x y"');
    jar.store('a=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT', url);
    jar.store('q=; Max-Age=-1', url);
    expect(jar.header(url)).toBe('b=1; c=1');
    now += 61_000;
    expect(jar.header(url)).toBe('c=1');
    jar.store('c=gone; Max-Age=0', url);
    expect(jar.header(url)).toBeUndefined();
  });

  test('Secure cookies: kept and sent over https and loopback only; a Domain not covering the host is ignored', () => {
    const jar = new CookieJar();
    jar.store('s=1; Secure', 'http://example.test/');
    jar.store('s=2; Secure', 'http://127.0.0.1:5000/');
    jar.store('d=1; Domain=other.test', 'https://example.test/');
    jar.store('d=2; Domain=.example.test', 'https://www.example.test/');
    expect(jar.header('http://example.test/')).toBeUndefined();
    expect(jar.header('http://127.0.0.1:5000/')).toBe('s=2');
    expect(jar.header('https://www.example.test/')).toBe('d=2');
  });
});

/** A canned authorization server: sign-in, consent and device screens shaped as DOMAIN.md describes. */
class CannedServer {
  server!: http.Server;
  base = '';
  /** Requests received (method and path), to prove what the person did and did not fetch. */
  hits: string[] = [];
  posts: Array<{ path: string; form: URLSearchParams; cookie: string; origin: string; referer?: string; contentType: string }> = [];
  signInButton = 'Sign in';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => this.handle(req, res, body));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private page(res: http.ServerResponse, title: string, body: string, status = 200, headers: Record<string, string | string[]> = {}): void {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
    res.end(`<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`);
  }

  private redirect(res: http.ServerResponse, status: number, location: string, cookies: string[] = []): void {
    res.writeHead(status, { location, ...(cookies.length ? { 'set-cookie': cookies } : {}) });
    res.end();
  }

  private signIn(res: http.ServerResponse, uid: string, error?: string): void {
    this.page(
      res,
      'Sign in',
      `<h1>Sign in</h1>${error ? `<p class="error">${error}</p>` : ''}
      <form method="post" action="${uid}/login">
        <input type="hidden" name="csrf" value="csrf-${uid}">
        <label for="username">Username</label><input id="username" name="username">
        <label for="password">Password</label><input id="password" name="password" type="password">
        <button type="submit">${this.signInButton}</button>
      </form>`,
    );
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const url = new URL(req.url!, this.base);
    const cookie = req.headers.cookie ?? '';
    this.hits.push(`${req.method} ${url.pathname}`);
    if (req.method === 'POST') {
      this.posts.push({
        path: url.pathname,
        form: new URLSearchParams(body),
        cookie,
        origin: String(req.headers.origin),
        ...(req.headers.referer !== undefined ? { referer: req.headers.referer } : {}),
        contentType: String(req.headers['content-type']),
      });
    }
    const form = new URLSearchParams(body);
    const p = url.pathname;
    if (p === '/authorize') {
      if (url.searchParams.get('redirect_uri') === 'bad') return this.page(res, 'Error', '<h1>oops, something went wrong</h1><p>invalid_redirect_uri</p>', 400);
      if (url.searchParams.get('elsewhere') === '1') return this.redirect(res, 302, `${this.base.replace('127.0.0.1', 'localhost')}/elsewhere`);
      return this.redirect(res, 302, '/interaction/abc', ['_session=s1; path=/; httponly', '_interaction=i1; path=/interaction/abc; httponly; samesite=lax']);
    }
    if (p === '/interaction/abc' && req.method === 'GET') {
      if (!cookie.includes('_interaction=i1')) return this.page(res, 'Error', '<p>interaction cookie missing</p>', 400);
      if (cookie.includes('signed_in=alice')) {
        return this.page(
          res,
          'Allow access?',
          `<p>Billing App of group <b>payments</b> wants to sign you in.</p>
          <form id="consent" method="post" action="/interaction/abc/confirm"><input type="hidden" name="csrf" value="csrf-c"></form>
          <button type="submit" form="consent" name="decision" value="allow">Allow</button>
          <button type="submit" form="consent" name="decision" value="deny">Deny</button>`,
          200,
          // As the service's screens do: a browser then posts this form with "Origin: null" and no Referer.
          { 'referrer-policy': 'no-referrer' },
        );
      }
      return this.signIn(res, 'abc');
    }
    if (p === '/interaction/abc/login' && req.method === 'POST') {
      if (form.get('csrf') !== 'csrf-abc' || !cookie.includes('_interaction=i1')) return this.page(res, 'Error', '<p>csrf</p>', 403);
      if (form.get('username') !== 'alice' || form.get('password') !== PASSWORD) return this.signIn(res, 'abc', 'Wrong username or password');
      return this.redirect(res, 303, '/interaction/abc', ['signed_in=alice; Path=/']);
    }
    if (p === '/interaction/abc/confirm' && req.method === 'POST') {
      if (form.get('csrf') !== 'csrf-c') return this.page(res, 'Error', '<p>csrf</p>', 403);
      return this.redirect(res, 303, `/authorize/abc?decision=${form.get('decision')}`, ['_resume=r1; path=/authorize/abc', '_interaction=; path=/interaction/abc; expires=Thu, 01 Jan 1970 00:00:00 GMT']);
    }
    if (p === '/authorize/abc') {
      if (!cookie.includes('_resume=r1')) return this.page(res, 'Error', '<p>resume cookie missing</p>', 400);
      const decision = url.searchParams.get('decision');
      // A device flow (marked by its cookie) ends on the service's own "connected" page.
      if (cookie.includes('_next=device')) return this.redirect(res, 303, decision === 'allow' ? '/device/done' : '/device');
      return this.redirect(res, 302, decision === 'allow' ? 'http://127.0.0.1:1/cb?code=SECRETCODE&state=st' : 'http://127.0.0.1:1/cb?error=access_denied&state=st');
    }
    // The device flow.
    if (p === '/device' && req.method === 'GET' && url.searchParams.has('user_code')) {
      // As oidc-provider does for a verification_uri_complete: a page that submits itself by script, with a
      // <noscript> button for browsers without it (which is what this person is).
      return this.page(
        res,
        'Submitting Callback',
        `<script>document.forms[0].submit()</script><form method="post" action="${this.base}/device">
        <input type="hidden" name="xsrf" value="x1"/><input type="hidden" name="user_code" value="${url.searchParams.get('user_code')}"/>
        <noscript>Your browser does not support JavaScript.<br/><button autofocus type="submit">Continue</button></noscript></form>`,
        200,
        { 'set-cookie': ['_device=d1; path=/device'] },
      );
    }
    if (p === '/device' && req.method === 'GET') {
      return this.page(
        res,
        'Connect a device',
        `<form method="post" action="/device"><input type="hidden" name="xsrf" value="x1">
        <label for="c">Code</label><input id="c" name="user_code"><button type="submit">Continue</button></form>`,
        200,
        { 'set-cookie': ['_device=d1; path=/device'] },
      );
    }
    if (p === '/device' && req.method === 'POST' && form.has('user_code') && !form.has('confirm')) {
      if (form.get('user_code') !== 'ABCD-EFGH' || form.get('xsrf') !== 'x1') {
        return this.page(
          res,
          'Connect a device',
          `<p>That code is not valid.</p><form method="post" action="/device"><input type="hidden" name="xsrf" value="x1">
          <label for="c">Code</label><input id="c" name="user_code"><button type="submit">Continue</button></form>`,
        );
      }
      return this.page(
        res,
        'Confirm the device',
        `<p>Is the code on your device ABCD-EFGH?</p><form method="post" action="/device"><input type="hidden" name="xsrf" value="x1">
        <input type="hidden" name="user_code" value="ABCD-EFGH"><input type="hidden" name="confirm" value="yes">
        <button type="submit">Continue</button><button type="submit" name="abort" value="yes">Cancel</button></form>`,
      );
    }
    if (p === '/device' && req.method === 'POST' && form.get('confirm') === 'yes') {
      if (form.has('abort') || !cookie.includes('_device=d1')) return this.page(res, 'Aborted', '<p>aborted</p>');
      return this.redirect(res, 303, '/interaction/abc', ['_interaction=i1; path=/interaction/abc', '_next=device; path=/']);
    }
    if (p === '/device/done') return this.page(res, 'Done', '<h1>Your device is connected.</h1><p>You can close this window.</p>');
    res.writeHead(404);
    res.end('not found');
  }
}

describe('PersonAgent against canned screens', () => {
  let s: CannedServer;
  beforeEach(async () => {
    s = new CannedServer();
    await s.start();
  });
  afterEach(async () => {
    await s.stop();
  });

  test('signs in, allows, and stops at the redirect_uri without fetching it; cookies go where their path says', async () => {
    const seen: string[] = [];
    const alice = new PersonAgent({ username: 'alice', password: PASSWORD, consent: 'allow', onStep: (l) => seen.push(l) });
    const out = await alice.authorize(`${s.base}/authorize?client_id=c&redirect_uri=x`, 'http://127.0.0.1:1/cb');
    expect(out.page).toBeUndefined();
    expect(out.callbackUrl).toBe('http://127.0.0.1:1/cb?code=SECRETCODE&state=st');
    expect(seen).toEqual(out.steps);
    expect(out.screens).toEqual(['sign-in', 'consent']);
    expect(out.steps).toEqual([
      `GET ${s.base}/authorize?… -> 302`,
      `GET ${s.base}/interaction/abc -> 200 "Sign in"`,
      'sign-in: "Sign in" as alice',
      `POST ${s.base}/interaction/abc/login -> 303`,
      `GET ${s.base}/interaction/abc -> 200 "Allow access?"`,
      'consent: "Allow"',
      `POST ${s.base}/interaction/abc/confirm -> 303`,
      `GET ${s.base}/authorize/abc?… -> 302`,
      'redirected to the redirect_uri (not followed)',
    ]);
    expect(JSON.stringify(out.steps)).not.toMatch(/SECRETCODE|correct horse/);
    const [login, consent] = s.posts;
    expect(login!.form.get('csrf')).toBe('csrf-abc');
    expect(login!.contentType).toBe('application/x-www-form-urlencoded');
    expect(login!.origin).toBe(s.base);
    expect(login!.referer).toBe(`${s.base}/interaction/abc`);
    expect(consent!.origin).toBe('null');
    expect(consent!.referer).toBeUndefined();
    expect(login!.cookie).toBe('_interaction=i1; _session=s1');
    expect([...consent!.form]).toEqual([['csrf', 'csrf-c'], ['decision', 'allow']]);
    // The deleted _interaction cookie is gone; _resume went only to its path.
    expect(alice.jar.matching().map((c) => c.name).sort()).toEqual(['_resume', '_session', 'signed_in']);
    expect(s.hits.filter((h) => h.includes('/cb'))).toEqual([]);
  });

  test('deny: the redirect carries error=access_denied', async () => {
    const bob = new PersonAgent({ username: 'alice', password: PASSWORD, consent: 'deny' });
    const out = await bob.authorize(`${s.base}/authorize`, 'http://127.0.0.1:1/cb');
    expect(out.callbackUrl).toBe('http://127.0.0.1:1/cb?error=access_denied&state=st');
    expect(s.posts[1]!.form.get('decision')).toBe('deny');
  });

  test('a wrong password: the sign-in form again is handed back, and the password is nowhere in the steps', async () => {
    const mallory = new PersonAgent({ username: 'alice', password: 'not the password' });
    const out = await mallory.authorize(`${s.base}/authorize`, 'http://127.0.0.1:1/cb');
    expect(out.callbackUrl).toBeUndefined();
    expect(out.page).toMatchObject({ status: 200, title: 'Sign in' });
    expect(out.page!.text).toContain('Wrong username or password');
    expect(out.steps[out.steps.length - 1]).toBe('stopped: the sign-in screen again');
    expect(out.screens).toEqual(['sign-in']);
    expect(JSON.stringify(out.steps)).not.toContain('not the password');
  });

  test('an error page instead of a redirect is handed back', async () => {
    const out = await new PersonAgent({ username: 'alice', password: PASSWORD }).authorize(`${s.base}/authorize?redirect_uri=bad`, 'http://127.0.0.1:1/cb');
    expect(out.page).toMatchObject({ status: 400, title: 'Error' });
    expect(out.page!.text).toContain('invalid_redirect_uri');
    expect(out.screens).toEqual([]);
  });

  test('a redirect out of the issuer origin is returned, not followed', async () => {
    const out = await new PersonAgent({ username: 'alice', password: PASSWORD }).authorize(`${s.base}/authorize?elsewhere=1`, 'http://127.0.0.1:1/cb');
    expect(out.callbackUrl).toBe(`${s.base.replace('127.0.0.1', 'localhost')}/elsewhere`);
    expect(s.hits).toEqual(['GET /authorize']);
  });

  test('a sign-in form without a "Sign in" button: an error naming what was expected, the page title and text, never the password', async () => {
    s.signInButton = 'Log on';
    const err = await new PersonAgent({ username: 'alice', password: PASSWORD })
      .authorize(`${s.base}/authorize`, 'http://127.0.0.1:1/cb')
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UnexpectedPageError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/expected a button labelled "Sign in" in the form; its buttons: "Log on"; got 200 http:\/\/127\.0\.0\.1:\d+\/interaction\/abc titled "Sign in": Sign in Username Password Log on/);
    expect(msg).not.toContain(PASSWORD);
  });

  test('the device flow: code, confirmation, sign-in, consent, connected', async () => {
    const alice = new PersonAgent({ username: 'alice', password: PASSWORD });
    const out = await alice.completeDevice(`${s.base}/device`, 'ABCD-EFGH');
    expect(out.connected).toBe(true);
    expect(out.page.text).toContain('Your device is connected.');
    expect(out.screens).toEqual(['device-code', 'device-confirm', 'sign-in', 'consent']);
    expect(out.steps.filter((l) => !l.startsWith('GET') && !l.startsWith('POST'))).toEqual([
      'device: typed the code, "Continue"',
      'device: confirmation, "Continue"',
      'sign-in: "Sign in" as alice',
      'consent: "Allow"',
      'ended on "Done" (200)',
      'the device is connected',
    ]);
    const confirm = s.posts[1]!;
    expect([...confirm.form]).toEqual([['xsrf', 'x1'], ['user_code', 'ABCD-EFGH'], ['confirm', 'yes']]);
    expect(confirm.cookie).toBe('_device=d1');
  });

  test('the device flow from a verification_uri_complete: the self-submitting page, then the confirmation', async () => {
    const out = await new PersonAgent({ username: 'alice', password: PASSWORD }).completeDevice(`${s.base}/device?user_code=ABCD-EFGH`);
    expect(out.connected).toBe(true);
    expect(out.screens).toEqual(['device-confirm', 'device-confirm', 'sign-in', 'consent']);
    expect([...s.posts[0]!.form]).toEqual([['xsrf', 'x1'], ['user_code', 'ABCD-EFGH']]);
  });

  test('the device flow with Deny: back on the code screen, which is handed back, not connected', async () => {
    const out = await new PersonAgent({ username: 'alice', password: PASSWORD, consent: 'deny' }).completeDevice(`${s.base}/device`, 'ABCD-EFGH');
    expect(out.connected).toBe(false);
    expect(out.screens).toEqual(['device-code', 'device-confirm', 'sign-in', 'consent']);
    expect(out.steps[out.steps.length - 1]).toBe('stopped: the device-code screen again');
    expect(out.page.title).toBe('Connect a device');
  });

  test('the device flow with a wrong code hands back the code screen, not connected', async () => {
    const out = await new PersonAgent({ username: 'alice', password: PASSWORD }).completeDevice(`${s.base}/device`, 'WRONG');
    expect(out.connected).toBe(false);
    expect(out.page.text).toContain('That code is not valid.');
  });
});

test('safeLocation keeps origin and path, never the query', () => {
  expect(safeLocation('http://127.0.0.1:1/cb?code=abc&state=x')).toBe('http://127.0.0.1:1/cb?…');
  expect(safeLocation('http://127.0.0.1:1/cb')).toBe('http://127.0.0.1:1/cb');
});
