/**
 * The client under faults: the fault proxy sits between it and the real
 * service and drops, delays or answers requests by itself. What must hold:
 * a create is never made twice, reads and idempotent writes are retried on
 * 429, 5xx and dropped connections, a POST that cannot be replayed is not
 * retried blindly, and retries end with a clear error.
 */
import {
  AbortedError,
  type AppregClient,
  type AppregClientOptions,
  type RetryOptions,
  PreconditionFailedError,
  RateLimitedError,
  type RetryEvent,
  ServiceError,
  TimeoutError,
  TransportError,
  CreatedAppSchema,
} from '../../src/client';
import { type FaultProxy, faults, startFaultProxy } from '../support/fault-proxy';
import { appInput, startWorld, type World } from './harness';

let world: World;
let proxy: FaultProxy;
let retries: RetryEvent[];

/** A group admin client of group A that goes through the proxy and records its retries. */
function viaProxy(retry: RetryOptions = {}, extra: Partial<AppregClientOptions> = {}): AppregClient {
  return world.client(world.groupAdminA, { endpoint: proxy.url, ...extra, retry: { onRetry: (e) => retries.push(e), ...retry } });
}

beforeAll(async () => {
  world = await startWorld();
  await world.client(world.adminToken).putTenantSettings({ oauth_enabled: true });
  proxy = await startFaultProxy({ target: world.url });
});

beforeEach(() => {
  proxy.reset();
  retries = [];
});

afterAll(async () => {
  await proxy?.close();
  await world?.stop();
});

const keysOf = (method: string) => proxy.requests.filter((r) => r.method === method).map((r) => r.headers['idempotency-key']);

describe('never create twice', () => {
  it('a create whose answer is lost after the service made the app is replayed with the same key: one app, same client id and secret', async () => {
    const client = viaProxy();
    const input = appInput();
    proxy.inject(faults.dropAfterForward(), { method: 'POST', path: /\/apps$/ });

    const created = await client.createApp(world.groupA, input);

    const keys = keysOf('POST');
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(retries).toEqual([expect.objectContaining({ method: 'POST', attempt: 1, reason: 'ECONNRESET' })]);

    const named = (await client.listAllApps({ group_id: world.groupA })).filter((a) => a.name === input.name);
    expect(named).toHaveLength(1);
    expect(named[0]!.id).toBe(created.id);
    expect(named[0]!.client_id).toBe(created.client_id);

    // The replay is the first answer: the same key once more gives the same client id and secret.
    const replay = await client.createApp(world.groupA, input, { idempotencyKey: keys[0] as string });
    expect(replay.client_id).toBe(created.client_id);
    expect(replay.client_secret).toBe(created.client_secret);
    expect(replay.client_secret).toEqual(expect.any(String));
  });

  it('each logical create gets a key of its own', async () => {
    const client = viaProxy();
    await client.createApp(world.groupA, appInput());
    await client.createApp(world.groupA, appInput());
    const keys = keysOf('POST');
    expect(keys).toHaveLength(2);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('a create dropped before it reached the service, then 502 and 503, still makes exactly one app', async () => {
    const client = viaProxy();
    const input = appInput();
    proxy.inject(faults.dropBeforeForward(), { method: 'POST' });
    proxy.inject(faults.gatewayError(502), { method: 'POST' });
    proxy.inject(faults.gatewayError(503), { method: 'POST' });
    const created = await client.createApp(world.groupA, input);
    expect(new Set(keysOf('POST')).size).toBe(1);
    expect(keysOf('POST')).toHaveLength(4);
    const named = (await client.listAllApps({ group_id: world.groupA })).filter((a) => a.name === input.name);
    expect(named.map((a) => a.id)).toEqual([created.id]);
  });

  it('a rotation whose answer is lost rotates once, and the retry gets that secret', async () => {
    const client = viaProxy();
    const app = await client.createApp(world.groupA, appInput());
    proxy.inject(faults.dropAfterForward(), { method: 'POST', path: /rotate-secret$/ });
    const rotated = await client.rotateSecret(app.id);
    expect(rotated.secret_version).toBe(app.secret_version + 1);
    expect((await client.getApp(app.id)).secret_version).toBe(app.secret_version + 1);
    const keys = keysOf('POST').slice(1);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });

  it('a POST without an Idempotency-Key is not retried when its outcome is unknown', async () => {
    const client = viaProxy();
    const input = appInput();
    proxy.inject(faults.dropAfterForward(), { method: 'POST' });
    const err = await client
      .request({ method: 'POST', path: `/v1/groups/${world.groupA}/apps`, body: input, schema: CreatedAppSchema })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).attempts).toBe(1);
    expect(proxy.requests).toHaveLength(1);
    expect(retries).toEqual([]);
    // The service did make it: a blind retry would have made a second one (or a 409).
    expect((await client.listAllApps({ group_id: world.groupA })).filter((a) => a.name === input.name)).toHaveLength(1);

    proxy.inject(faults.gatewayError(502), { method: 'POST' });
    const bad = await client
      .request({ method: 'POST', path: `/v1/groups/${world.groupA}/apps`, body: appInput(), schema: CreatedAppSchema })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ServiceError);
    expect((bad as ServiceError).status).toBe(502);
    expect(proxy.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
  });

  it('a POST without a key is retried after a 429: the service refused it before doing anything', async () => {
    const client = viaProxy();
    proxy.inject(faults.tooManyRequests(0), { method: 'POST' });
    const reply = await client.request({ method: 'POST', path: `/v1/groups/${world.groupA}/apps`, body: appInput(), schema: CreatedAppSchema });
    expect(reply.status).toBe(201);
    expect(proxy.requests).toHaveLength(2);
  });
});

describe('reads and idempotent writes are retried', () => {
  it('429 waits what Retry-After says (seconds)', async () => {
    const client = viaProxy({ maxDelayMs: 5 });
    proxy.inject(faults.tooManyRequests(1), { method: 'GET' });
    const t0 = Date.now();
    await client.getTenantSettings();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(retries).toEqual([expect.objectContaining({ reason: '429', delayMs: 1000 })]);
  });

  it('429 waits what Retry-After says (HTTP date), and a long ask is cut to maxRetryAfterMs', async () => {
    const client = viaProxy({ maxRetryAfterMs: 30 });
    proxy.inject(faults.tooManyRequests(new Date(Date.now() + 3_600_000).toUTCString()), { method: 'GET' });
    const t0 = Date.now();
    await client.getTenantSettings();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(retries).toEqual([expect.objectContaining({ reason: '429', delayMs: 30 })]);

    const patient = viaProxy({ maxRetryAfterMs: 60_000 });
    retries = [];
    proxy.inject(faults.tooManyRequests(new Date(Date.now() + 2000).toUTCString()), { method: 'GET' });
    await patient.getTenantSettings();
    // HTTP dates have whole seconds: between 1 and 2 s from now.
    expect(retries[0]!.delayMs).toBeGreaterThan(900);
    expect(retries[0]!.delayMs).toBeLessThanOrEqual(2000);
  });

  it('the real service\'s rate limit: every call gets through, after the Retry-After it asks for', async () => {
    const limited = await startWorld({ rateLimit: 4 });
    try {
      const seen: RetryEvent[] = [];
      const client = limited.client(limited.adminToken, { retry: { maxAttempts: 6, onRetry: (e) => seen.push(e) } });
      const t0 = Date.now();
      const all = await Promise.all(Array.from({ length: 10 }, () => client.getTenantSettings()));
      expect(all).toHaveLength(10);
      expect(seen.length).toBeGreaterThan(0);
      for (const e of seen) {
        expect(e.reason).toBe('429');
        expect(e.delayMs).toBeGreaterThanOrEqual(1000); // the service's whole seconds, not the tiny test backoff
      }
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    } finally {
      await limited.stop();
    }
  });

  it('429 without end becomes a RateLimitedError after maxAttempts', async () => {
    const client = viaProxy({ maxAttempts: 3 });
    proxy.inject(faults.tooManyRequests(0), { method: 'GET' }, Infinity);
    const err = await client.getTenantSettings().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).attempts).toBe(3);
    expect(proxy.requests).toHaveLength(3);
  });

  it('5xx on a GET is retried with backoff', async () => {
    const client = viaProxy();
    proxy.inject(faults.gatewayError(502), { method: 'GET' });
    proxy.inject(faults.gatewayError(503), { method: 'GET' });
    const settings = await client.getTenantSettings();
    expect(settings.oauth_enabled).toBe(true);
    expect(proxy.requests.map((r) => r.status)).toEqual([502, 503, 200]);
    expect(retries.map((r) => [r.attempt, r.reason])).toEqual([[1, '502'], [2, '503']]);
    for (const r of retries) expect(r.delayMs).toBeLessThanOrEqual(5);
  });

  it('dropped and cut connections on reads are retried', async () => {
    const client = viaProxy();
    proxy.inject(faults.dropBeforeForward(), { method: 'GET' });
    proxy.inject(faults.dropAfterForward(), { method: 'GET' });
    proxy.inject(faults.truncateAfterForward(), { method: 'GET' });
    const groups = await client.listAllGroups();
    expect(groups.map((g) => g.id)).toContain(world.groupA);
    expect(proxy.requests).toHaveLength(4);
  });

  it('a PUT whose answer is lost is retried', async () => {
    const admin = world.client(world.adminToken, { endpoint: proxy.url });
    proxy.inject(faults.dropAfterForward(), { method: 'PUT' });
    proxy.inject(faults.gatewayError(503), { method: 'PUT' });
    expect((await admin.putTenantSettings({ oauth_enabled: true })).oauth_enabled).toBe(true);
    expect(proxy.requests).toHaveLength(3);
  });

  it('a PATCH with If-Match whose answer is lost is retried, and its own 412 echo is recognised as success', async () => {
    const client = viaProxy();
    const app = await client.createApp(world.groupA, appInput());
    proxy.inject(faults.dropAfterForward(), { method: 'PATCH' });
    const updated = await client.updateApp(app.id, { description: 'after', callback_urls: ['https://z.example.com/cb'] }, { ifMatch: app.version });
    expect(updated).toMatchObject({ description: 'after', version: app.version + 1, callback_urls: ['https://z.example.com/cb'] });
    const patches = proxy.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(2);
    expect(patches.map((r) => r.headers['if-match'])).toEqual([`"${app.version}"`, `"${app.version}"`]);
  });

  it('a 412 after a lost PATCH is still an error when someone else changed the app in between', async () => {
    const client = viaProxy();
    const app = await client.createApp(world.groupA, appInput());
    // The PATCH is applied and its answer lost; the retry is held back while
    // someone else writes, so it meets a version two steps on.
    proxy.inject(faults.dropAfterForward(), { method: 'PATCH' });
    proxy.inject(faults.delay(300), { method: 'PATCH' });
    const attempt = client.updateApp(app.id, { description: 'mine' }, { ifMatch: app.version }).catch((e: unknown) => e);
    while (proxy.requests.filter((r) => r.method === 'PATCH').length < 2) await new Promise((r) => setTimeout(r, 5));
    await world.client(world.groupAdminA).updateApp(app.id, { enabled: false });
    expect(await attempt).toBeInstanceOf(PreconditionFailedError);
  });

  it('a PATCH without If-Match is not retried when its outcome is unknown', async () => {
    const client = viaProxy();
    const app = await client.createApp(world.groupA, appInput());
    proxy.inject(faults.dropAfterForward(), { method: 'PATCH' });
    await expect(client.updateApp(app.id, { description: 'x' })).rejects.toBeInstanceOf(TransportError);
    expect(proxy.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  it('a DELETE whose answer is lost is retried, and the 404 it then meets means done', async () => {
    const client = viaProxy();
    const app = await client.createApp(world.groupA, appInput());
    proxy.inject(faults.dropAfterForward(), { method: 'DELETE' });
    await client.deleteApp(app.id, { ifMatch: app.version });
    expect(proxy.requests.filter((r) => r.method === 'DELETE').map((r) => r.status)).toEqual([undefined, 404]);

    const consentTarget = await world.client(world.groupAdminA).createApp(world.groupA, appInput({ scope: 'organization' }));
    const beta = world.client(world.groupAdminB, { endpoint: proxy.url });
    await beta.putConsent(world.groupB, consentTarget.id);
    proxy.inject(faults.dropAfterForward(), { method: 'DELETE' });
    await beta.deleteConsent(world.groupB, consentTarget.id);
  });
});

describe('giving up and stopping', () => {
  it('gives up after maxAttempts with an error that says so', async () => {
    const client = viaProxy({ maxAttempts: 3 });
    proxy.inject(faults.gatewayError(503), { method: 'GET' }, Infinity);
    const err = await client.getApp('app_whatever').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).status).toBe(503);
    expect((err as ServiceError).attempts).toBe(3);
    expect((err as Error).message).toBe('GET /v1/apps/app_whatever: 503 Service Unavailable (gave up after 3 attempts)');
    expect(proxy.requests).toHaveLength(3);

    proxy.reset();
    proxy.inject(faults.dropBeforeForward(), {}, Infinity);
    const dropped = await client.listApps({ group_id: world.groupA, limit: 5 }).catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(TransportError);
    expect((dropped as TransportError).code).toBe('ECONNRESET');
    expect((dropped as Error).message).toMatch(
      new RegExp(`^GET /v1/apps\\?group_id=${world.groupA}&limit=5: connection failed \\(ECONNRESET: .+\\) \\(gave up after 3 attempts\\)$`),
    );
  });

  it('retries a refused connection, even for a POST: nothing reached the service', async () => {
    const deadProxy = await startFaultProxy({ target: world.url });
    const url = deadProxy.url;
    await deadProxy.close();
    const client = world.client(world.groupAdminA, { endpoint: url, retry: { maxAttempts: 3, onRetry: (e) => retries.push(e) } });
    const err = await client.createApp(world.groupA, appInput()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe('ECONNREFUSED');
    expect((err as TransportError).attempts).toBe(3);
    const raw = await client.request({ method: 'POST', path: '/v1/x', body: {} }).catch((e: unknown) => e);
    expect((raw as TransportError).attempts).toBe(3);
  });

  it('times out a slow answer per attempt, and retries a read', async () => {
    const client = viaProxy({ maxAttempts: 2 }, { timeoutMs: 200 });
    proxy.inject(faults.delay(1000), { method: 'GET' });
    const t0 = Date.now();
    expect((await client.getTenantSettings()).oauth_enabled).toBe(true);
    expect(Date.now() - t0).toBeLessThan(900);
    expect(retries.map((r) => r.reason)).toEqual(['TIMEOUT']);

    proxy.inject(faults.delay(1000), { method: 'GET' }, 2);
    const err = await client.getTenantSettings().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('GET /v1/tenant/oauth-settings: no answer within 200 ms (gave up after 2 attempts)');

    // A per-call timeout wins over the client's.
    proxy.inject(faults.delay(400), { method: 'GET' });
    await expect(client.getTenantSettings({ timeoutMs: 2000 })).resolves.toBeDefined();
  });

  it('cancel() stops a call in flight and one waiting to retry, at once', async () => {
    const client = viaProxy({ maxRetryAfterMs: 60_000 });
    proxy.inject(faults.tooManyRequests(30), { method: 'GET' });
    proxy.inject(faults.delay(30_000), { method: 'GET', path: /^\/v1\/groups/ });
    const waiting = client.getTenantSettings().catch((e: unknown) => e);
    const hanging = client.listGroups().catch((e: unknown) => e);
    while (proxy.requests.length < 2 || retries.length < 1) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    client.cancel();
    const [a, b] = await Promise.all([waiting, hanging]);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(a).toBeInstanceOf(AbortedError);
    expect(b).toBeInstanceOf(AbortedError);
    expect((a as Error).message).toBe('GET /v1/tenant/oauth-settings: cancelled');
    // And every later call.
    await expect(client.getTenantSettings()).rejects.toBeInstanceOf(AbortedError);
  });

  it('a per-call AbortSignal stops that call only', async () => {
    const client = viaProxy();
    proxy.inject(faults.delay(30_000), { method: 'GET', path: '/v1/groups' });
    const ctrl = new AbortController();
    const pending = client.listGroups({}, { signal: ctrl.signal }).catch((e: unknown) => e);
    while (proxy.requests.length < 1) await new Promise((r) => setTimeout(r, 5));
    ctrl.abort();
    expect(await pending).toBeInstanceOf(AbortedError);
    await expect(client.getTenantSettings()).resolves.toBeDefined();
  });
});
