/**
 * The service's behaviour over time: the per-token rate limit (429 with
 * Retry-After), graceful close that finishes a request in flight, and a
 * restart on the same database. Runs on SQLite and PostgreSQL.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { startService } from '../../src/server';
import { RateLimiter } from '../../src/server/http/ratelimit';
import { appBody, BACKENDS, call, Capture, expectProblem, startWorld, type World } from './harness';

/**
 * Starts a POST whose body is sent in two halves; the second half goes out
 * when `finish` is called. Resolves `answer` with the status and body.
 */
function slowPost(url: string, pathname: string, token: string, body: string): { finish(): void; answer: Promise<{ status: number; body: string }>; sentHead: Promise<void> } {
  const u = new URL(url);
  const half = Math.floor(body.length / 2);
  let finish = (): void => undefined;
  let headSent = (): void => undefined;
  const sentHead = new Promise<void>((r) => { headSent = r; });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, path: pathname, method: 'POST', agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => { data += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.write(body.slice(0, half), () => headSent());
    finish = () => { req.end(body.slice(half)); };
  });
  return { finish: () => finish(), answer, sentHead };
}

/** One HTTP/1.1 response cut out of a raw byte stream. */
interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits what a server sent on one connection into its responses (Content-Length bodies only). */
function parseResponses(raw: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    const body = Buffer.from(rest.slice(headEnd + 4)).subarray(0, length).toString();
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body });
    rest = rest.slice(headEnd + 4 + body.length);
  }
  return out;
}

describe('RateLimiter', () => {
  it('allows `rate` requests per second per key, then tells how long to wait', () => {
    let t = 0;
    const rl = new RateLimiter(3, () => t);
    expect([rl.take('a'), rl.take('a'), rl.take('a')].every((d) => d.allowed)).toBe(true);
    expect(rl.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(rl.take('b').allowed).toBe(true);
    t = 400;
    expect(rl.take('a').allowed).toBe(true); // 1.2 requests refilled
    expect(rl.take('a').allowed).toBe(false);
    expect(new RateLimiter(0).take('a').allowed).toBe(true);
  });
});

describe.each(BACKENDS)('service lifecycle on %s', (backend) => {
  describe('rate limit', () => {
    let w: World;
    beforeAll(async () => {
      w = await startWorld(backend, { rateLimit: 5 });
    });
    afterAll(async () => {
      await w?.stop();
    });

    it('a token over its rate gets 429 with Retry-After; other tokens are not affected; it recovers', async () => {
      const token = w.acme.auditor;
      const answers = await Promise.all(Array.from({ length: 20 }, () => w.call('GET', '/v1/groups', { token })));
      const limited = answers.filter((a) => a.status === 429);
      expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(1);
      expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(6);
      expect(limited.length).toBeGreaterThanOrEqual(14);
      const retryAfter = Number(limited[0]!.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
      expectProblem(limited[0]!, 429);
      expect((await w.call('GET', '/v1/groups', { token: w.acme.admin })).status).toBe(200);
      expect((await w.call('GET', '/healthz')).status).toBe(200);
      await new Promise((r) => setTimeout(r, retryAfter * 1000));
      expect((await w.call('GET', '/v1/groups', { token })).status).toBe(200);
    });
  });

  it('close() lets a request in flight finish, refuses new ones, and a restart sees the data', async () => {
    const base = await startWorld(backend);
    const { db } = base;
    const token = base.acme.admin;
    const group = base.acme.groups.alpha!;
    await base.service.close();

    const log = new Capture();
    const service = await startService({ db, port: 0, rateLimit: 0, log });
    const body = JSON.stringify(appBody(), null, 2);
    const slow = slowPost(service.url, `/v1/groups/${group}/apps`, token, body);
    await slow.sentHead;
    await new Promise((r) => setTimeout(r, 100)); // the server has the head, not the whole body
    let closed = false;
    const closing = service.close().then(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false); // still waiting for the request in flight
    await expect(call(service.url, 'GET', '/healthz')).rejects.toThrow();
    slow.finish();
    const answer = await slow.answer;
    expect(answer.status).toBe(201);
    const created = JSON.parse(answer.body) as { id: string };
    await closing;
    expect(closed).toBe(true);

    const again = await startService({ db, port: 0, rateLimit: 0, log });
    try {
      const read = await call(again.url, 'GET', `/v1/apps/${created.id}`, { token });
      expect(read.status).toBe(200);
    } finally {
      await again.close();
      await base.stop();
    }
    expect(log.lines.some((l) => String(l.msg).startsWith('appreg serve listening on http://127.0.0.1:'))).toBe(true);
  });
  it('while closing, a request that still arrives on an open connection gets a 503 problem document with Retry-After', async () => {
    const w = await startWorld(backend);
    const token = w.acme.admin;
    const group = w.acme.groups.alpha!;
    await w.service.close();
    const service = await startService({ db: w.db, port: 0, rateLimit: 0, log: new Capture() });
    try {
      const body = JSON.stringify(appBody());
      const half = Math.floor(body.length / 2);
      const u = new URL(service.url);
      const socket = net.connect(Number(u.port), u.hostname);
      let received = '';
      socket.on('data', (c: Buffer) => { received += c.toString('latin1'); });
      const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(
        `POST /v1/groups/${group}/apps HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
      );
      await new Promise((r) => setTimeout(r, 100));
      const closing = service.close();
      await new Promise((r) => setTimeout(r, 100));
      // The rest of the first request, and right behind it a second one on the same connection.
      socket.write(`${body.slice(half)}GET /v1/groups HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      await ended;
      await closing;

      const [first, second, ...more] = parseResponses(received);
      expect(more).toEqual([]);
      expect(first!.status).toBe(201);
      expect(second!.status).toBe(503);
      expect(second!.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(second!.headers['retry-after']).toBe('1');
      expect(JSON.parse(second!.body)).toMatchObject({ type: 'urn:appreg:problem:unavailable', status: 503, detail: expect.stringMatching(/shutting down/) });
    } finally {
      await service.close();
      await w.stop();
    }
  });
});
