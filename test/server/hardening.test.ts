/**
 * The service against hostile clients, over real HTTP on 127.0.0.1:
 * hostile ids in every path and query on SQLite and PostgreSQL (never a 5xx,
 * always a problem document), timeouts for stalled clients and a bounded
 * shutdown, the failed-authentication limit per address, rate limit
 * checks, private SQLite files, strong If-Match, and problem documents for
 * the errors Node's HTTP parser answers itself (400, 408, 431).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { main } from '../../src/cli/main';
import { adminGroupAdd, adminInit, adminTokenCreate, type RunningService, startService } from '../../src/server';
import { checkRequestIds, isPlainText, PATH_ID_PARAMS, pathParamNames } from '../../src/server/http/ids';
import { checkRateLimit, clientAddressKey, DEFAULT_AUTH_FAILURE_LIMIT, isLoopbackAddress, RateLimiter } from '../../src/server/http/ratelimit';
import { ProblemError } from '../../src/server/http/problem';
import {
  checkingIntervalMs,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  resolveTimeouts,
} from '../../src/server/http/timeouts';
import { appBody, BACKENDS, type Backend, call, Capture, expectProblem, freshDatabase, startWorld, type World } from './harness';

/** An answer read with node:http, which sends the path exactly as given (fetch would normalise `..`). */
interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

function rawRequest(base: string, method: string, pathname: string, o: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<RawAnswer> {
  const u = new URL(base);
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname,
      port: u.port,
      method,
      path: pathname,
      agent: false,
      headers: {
        ...(o.token !== undefined ? { authorization: `Bearer ${o.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
        ...(o.headers ?? {}),
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Expands `<5000 x>` in a test table entry (kept short so that test names stay readable). */
function long(template: string): string {
  return template.replace('<5000 x>', 'x'.repeat(5000));
}

/** Fails unless `res` is a problem document with `status`. */
function expectRawProblem(res: RawAnswer, status: number, label: string): void {
  if (res.status !== status) throw new Error(`${label}: expected ${status}, got ${res.status}: ${res.text.slice(0, 300)}`);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json).toEqual(expect.objectContaining({ type: expect.stringMatching(/^urn:appreg:problem:/), status, detail: expect.any(String) }));
}

/** A raw TCP connection to a service, collecting everything it sends until it closes. */
interface RawConnection {
  socket: net.Socket;
  received(): string;
  /** Resolves with the time the server closed the connection (ms since epoch). */
  closed: Promise<number>;
}

async function connect(base: string): Promise<RawConnection> {
  const u = new URL(base);
  const socket = net.connect(Number(u.port), u.hostname);
  let data = '';
  socket.on('data', (c: Buffer) => { data += c.toString('latin1'); });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed };
}

/** Waits for `p` at most `ms`; resolves undefined when it did not settle in time. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** The first HTTP response in raw bytes: status, headers, body. */
function parseRaw(raw: string): { status: number; headers: Record<string, string>; body: string } | undefined {
  if (!raw.startsWith('HTTP/1.1 ')) return undefined;
  const headEnd = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.slice(0, headEnd).split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const length = Number(headers['content-length'] ?? 0);
  return { status: Number(statusLine!.split(' ')[1]), headers, body: Buffer.from(raw.slice(headEnd + 4), 'latin1').subarray(0, length).toString('utf8') };
}

/** Fails unless `raw` starts with a problem document of `status`; returns the problem. */
function expectRawBytesProblem(raw: string, status: number): Record<string, unknown> {
  const res = parseRaw(raw);
  if (!res) throw new Error(`expected an HTTP response, got ${JSON.stringify(raw.slice(0, 200))}`);
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(res.body) as Record<string, unknown>;
  expect(problem).toEqual(expect.objectContaining({ type: expect.stringMatching(/^urn:appreg:problem:/), status, detail: expect.any(String) }));
  return problem;
}

/**
 * Hostile path segments, already percent-encoded as they go on the wire.
 * Each is something a valid id is not: NUL, control characters, Unicode,
 * a very long value, SQL, path traversal, broken percent-encoding.
 */
const HOSTILE_SEGMENTS: ReadonlyArray<readonly [string, string]> = [
  ['NUL after the prefix', 'app_%00'],
  ['NUL alone', '%00'],
  ['NUL in an id of the right length', `app_${'0'.repeat(25)}%00`],
  ['group id of the right length with NUL', `grp_${'0'.repeat(25)}%00`],
  ['SOH', 'app_%01'],
  ['line feed and header', 'app_x%0D%0ASet-Cookie:%20a=b'],
  ['tab', 'app_%09'],
  ['DEL', 'app_%7F'],
  ['C1 control (NEL)', 'app_%C2%85'],
  ['right-to-left override', 'app_%E2%80%AEzzz'],
  ['emoji', 'app_%F0%9F%92%A9'],
  ['emoji of id length', `app_${'%F0%9F%92%A9'.repeat(13)}`],
  ['upper case id', `APP_${'Z'.repeat(26)}`],
  ['10k characters', `app_${'x'.repeat(10_000)}`],
  ['SQL', "app_1'%20OR%20'1'='1"],
  ['SQL comment', 'grp_x%27;DROP%20TABLE%20apps;--'],
  ['dot dot', '..'],
  ['encoded dot dot', '%2E%2E'],
  ['traversal', '..%2F..%2Fetc%2Fpasswd'],
  ['invalid UTF-8', '%FF'],
  ['encoded lone surrogate', '%ED%A0%80'],
  ['broken escape', '%E0%A4%A'],
  ['percent sign', '%25'],
  ['space', '%20'],
];

describe.each(BACKENDS)('hostile ids on %s', (backend) => {
  let w: World;
  let alpha: string;
  let beta: string;
  let admin: string;
  let orgApp: string;

  beforeAll(async () => {
    w = await startWorld(backend);
    alpha = w.acme.groups.alpha!;
    beta = w.acme.groups.beta!;
    admin = w.acme.admin;
    orgApp = (await w.createApp(admin, beta, appBody({ scope: 'organization' }))).json.id;
    const consent = await w.call('PUT', `/v1/groups/${alpha}/consents/${orgApp}`, { token: admin });
    expect(consent.status).toBe(201);
  });
  afterAll(async () => {
    await w?.stop();
  });

  /** Every route with an id in its path, with `X` where the hostile segment goes (the other ids are real). */
  function pathRoutes(): Array<[string, string, unknown]> {
    return [
      ['POST', '/v1/groups/X/apps', appBody()],
      ['GET', '/v1/apps/X', undefined],
      ['PATCH', '/v1/apps/X', { enabled: true }],
      ['DELETE', '/v1/apps/X', undefined],
      ['POST', '/v1/apps/X/rotate-secret', undefined],
      ['PUT', `/v1/groups/X/consents/${orgApp}`, undefined],
      ['GET', `/v1/groups/X/consents/${orgApp}`, undefined],
      ['DELETE', `/v1/groups/X/consents/${orgApp}`, undefined],
      ['PUT', `/v1/groups/${alpha}/consents/X`, undefined],
      ['GET', `/v1/groups/${alpha}/consents/X`, undefined],
      ['DELETE', `/v1/groups/${alpha}/consents/X`, undefined],
    ];
  }

  it('a hostile id in any path is a 404 problem document, never a 5xx', async () => {
    const failures: string[] = [];
    for (const [label, segment] of HOSTILE_SEGMENTS) {
      for (const [method, template, body] of pathRoutes()) {
        const pathname = template.replace('X', segment);
        const res = await rawRequest(w.url, method, pathname, { token: admin, body });
        const ok = res.status === 404 && /^application\/problem\+json/.test(String(res.headers['content-type'])) &&
          res.json?.status === 404 && typeof res.json?.detail === 'string';
        if (!ok) failures.push(`${label}: ${method} ${pathname.slice(0, 80)} → ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
    // Nothing was changed along the way: the consent and the app are still there.
    expect((await w.call('GET', `/v1/groups/${alpha}/consents/${orgApp}`, { token: admin })).status).toBe(200);
  });

  it('GET and DELETE of a consent to app_%00 are 404, not a database error', async () => {
    expectRawProblem(await rawRequest(w.url, 'GET', `/v1/groups/${alpha}/consents/app_%00`, { token: admin }), 404, 'GET');
    expectRawProblem(await rawRequest(w.url, 'DELETE', `/v1/groups/${alpha}/consents/app_%00`, { token: admin }), 404, 'DELETE');
  });

  it('without a valid token a hostile id is still 401 first', async () => {
    expectRawProblem(await rawRequest(w.url, 'GET', `/v1/groups/${alpha}/consents/app_%00`), 401, 'no token');
    expectRawProblem(await rawRequest(w.url, 'GET', '/v1/apps/app_%00', { token: 'art_nope' }), 401, 'bad token');
  });

  it('a hostile query value is never a 5xx: every answer is 200 or a problem document', async () => {
    const lists = ['/v1/apps', '/v1/browse', '/v1/consents', '/v1/groups', '/v1/audit'];
    const params = ['group_id', 'app_id', 'name', 'scope', 'limit', 'cursor', 'colour'];
    const failures: string[] = [];
    for (const [label, segment] of HOSTILE_SEGMENTS) {
      for (const list of lists) {
        for (const param of params) {
          const pathname = `${list}?${param}=${segment}${list === '/v1/browse' && param !== 'group_id' ? `&group_id=${alpha}` : ''}`;
          const res = await rawRequest(w.url, 'GET', pathname, { token: admin });
          const problem = /^application\/problem\+json/.test(String(res.headers['content-type'])) && res.json?.status === res.status;
          if (res.status >= 500 || (res.status !== 200 && !problem)) {
            failures.push(`${label}: GET ${pathname.slice(0, 80)} → ${res.status} ${res.text.slice(0, 200)}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it.each([
    ['/v1/apps?name=a%01b', 'name'],
    ['/v1/apps?name=%0D%0A', 'name'],
    ['/v1/groups?name=x%C2%85', 'name'],
    ['/v1/apps?group_id=grp_%00', 'group_id'],
    ['/v1/apps?cursor=%7F', 'cursor'],
    ['/v1/apps?limit=1%00', 'limit'],
    ['/v1/apps?scope=group%00', 'scope'],
    ['/v1/consents?app_id=app_%00', 'app_id'],
    ['/v1/consents?app_id=nope', 'app_id'],
    ['/v1/consents?app_id=<5000 x>', 'app_id'],
    ['/v1/audit?cursor=%1B%5B2J', 'cursor'],
  ])('GET %s → 422 naming %s', async (template, param) => {
    const pathname = long(template);
    const res = await rawRequest(w.url, 'GET', pathname, { token: admin });
    expectRawProblem(res, 422, pathname);
    expect(res.json.errors.map((e: { path: string }) => e.path)).toEqual([param]);
  });

  it.each([
    '/v1/apps?group_id=..',
    '/v1/browse?group_id=%E2%80%AE',
    '/v1/consents?group_id=<5000 x>',
    "/v1/apps?group_id=grp_1'%20OR%20'1'='1",
  ])('GET %s → 404: a group_id of the wrong shape names no group', async (template) => {
    const pathname = long(template);
    expectRawProblem(await rawRequest(w.url, 'GET', pathname, { token: admin }), 404, pathname);
  });

  it('ordinary filters still work (Unicode and SQL-ish names simply match nothing)', async () => {
    for (const pathname of ['/v1/apps?name=%E2%9C%93', "/v1/groups?name=x'%20OR%20'1'='1", `/v1/consents?app_id=${orgApp}`]) {
      const res = await rawRequest(w.url, 'GET', pathname, { token: admin });
      expect([pathname, res.status]).toEqual([pathname, 200]);
    }
    const consents = await rawRequest(w.url, 'GET', `/v1/consents?app_id=${orgApp}&group_id=${alpha}`, { token: admin });
    expect(consents.json.items).toHaveLength(1);
  });

  it('If-Match compares strongly: a weak tag W/"n" never matches (412), the tag itself does', async () => {
    const created = await w.createApp(admin, alpha, appBody());
    const id = created.json.id as string;
    expectProblem(await w.call('PATCH', `/v1/apps/${id}`, { token: admin, body: { enabled: false }, headers: { 'if-match': 'W/"1"' } }), 412);
    expectProblem(await w.call('POST', `/v1/apps/${id}/rotate-secret`, { token: admin, headers: { 'if-match': 'W/"1"' } }), 412);
    expectProblem(await w.call('DELETE', `/v1/apps/${id}`, { token: admin, headers: { 'if-match': 'W/"1"' } }), 412);
    const settings = await w.call('GET', '/v1/tenant/oauth-settings', { token: admin });
    const weak = `W/${settings.headers.get('etag')}`;
    expectProblem(await w.call('PUT', '/v1/tenant/oauth-settings', { token: admin, body: { oauth_enabled: true }, headers: { 'if-match': weak } }), 412);
    const consent = await w.call('GET', `/v1/groups/${alpha}/consents/${orgApp}`, { token: admin });
    expectProblem(await w.call('DELETE', `/v1/groups/${alpha}/consents/${orgApp}`, { token: admin, headers: { 'if-match': `W/${consent.headers.get('etag')}` } }), 412);
    // The strong tag, alone or in a list with a weak one, still matches.
    expect((await w.call('PATCH', `/v1/apps/${id}`, { token: admin, body: { enabled: false }, headers: { 'if-match': 'W/"1", "1"' } })).status).toBe(200);
  });
});

describe('the id gate', () => {
  it('knows every path parameter of the routes, and a path id of any other kind is refused', () => {
    expect(Object.keys(PATH_ID_PARAMS).sort()).toEqual(['app_id', 'group_id', 'id']);
    expect(pathParamNames('/v1/groups/:group_id/consents/:app_id')).toEqual(['group_id', 'app_id']);
    expect(() => checkRequestIds({ params: { tenant_id: 'ten_x' }, query: {} })).toThrow(ProblemError);
    expect(() => checkRequestIds({ params: { id: `app_${'0'.repeat(26)}` }, query: { name: 'ok', limit: '5' } })).not.toThrow();
  });

  it('plain text refuses control characters and lone surrogates, and allows other Unicode', () => {
    for (const bad of ['a\u0000', '\u0001', 'a\nb', '\t', '\u007f', '\u0085', '\u009b', 'x\uD800', '\uDC00y']) expect(isPlainText(bad)).toBe(false);
    for (const good of ['', 'abc', 'Ünïcødé ✓', '😀', "x' OR '1'='1", '..']) expect(isPlainText(good)).toBe(true);
  });
});

describe('timeouts', () => {
  let dir: string;
  let db: string;
  let token: string;
  let group: string;

  beforeAll(async () => {
    ({ db, dir } = await freshDatabase('sqlite'));
    token = (await adminInit(db, { tenant: 'acme' })).token;
    group = (await adminGroupAdd(db, { tenant: 'acme', name: 'alpha' })).group_id;
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the defaults cut a stalled client off within 30 s', () => {
    const t = resolveTimeouts();
    expect(t).toEqual({
      requestMs: DEFAULT_REQUEST_TIMEOUT_MS,
      headersMs: DEFAULT_HEADERS_TIMEOUT_MS,
      keepAliveMs: DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
      shutdownMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
    });
    // Node checks the request timeouts on a timer: the cut-off comes at most one interval late.
    expect(t.requestMs + checkingIntervalMs(t)).toBeLessThanOrEqual(30_000);
    expect(t.headersMs + checkingIntervalMs(t)).toBeLessThanOrEqual(30_000);
    expect(t.keepAliveMs).toBeLessThanOrEqual(30_000);
    expect(t.shutdownMs).toBeLessThanOrEqual(30_000);
    expect(t.headersMs).toBeLessThanOrEqual(t.requestMs);
  });

  it('a client that promises a body and never sends it gets a 408 problem and is cut off within the request timeout', async () => {
    const log = new Capture();
    const service = await startService({ db, port: 0, rateLimit: 0, log, requestTimeoutMs: 1000, headersTimeoutMs: 1000 });
    try {
      const c = await connect(service.url);
      const started = Date.now();
      c.socket.write(
        `POST /v1/groups/${group}/apps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":',
      );
      const closedAt = await within(c.closed, 5000);
      if (closedAt === undefined) c.socket.destroy();
      expect(closedAt).toBeDefined();
      expect(closedAt! - started).toBeGreaterThanOrEqual(900);
      expect(closedAt! - started).toBeLessThan(2600);
      const problem = expectRawBytesProblem(c.received(), 408);
      expect(problem.type).toBe('urn:appreg:problem:request-timeout');
      await new Promise((r) => setTimeout(r, 100));
      // One log line says what happened, with the error code only (never the raw request, which holds the token).
      expect(log.lines.filter((l) => l.msg === 'client error')).toEqual([expect.objectContaining({ status: 408, code: 'ERR_HTTP_REQUEST_TIMEOUT' })]);
      expect(log.lines.filter((l) => l.msg === 'internal error')).toEqual([]);
      expect(log.text).not.toContain(token);
    } finally {
      await service.close();
    }
  });

  it('a client that sends its headers a byte at a time is cut off within the headers timeout', async () => {
    const service = await startService({ db, port: 0, rateLimit: 0, log: false, requestTimeoutMs: 5000, headersTimeoutMs: 800 });
    try {
      const c = await connect(service.url);
      const started = Date.now();
      c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => { if (!c.socket.destroyed) c.socket.write('X'); }, 100);
      const closedAt = await within(c.closed, 4000);
      clearInterval(drip);
      if (closedAt === undefined) c.socket.destroy();
      expect(closedAt).toBeDefined();
      expect(closedAt! - started).toBeLessThan(2400);
      expectRawBytesProblem(c.received(), 408);
    } finally {
      await service.close();
    }
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const service = await startService({ db, port: 0, rateLimit: 0, log: false, keepAliveTimeoutMs: 500 });
    try {
      const c = await connect(service.url);
      c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const started = Date.now();
      const closedAt = await within(c.closed, 4000);
      if (closedAt === undefined) c.socket.destroy();
      expect(parseRaw(c.received())?.status).toBe(200);
      expect(closedAt).toBeDefined();
      expect(closedAt! - started).toBeLessThan(2000);
    } finally {
      await service.close();
    }
  });

  it.each([
    [{ requestTimeoutMs: 0 }, /requestTimeoutMs must be a time from more than 0 ms/],
    [{ requestTimeoutMs: Number.NaN }, /requestTimeoutMs must be a time/],
    [{ keepAliveTimeoutMs: -1 }, /keepAliveTimeoutMs must be a time/],
    [{ shutdownTimeoutMs: 1e12 }, /shutdownTimeoutMs must be a time from 0 to 86400000 ms/],
    [{ requestTimeoutMs: 1000, headersTimeoutMs: 2000 }, /headersTimeoutMs \(2000 ms\) must not be longer than requestTimeoutMs \(1000 ms\)/],
    [{ rateLimit: 0.5 }, /rateLimit must be 0 \(off\) or at least 1/],
    [{ rateLimit: -1 }, /rateLimit must be/],
    [{ authFailureLimit: 0.2 }, /authFailureLimit must be 0 \(off\) or at least 1/],
  ])('startService refuses %j, naming the option', async (bad, message) => {
    await expect(startService({ db, port: 0, log: false, ...bad })).rejects.toThrow(message);
  });

  it('a short request timeout brings the headers timeout down with it', () => {
    expect(resolveTimeouts({ requestMs: 3000 }).headersMs).toBe(3000);
  });
});

/** Runs the command line in-process; returns the exit code and what it wrote on stderr. */
async function runCli(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  try {
    const code = await main(['node', 'appreg', ...args]);
    return { code, stderr };
  } finally {
    spy.mockRestore();
  }
}

describe('appreg serve flags', () => {
  it.each([
    [['--rate-limit', '0.5'], /--rate-limit must be 0 \(off\) or at least 1 .*got 0\.5/],
    [['--rate-limit', 'lots'], /--rate-limit must be requests per second per token/],
    [['--auth-failure-limit', '0.5'], /--auth-failure-limit must be 0 \(off\) or at least 1/],
    [['--request-timeout', '0'], /--request-timeout must be a time from more than 0 s to 86400 s \(got 0 s\)/],
    [['--request-timeout', 'soon'], /--request-timeout must be a number of seconds/],
    [['--keep-alive-timeout', '-3'], /--keep-alive-timeout must be a number of seconds/],
    [['--request-timeout', '5', '--headers-timeout', '10'], /--headers-timeout \(10 s\) must not be longer than --request-timeout \(5 s\)/],
    [['--shutdown-timeout', '100000'], /--shutdown-timeout must be a time from 0 to 86400 s/],
  ])('appreg serve %j fails before starting, naming the flag', async (args, message) => {
    const out = await runCli(['serve', '--db', '/nonexistent-dir/never-opened.db', ...args]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(message);
  });

  it('the help says the rate limit is per process', async () => {
    let help = '';
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      help += chunk.toString();
      return true;
    });
    try {
      await main(['node', 'appreg', 'serve', '--help']);
    } finally {
      spy.mockRestore();
    }
    expect(help.replace(/\s+/g, ' ')).toMatch(/--rate-limit <n> .*per process, so N instances on one database allow a token N times this/);
    for (const flag of ['--auth-failure-limit', '--request-timeout', '--headers-timeout', '--keep-alive-timeout', '--shutdown-timeout']) expect(help).toContain(flag);
  });
});

describe.each(BACKENDS)('bounded shutdown on %s', (backend: Backend) => {
  it('close() returns within the grace period while a client holds a request open, and drops that connection', async () => {
    const { db, dir } = await freshDatabase(backend);
    const { token } = await adminInit(db, { tenant: 'acme' });
    const { group_id } = await adminGroupAdd(db, { tenant: 'acme', name: 'alpha' });
    const service = await startService({
      db, port: 0, rateLimit: 0, log: false, requestTimeoutMs: 60_000, headersTimeoutMs: 60_000, shutdownTimeoutMs: 1000,
    });
    try {
      const c = await connect(service.url);
      c.socket.write(
        `POST /v1/groups/${group_id}/apps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n',
      );
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      const done = await within(service.close().then(() => Date.now()), 8000);
      expect(done).toBeDefined();
      expect(done! - started).toBeGreaterThanOrEqual(900);
      expect(done! - started).toBeLessThan(4000);
      expect(await within(c.closed, 1000)).toBeDefined();
    } finally {
      await service.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  if (backend === 'postgres') {
    it('close() returns within the grace period while a request waits on a database lock', async () => {
      const { db, dir } = await freshDatabase(backend);
      const { token, tenant_id } = await adminInit(db, { tenant: 'acme' });
      const { group_id } = await adminGroupAdd(db, { tenant: 'acme', name: 'alpha' });
      const holder = new Client({ connectionString: db });
      await holder.connect();
      const service = await startService({ db, port: 0, rateLimit: 0, log: false, shutdownTimeoutMs: 1000 });
      try {
        // The tenant write lock of postgres.ts, held by someone else: every write of the tenant waits.
        await holder.query('SELECT pg_advisory_lock(4242002, hashtext($1))', [tenant_id]);
        const stuck = call(service.url, 'PUT', '/v1/tenant/oauth-settings', { token, body: { oauth_enabled: true } }).catch((e: unknown) => e);
        await new Promise((r) => setTimeout(r, 300));
        const started = Date.now();
        const done = await within(service.close().then(() => Date.now()), 8000);
        expect(done).toBeDefined();
        expect(done! - started).toBeLessThan(4000);
        await stuck;
        expect(group_id).toMatch(/^grp_/);
      } finally {
        await holder.end();
        await service.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('failed authentications per client address', () => {
  let dir: string;
  let db: string;
  let token: string;
  let service: RunningService;

  beforeAll(async () => {
    ({ db, dir } = await freshDatabase('sqlite'));
    token = (await adminInit(db, { tenant: 'acme' })).token;
    service = await startService({ db, port: 0, rateLimit: 0, authFailureLimit: 3, authFailureLimitLoopback: true, log: false });
  });
  afterAll(async () => {
    await service?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('successes do not count; past the limit of failures the address gets 429 with Retry-After, even with a valid token', async () => {
    for (let i = 0; i < 10; i++) expect((await call(service.url, 'GET', '/v1/groups', { token })).status).toBe(200);
    for (const bad of [undefined, 'art_wrong', 'not a bearer']) {
      const res = await call(service.url, 'GET', '/v1/groups', bad === undefined ? {} : bad === 'not a bearer' ? { headers: { authorization: 'Basic eA==' } } : { token: bad });
      expectProblem(res, 401);
    }
    const limited = await call(service.url, 'GET', '/v1/groups', { token: 'art_wrong' });
    expectProblem(limited, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 20).toBe(true);
    expect(limited.text).not.toContain('art_wrong');
    expectProblem(await call(service.url, 'GET', '/v1/groups', { token }), 429);
    // Public routes need no token and are not limited.
    expect((await call(service.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('the limiter: failures per minute, peek does not take, rates between 0 and 1 are refused', () => {
    let t = 0;
    const rl = new RateLimiter(DEFAULT_AUTH_FAILURE_LIMIT, () => t, 60_000);
    for (let i = 0; i < DEFAULT_AUTH_FAILURE_LIMIT; i++) {
      expect(rl.peek('a').allowed).toBe(true);
      expect(rl.take('a').allowed).toBe(true);
    }
    expect(rl.peek('a')).toEqual({ allowed: false, retryAfterSeconds: 6 });
    expect(rl.peek('b').allowed).toBe(true);
    t = 6000;
    expect(rl.peek('a').allowed).toBe(true);
    expect(() => new RateLimiter(0.5)).toThrow(/at least 1/);
    expect(checkRateLimit(0, 'x')).toBe(0);
    expect(checkRateLimit(1, 'x')).toBe(1);
  });

  it('leaves loopback clients alone unless asked (a reverse proxy on the same host is everyone)', async () => {
    const { db: db2, dir: dir2 } = await freshDatabase('sqlite');
    const { token: good } = await adminInit(db2, { tenant: 'acme' });
    const lenient = await startService({ db: db2, port: 0, rateLimit: 0, authFailureLimit: 1, log: false });
    try {
      for (let i = 0; i < 5; i++) expectProblem(await call(lenient.url, 'GET', '/v1/groups', { token: 'art_wrong' }), 401);
      expect((await call(lenient.url, 'GET', '/v1/groups', { token: good })).status).toBe(200);
    } finally {
      await lenient.close();
      fs.rmSync(dir2, { recursive: true, force: true });
    }
    for (const a of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) expect([a, isLoopbackAddress(a)]).toEqual([a, true]);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', '::', undefined]) expect([a, isLoopbackAddress(a)]).toEqual([a, false]);
  });

  it('counts IPv4 addresses alone and IPv6 addresses by their /64', () => {
    expect(clientAddressKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientAddressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(clientAddressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientAddressKey('2001:db8:1:2::9')).toBe(clientAddressKey('2001:db8:1:2:ffff::1'));
    expect(clientAddressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddressKey('::1')).toBe('0:0:0:0::/64');
    expect(clientAddressKey(undefined)).toBe('unknown');
  });
});

describe('SQLite files are private', () => {
  const mode = (f: string): number => fs.statSync(f).mode & 0o777;
  let previousUmask: number;
  beforeAll(() => {
    // The usual umask, which leaves files world-readable unless the service says otherwise.
    previousUmask = process.umask(0o022);
  });
  afterAll(() => {
    process.umask(previousUmask);
  });

  it('a new database and its -wal and -shm files are created 0600', async () => {
    const { db, dir } = await freshDatabase('sqlite');
    try {
      const { token } = await adminInit(db, { tenant: 'acme' });
      const service = await startService({ db, port: 0, rateLimit: 0, log: false });
      try {
        const res = await call(service.url, 'PUT', '/v1/tenant/oauth-settings', { token, body: { oauth_enabled: true } });
        expect(res.status).toBe(200);
        for (const f of [db, `${db}-wal`, `${db}-shm`]) expect([path.basename(f), mode(f).toString(8)]).toEqual([path.basename(f), '600']);
      } finally {
        await service.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an existing database file keeps the mode its operator gave it', async () => {
    const { db, dir } = await freshDatabase('sqlite');
    try {
      fs.writeFileSync(db, '');
      fs.chmodSync(db, 0o640);
      await adminInit(db, { tenant: 'acme' });
      expect(mode(db)).toBe(0o640);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('errors Node answers itself are problem documents too', () => {
  let dir: string;
  let service: RunningService;
  let token: string;

  beforeAll(async () => {
    let db: string;
    ({ db, dir } = await freshDatabase('sqlite'));
    await adminInit(db, { tenant: 'acme' });
    token = (await adminTokenCreate(db, { tenant: 'acme', role: 'auditor' })).token;
    service = await startService({ db, port: 0, rateLimit: 0, log: new Capture() });
  });
  afterAll(async () => {
    await service?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function send(raw: string): Promise<string> {
    const c = await connect(service.url);
    c.socket.write(raw);
    const closed = await within(c.closed, 5000);
    if (closed === undefined) c.socket.destroy();
    expect(closed).toBeDefined();
    return c.received();
  }

  it('headers over 16 KB: 431 problem, and the token in them is not echoed', async () => {
    const raw = await send(`GET /v1/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-Padding: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
    const problem = expectRawBytesProblem(raw, 431);
    expect(problem.type).toBe('urn:appreg:problem:request-header-fields-too-large');
    expect(raw).not.toContain(token);
  });

  it('a malformed request line: 400 problem', async () => {
    expectRawBytesProblem(await send('HELLO THERE\r\n\r\n'), 400);
    expectRawBytesProblem(await send('GET /v1/apps/a\u0001b HTTP/1.1\r\nHost: x\r\n\r\n'), 400);
    expectRawBytesProblem(await send('GET / HTTP/1.1\r\nBad Header\r\n\r\n'), 400);
  });
});
