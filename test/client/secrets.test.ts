/**
 * No error the client throws, and no view of the client itself, contains the
 * token or a client secret: not the message, not String(err), not
 * JSON.stringify(err), not util.inspect(err) with hidden fields, not the stack.
 * axios errors embed the request headers, so this guards the wrapping.
 */
import { inspect } from 'node:util';
import {
  AbortedError,
  AppregError,
  ResponseValidationError,
  ServiceError,
  TimeoutError,
  TransportError,
  UnauthorizedError,
  type AppregClient,
} from '../../src/client';
import { type FaultProxy, faults, startFaultProxy } from '../support/fault-proxy';
import { appInput, startWorld, type World } from './harness';

let world: World;
let proxy: FaultProxy;
let client: AppregClient;
let token: string;

beforeAll(async () => {
  world = await startWorld();
  await world.client(world.adminToken).putTenantSettings({ oauth_enabled: true });
  proxy = await startFaultProxy({ target: world.url });
  token = world.groupAdminA;
  // A generous timeout: under load a real request can take longer than the
  // short one the timeout test uses, and a timed-out attempt that reaches the
  // proxy late would take a fault meant for the next request.
  client = world.client(token, { endpoint: proxy.url, timeoutMs: 10_000, retry: { maxAttempts: 2 } });
});

beforeEach(() => proxy.reset());

afterAll(async () => {
  await proxy?.close();
  await world?.stop();
});

/** Every way an error gets printed or logged. */
function renderings(err: unknown): string[] {
  const e = err as Error;
  return [
    String(err),
    e.message,
    e.stack ?? '',
    JSON.stringify(err),
    inspect(err, { depth: Infinity, showHidden: true }),
    inspect(err, { depth: Infinity, showHidden: true, getters: true }),
  ];
}

function expectClean(err: unknown, secrets: readonly string[]): void {
  expect(err).toBeInstanceOf(AppregError);
  for (const text of renderings(err)) {
    for (const s of secrets) expect(text).not.toContain(s);
    // No header dump: neither "Authorization: ..." nor "Bearer <something>".
    expect(text).not.toMatch(/authorization['"]?\s*:/i);
    expect(text).not.toMatch(/bearer\s+[\w.~+/-]{8,}/i);
  }
}

const fail = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e);

describe('no token or secret in errors', () => {
  it('dropped connections, before and after forwarding', async () => {
    proxy.inject(faults.dropBeforeForward(), {}, 2);
    const before = await fail(client.getTenantSettings());
    expect(before).toBeInstanceOf(TransportError);
    expectClean(before, [token]);

    proxy.inject(faults.dropAfterForward(), {}, 2);
    const after = await fail(client.createApp(world.groupA, appInput()));
    expect(after).toBeInstanceOf(TransportError);
    expectClean(after, [token]);
  });

  it('timeouts, refused connections and cancellation', async () => {
    proxy.inject(faults.delay(1000), {}, 2);
    const impatient = world.client(token, { endpoint: proxy.url, timeoutMs: 150, retry: { maxAttempts: 2 } });
    const slow = await fail(impatient.getTenantSettings());
    expect(slow).toBeInstanceOf(TimeoutError);
    expectClean(slow, [token]);

    const closed = await startFaultProxy({ target: world.url });
    await closed.close();
    const refused = await fail(world.client(token, { endpoint: closed.url, retry: { maxAttempts: 1 } }).getTenantSettings());
    expect(refused).toBeInstanceOf(TransportError);
    expectClean(refused, [token]);

    const ctrl = new AbortController();
    ctrl.abort();
    const aborted = await fail(client.getTenantSettings({ signal: ctrl.signal }));
    expect(aborted).toBeInstanceOf(AbortedError);
    expectClean(aborted, [token]);
  });

  it('a refused token does not appear in its 401', async () => {
    const wrong = `tok_${'x'.repeat(20)}_wrong`;
    const err = await fail(world.client(wrong).getTenantSettings());
    expect(err).toBeInstanceOf(UnauthorizedError);
    expectClean(err, [wrong]);
  });

  it('problem details that echo the token are redacted', async () => {
    proxy.inject(faults.respond(400, { 'content-type': 'application/problem+json' }, JSON.stringify({
      type: 'about:blank', title: 'Bad Request', status: 400, detail: `bad header Bearer ${token}`,
      errors: [{ path: 'token', message: `was ${token}` }],
    })));
    const err = await fail(client.getTenantSettings());
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).problem.detail).toContain('[REDACTED]');
    for (const text of renderings(err)) expect(text).not.toContain(token);
  });

  it('errors after a create and a rotation carry neither secret', async () => {
    const input = appInput();
    const app = await client.createApp(world.groupA, input);
    const rotated = await client.rotateSecret(app.id);
    const dup = await fail(client.createApp(world.groupA, input));
    expect(dup).toBeInstanceOf(ServiceError);
    expectClean(dup, [token, app.client_secret!, rotated.client_secret]);
  });

  it('an answer that fails validation names the route and the field, never the value', async () => {
    const app = await client.createApp(world.groupA, appInput());
    const leaked = 'S3CR3T-value-that-must-not-leak';
    const { client_secret: _s, ...fields } = app;
    proxy.inject(faults.respond(200, { 'content-type': 'application/json' }, JSON.stringify({ ...fields, client_secret: leaked, secret_version: 'two' })), { method: 'POST', path: /\/rotate-secret$/ });
    const err = await fail(client.rotateSecret(app.id));
    expect(err).toBeInstanceOf(ResponseValidationError);
    const v = err as ResponseValidationError;
    expect(v.message).toContain(`POST /v1/apps/${app.id}/rotate-secret`);
    expect(v.issues.map((i) => i.path)).toEqual(['secret_version']);
    expect(v.message).toContain('secret_version');
    expectClean(err, [token, leaked]);

    // A created app without its client id, but with a secret.
    const { client_id: _c, ...broken } = app;
    proxy.inject(faults.respond(201, { 'content-type': 'application/json' }, JSON.stringify({ ...broken, client_secret: leaked })), { method: 'POST', path: /\/apps$/ });
    const bad = await fail(client.createApp(world.groupA, appInput()));
    expect((bad as ResponseValidationError).issues.map((i) => i.path)).toEqual(['client_id']);
    expect((bad as Error).message).toMatch(new RegExp(`^POST /v1/groups/${world.groupA}/apps: unexpected answer .*client_id`));
    expectClean(bad, [token, leaked]);

    proxy.inject(faults.respond(200, { 'content-type': 'application/json' }, 'not json'), { method: 'GET', path: `/v1/apps/${app.id}` });
    const notJson = await fail(client.getApp(app.id));
    expect((notJson as Error).message).toBe(`GET /v1/apps/${app.id}: unexpected answer from the service (status 200): the body is not JSON`);

    proxy.inject(faults.respond(200, { 'content-type': 'application/json' }, JSON.stringify({ items: [{ ...app, callback_urls: 'x' }], next_cursor: null })));
    const inList = await fail(client.listApps());
    expect((inList as ResponseValidationError).issues.map((i) => i.path)).toEqual(['items[0].callback_urls']);
  });

  it('the client itself does not show its token', () => {
    for (const text of [inspect(client, { depth: Infinity, showHidden: true }), JSON.stringify(client), String(client)]) {
      expect(text).not.toContain(token);
    }
  });
});
