/**
 * The service's behaviour over time: the per-token rate limit (429 with
 * Retry-After), graceful close that finishes a request in flight, and a
 * restart on the same database. Runs on SQLite and PostgreSQL.
 */
import * as http from 'node:http';
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
});
