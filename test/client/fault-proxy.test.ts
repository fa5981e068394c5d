/**
 * The fault proxy itself, in front of a trivial echo server: what each fault
 * does to the client and to the upstream. The client's behaviour under these
 * faults is tested against the real service in resilience.test.ts.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FaultProxy, faults, startFaultProxy } from '../support/fault-proxy';

let upstream: http.Server;
let upstreamUrl: string;
let seenUpstream: string[];
let proxy: FaultProxy;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seenUpstream.push(`${req.method} ${req.url}`);
      res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      res.end(JSON.stringify({ echo: body, path: req.url, padding: 'x'.repeat(200) }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  proxy = await startFaultProxy({ target: upstreamUrl });
});

beforeEach(() => {
  seenUpstream = [];
  proxy.reset();
});

afterAll(async () => {
  await proxy.close();
  await new Promise((r) => upstream.close(r));
});

/** One request through the proxy with a fresh connection; resolves with the answer or the socket error. */
function send(method: string, path: string, body = ''): Promise<{ status?: number; headers?: http.IncomingHttpHeaders; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request(`${proxy.url}${path}`, { method, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      res.on('error', (e) => resolve({ status: res.statusCode, error: (e as NodeJS.ErrnoException).code ?? e.message }));
      res.on('aborted', () => resolve({ status: res.statusCode, error: 'aborted' }));
    });
    req.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(body);
  });
}

describe('fault proxy', () => {
  it('listens on 127.0.0.1 and relays status, headers and body', async () => {
    expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await send('POST', '/things?x=1', 'hello');
    expect(r.status).toBe(201);
    expect(r.headers?.['x-upstream']).toBe('yes');
    expect(JSON.parse(r.body!)).toMatchObject({ echo: 'hello', path: '/things?x=1' });
    expect(proxy.requests).toEqual([expect.objectContaining({ index: 0, method: 'POST', path: '/things?x=1', body: 'hello', fault: 'pass', status: 201 })]);
  });

  it('drops before forwarding: the upstream never sees the request', async () => {
    proxy.inject(faults.dropBeforeForward());
    const r = await send('POST', '/a');
    expect(r.error).toBe('ECONNRESET');
    expect(seenUpstream).toEqual([]);
  });

  it('drops after forwarding: the upstream did the work, the client gets no answer', async () => {
    proxy.inject(faults.dropAfterForward());
    const r = await send('POST', '/a');
    expect(r.error).toBe('ECONNRESET');
    expect(seenUpstream).toEqual(['POST /a']);
  });

  it('cuts an answer in the middle of its body', async () => {
    proxy.inject(faults.truncateAfterForward());
    const r = await send('GET', '/a');
    expect(r.status).toBe(201);
    expect(r.error).toBeDefined();
    expect(seenUpstream).toEqual(['GET /a']);
  });

  it('answers 429 with Retry-After and gateway errors by itself', async () => {
    proxy.inject(faults.tooManyRequests(7));
    proxy.inject(faults.gatewayError(503));
    const a = await send('GET', '/a');
    const b = await send('GET', '/a');
    expect(a.status).toBe(429);
    expect(a.headers?.['retry-after']).toBe('7');
    expect(b.status).toBe(503);
    expect(seenUpstream).toEqual([]);
  });

  it('delays, then forwards', async () => {
    proxy.inject(faults.delay(150));
    const t0 = Date.now();
    const r = await send('GET', '/a');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(r.status).toBe(201);
  });

  it('applies a rule only to matching requests, as many times as asked', async () => {
    const rule = proxy.inject(faults.gatewayError(502), { method: 'GET', path: /^\/apps/ }, 2);
    const results = [await send('POST', '/apps'), await send('GET', '/other'), await send('GET', '/apps/1'), await send('GET', '/apps/2'), await send('GET', '/apps/3')];
    expect(results.map((r) => r.status)).toEqual([201, 201, 502, 502, 201]);
    expect(rule.hits).toBe(2);
    expect(proxy.requests.map((r) => r.fault)).toEqual(['pass', 'pass', 'respond', 'respond', 'pass']);
  });

  it('answers 502 when the upstream is down', async () => {
    const dead = await startFaultProxy({ target: 'http://127.0.0.1:1' });
    try {
      const r = await new Promise<number | undefined>((resolve) =>
        http.get(`${dead.url}/x`, { agent: false }, (res) => { res.resume(); resolve(res.statusCode); }),
      );
      expect(r).toBe(502);
    } finally {
      await dead.close();
    }
  });
});
