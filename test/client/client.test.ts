/**
 * Every client method against the real service (SQLite, 127.0.0.1, port 0):
 * the happy path of each route, pagination across several pages, and the
 * error statuses a caller acts on as typed errors with problem details.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AppregClient,
  AppSchema,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  ServiceError,
  UnauthorizedError,
  UnprocessableError,
  isNotFound,
  isPreconditionFailed,
  type App,
  type UpdateAppInput,
} from '../../src/client';
import { startFaultProxy } from '../support/fault-proxy';
import { appInput, startWorld, type World } from './harness';

let world: World;
let admin: AppregClient;
let alpha: AppregClient;
let beta: AppregClient;

beforeAll(async () => {
  world = await startWorld();
  admin = world.client(world.adminToken);
  alpha = world.client(world.groupAdminA);
  beta = world.client(world.groupAdminB);
});

afterAll(async () => {
  await world?.stop();
});

describe('tenant settings', () => {
  it('starts with OAuth off, registering is refused (409), and PUT turns it on', async () => {
    const before = await admin.getTenantSettings();
    expect(before).toEqual({ tenant_id: world.tenantId, oauth_enabled: false, sso_enabled: false, device_grant_allowed: true });

    const refused = await alpha.createApp(world.groupA, appInput()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as ConflictError).problem).toMatchObject({ status: 409, title: expect.any(String), type: expect.any(String) });

    const after = await admin.putTenantSettings({ oauth_enabled: true });
    expect(after.oauth_enabled).toBe(true);
    expect(await alpha.getTenantSettings()).toEqual(after);
  });

  it('refuses the change to a group admin (403)', async () => {
    await expect(alpha.putTenantSettings({ oauth_enabled: true })).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('groups', () => {
  it('lists the groups the caller may see', async () => {
    const all = await admin.listAllGroups();
    expect(all).toEqual(expect.arrayContaining([{ id: world.groupA, name: 'alpha' }, { id: world.groupB, name: 'beta' }]));
    const page = await admin.listGroups();
    expect(page.items.length).toBeGreaterThanOrEqual(2);
    const mine = await alpha.listAllGroups();
    expect(mine.map((g) => g.id)).toContain(world.groupA);
    expect(mine.map((g) => g.id)).not.toContain(world.groupB);
  });
});

describe('apps', () => {
  beforeAll(async () => {
    await admin.putTenantSettings({ oauth_enabled: true });
  });

  it('creates a confidential app: the secret once, then never again', async () => {
    const input = appInput({ description: 'billing', callback_urls: ['https://b.example.com/cb', 'http://localhost:8080/cb'] });
    const created = await alpha.createApp(world.groupA, input);
    expect(created).toMatchObject({
      group_id: world.groupA,
      name: input.name,
      description: 'billing',
      scope: 'group',
      grant_types: ['authorization_code'],
      public_client: false,
      enabled: true,
      secret_version: expect.any(Number),
      version: expect.any(Number),
    });
    expect(created.callback_urls).toEqual(expect.arrayContaining(input.callback_urls));
    expect(created.client_secret).toEqual(expect.any(String));
    expect(created.id).toMatch(/^app_[^/]+$/);

    const read = await alpha.getApp(created.id);
    const { client_secret: _secret, ...withoutSecret } = created;
    expect(read).toEqual(withoutSecret);
    expect(read).not.toHaveProperty('client_secret');
  });

  it('creates a public app without a secret, with PKCE', async () => {
    const created = await alpha.createApp(world.groupA, appInput({ public_client: true, require_pkce: true }));
    expect(created.client_secret).toBeNull();
    expect(created.require_pkce).toBe(true);
  });

  it('refuses invalid fields with 422 and the path of each', async () => {
    const err = await alpha.createApp(world.groupA, appInput({ name: 'no/slashes', callback_urls: ['ftp://x'] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnprocessableError);
    const e = err as UnprocessableError;
    expect(e.status).toBe(422);
    expect(e.fieldErrors.map((f) => f.path)).toEqual(expect.arrayContaining(['name']));
    expect(e.fieldErrors.some((f) => f.path.startsWith('callback_urls'))).toBe(true);
    expect(e.message).toContain(`POST /v1/groups/${world.groupA}/apps: 422`);
  });

  it('refuses a duplicate name in the group with 409', async () => {
    const input = appInput();
    await alpha.createApp(world.groupA, input);
    await expect(alpha.createApp(world.groupA, input)).rejects.toBeInstanceOf(ConflictError);
  });

  it('updates with If-Match, and a stale version is a 412 that says what to do', async () => {
    const app = await alpha.createApp(world.groupA, appInput());
    const updated = await alpha.updateApp(app.id, { description: 'v2', enabled: false }, { ifMatch: app.version });
    expect(updated).toMatchObject({ description: 'v2', enabled: false, version: app.version + 1 });

    const stale = await alpha.updateApp(app.id, { description: 'v3' }, { ifMatch: app.version }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(PreconditionFailedError);
    expect(isPreconditionFailed(stale)).toBe(true);
    const p = stale as PreconditionFailedError;
    expect(p.status).toBe(412);
    expect(p.problem.status).toBe(412);
    expect(p.message).toMatch(/changed since it was read.*terraform refresh/);
    expect(p.message).toContain(`PATCH /v1/apps/${app.id}`);

    // Without a version the change simply applies.
    const free = await alpha.updateApp(app.id, { name: `${app.name} renamed` });
    expect(free.name).toBe(`${app.name} renamed`);
    expect(free.version).toBe(app.version + 2);
  });

  it('refuses a change of scope with 422: a new registration is needed', async () => {
    const app = await alpha.createApp(world.groupA, appInput());
    const err = await alpha.updateApp(app.id, { scope: 'organization' } as UpdateAppInput).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnprocessableError);
    expect((err as ServiceError).fieldErrors.map((f) => f.path)).toContain('scope');
  });

  it('rotates a secret, and refuses to rotate a public client (409)', async () => {
    const app = await alpha.createApp(world.groupA, appInput());
    const rotated = await alpha.rotateSecret(app.id);
    expect(rotated.client_secret).not.toBe(app.client_secret);
    expect(rotated.secret_version).toBe(app.secret_version + 1);
    expect((await alpha.getApp(app.id)).secret_version).toBe(rotated.secret_version);

    // A rotation is a change of the app: it bumps the version, and honours If-Match.
    const current = await alpha.getApp(app.id);
    expect(current.version).toBe(app.version + 1);
    await expect(alpha.rotateSecret(app.id, { ifMatch: app.version })).rejects.toBeInstanceOf(PreconditionFailedError);
    const again = await alpha.rotateSecret(app.id, { ifMatch: current.version });
    expect(again.secret_version).toBe(rotated.secret_version + 1);

    const pub = await alpha.createApp(world.groupA, appInput({ public_client: true, require_pkce: true }));
    await expect(alpha.rotateSecret(pub.id)).rejects.toBeInstanceOf(ConflictError);
  });

  it('deletes with If-Match; afterwards the app is a NotFoundError', async () => {
    const app = await alpha.createApp(world.groupA, appInput());
    await expect(alpha.deleteApp(app.id, { ifMatch: app.version + 7 })).rejects.toBeInstanceOf(PreconditionFailedError);
    await alpha.deleteApp(app.id, { ifMatch: app.version });
    const gone = await alpha.getApp(app.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(NotFoundError);
    expect(isNotFound(gone)).toBe(true);
    expect((gone as NotFoundError).isNotFound).toBe(true);
    expect((gone as NotFoundError).problem.status).toBe(404);
    // A first-hand 404 on delete is reported: nothing of ours can have deleted it.
    await expect(alpha.deleteApp(app.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('hides another group\'s group-scoped app (404) and refuses writes by the auditor (403)', async () => {
    const app = await alpha.createApp(world.groupA, appInput());
    await expect(beta.getApp(app.id)).rejects.toBeInstanceOf(NotFoundError);
    const auditor = world.client(world.auditorToken);
    expect((await auditor.getApp(app.id)).id).toBe(app.id);
    await expect(auditor.updateApp(app.id, { enabled: false })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('walks every page of the app list', async () => {
    const dir = await admin.putTenantSettings({ oauth_enabled: true }); // keep OAuth on whatever ran before
    expect(dir.oauth_enabled).toBe(true);
    const made: App[] = [];
    for (let i = 0; i < 7; i++) made.push(await beta.createApp(world.groupB, appInput({ scope: 'organization' })));

    const first = await beta.listApps({ group_id: world.groupB, limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await beta.listApps({ group_id: world.groupB, limit: 3, cursor: first.next_cursor! });
    expect(second.items.map((a) => a.id)).not.toContain(first.items[0]!.id);

    const all = await beta.listAllApps({ group_id: world.groupB, limit: 3 });
    expect(all.map((a) => a.id).sort()).toEqual(made.map((a) => a.id).sort());
    const iterated: string[] = [];
    for await (const app of beta.iterateApps({ group_id: world.groupB, scope: 'organization', limit: 2 })) iterated.push(app.id);
    expect(iterated.sort()).toEqual(made.map((a) => a.id).sort());

    // Stopping early fetches no further pages.
    const proxy = await startFaultProxy({ target: world.url });
    try {
      const viaProxy = world.client(world.groupAdminB, { endpoint: proxy.url });
      for await (const app of viaProxy.iterateApps({ group_id: world.groupB, limit: 2 })) {
        expect(app.group_id).toBe(world.groupB);
        break;
      }
      expect(proxy.requests).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});

describe('browse and consents', () => {
  let shared: App;

  beforeAll(async () => {
    await admin.putTenantSettings({ oauth_enabled: true });
    shared = await alpha.createApp(world.groupA, appInput({ scope: 'organization' }));
  });

  it('shows another group\'s organization-scoped apps with consent, and a consent round trip', async () => {
    const listed = await beta.browseAll({ group_id: world.groupB });
    const entry = listed.find((a) => a.id === shared.id);
    expect(entry).toMatchObject({ id: shared.id, client_id: shared.client_id, group_id: world.groupA, consented: false });
    expect(entry).not.toHaveProperty('client_secret');
    const page = await beta.browse({ group_id: world.groupB, limit: 1 });
    expect(page.items).toHaveLength(1);

    const first = await beta.putConsent(world.groupB, shared.id);
    expect(first.created).toBe(true);
    expect(first.consent).toEqual({ id: `${world.groupB}/${shared.id}`, group_id: world.groupB, app_id: shared.id, created_at: expect.any(String) });
    const again = await beta.putConsent(world.groupB, shared.id);
    expect(again).toEqual({ consent: first.consent, created: false });

    expect(await beta.getConsent(world.groupB, shared.id)).toEqual(first.consent);
    expect((await beta.browseAll({ group_id: world.groupB })).find((a) => a.id === shared.id)?.consented).toBe(true);
    const iterated: string[] = [];
    for await (const item of beta.iterateBrowse({ group_id: world.groupB, limit: 1 })) iterated.push(item.id);
    expect(iterated).toContain(shared.id);

    expect(await beta.listAllConsents({ group_id: world.groupB })).toEqual([first.consent]);
    expect((await admin.listConsents()).items).toEqual(expect.arrayContaining([first.consent]));

    await beta.deleteConsent(world.groupB, shared.id);
    await expect(beta.getConsent(world.groupB, shared.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(beta.deleteConsent(world.groupB, shared.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('walks consents across pages', async () => {
    const apps: App[] = [];
    for (let i = 0; i < 5; i++) apps.push(await alpha.createApp(world.groupA, appInput({ scope: 'organization' })));
    for (const a of apps) await beta.putConsent(world.groupB, a.id);
    const first = await beta.listConsents({ group_id: world.groupB, limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).not.toBeNull();
    const all = await beta.listAllConsents({ group_id: world.groupB, limit: 2 });
    expect(all.map((c) => c.app_id).sort()).toEqual(apps.map((a) => a.id).sort());
    const iterated: string[] = [];
    for await (const c of beta.iterateConsents({ group_id: world.groupB, limit: 2 })) iterated.push(c.app_id);
    expect(iterated.sort()).toEqual(apps.map((a) => a.id).sort());
  });

  it('deleting an app deletes its consents', async () => {
    const app = await alpha.createApp(world.groupA, appInput({ scope: 'organization' }));
    await beta.putConsent(world.groupB, app.id);
    await alpha.deleteApp(app.id);
    await expect(beta.getConsent(world.groupB, app.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('audit', () => {
  it('lists events across pages, for the tenant admin and the auditor', async () => {
    const auditor = world.client(world.auditorToken);
    const all = await auditor.listAllAudit({ limit: 4 });
    expect(all.length).toBeGreaterThan(8);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    const first = await admin.listAudit({ limit: 4 });
    expect(first.items).toHaveLength(4);
    expect(first.next_cursor).not.toBeNull();
    let count = 0;
    for await (const event of admin.iterateAudit({ limit: 5 })) {
      expect(event.id).toEqual(expect.any(String));
      count++;
    }
    expect(count).toBe(all.length);
    await expect(alpha.listAudit()).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('never records a secret', async () => {
    const app = await alpha.createApp(world.groupA, appInput());
    const rotated = await alpha.rotateSecret(app.id);
    const text = JSON.stringify(await admin.listAllAudit());
    expect(text).not.toContain(app.client_secret!);
    expect(text).not.toContain(rotated.client_secret);
  });
});

describe('the client itself', () => {
  it('reads the health of the service without a token', async () => {
    expect(await world.client('').health()).toEqual({ status: 'ok' });
  });

  it('does not load axios until the first call: the provider imports the client at every start', async () => {
    let loaded = false;
    await jest.isolateModulesAsync(async () => {
      jest.doMock('axios', () => {
        loaded = true;
        return jest.requireActual('axios');
      });
      const { AppregClient: Isolated } = await import('../../src/client');
      const c = new Isolated({ endpoint: world.url, token: world.adminToken });
      expect(loaded).toBe(false);
      await c.health();
      expect(loaded).toBe(true);
      c.close();
    });
  });


  it('refuses a token the service does not know (401)', async () => {
    const stranger = world.client('not-a-real-token');
    const err = await stranger.getTenantSettings().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).attempts).toBe(1);
  });

  it('sends a User-Agent naming the client and its version, after the caller\'s', async () => {
    const version = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')).version as string;
    const proxy = await startFaultProxy({ target: world.url });
    try {
      const plain = world.client(world.adminToken, { endpoint: proxy.url });
      const named = world.client(world.adminToken, { endpoint: proxy.url, userAgent: 'terraform-provider-appreg/9.9.9' });
      expect(plain.userAgent).toBe(`appreg-client/${version}`);
      await plain.getTenantSettings();
      await named.getTenantSettings();
      expect(proxy.requests.map((r) => r.headers['user-agent'])).toEqual([
        `appreg-client/${version}`,
        `terraform-provider-appreg/9.9.9 appreg-client/${version}`,
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('exports schemas that parse what the service returns', async () => {
    const app = await alpha.createApp(world.groupA, appInput());
    const { client_secret: _s, ...plain } = app;
    expect(AppSchema.parse(plain)).toEqual(plain);
  });

  it('checks its options', () => {
    expect(() => new AppregClient({ endpoint: 'not a url', token: 't' })).toThrow(/absolute http/);
    expect(() => new AppregClient({ endpoint: 'ftp://x', token: 't' })).toThrow(/http or https/);
    expect(() => new AppregClient({ endpoint: 'http://u:p@x', token: 't' })).toThrow(/user info/);
    expect(() => new AppregClient({ endpoint: 'http://x', token: 't', timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => new AppregClient({ endpoint: 'http://x', token: 't', retry: { maxAttempts: 0 } })).toThrow(/maxAttempts/);
    expect(new AppregClient({ endpoint: 'http://x:1/base/', token: 't' }).endpoint).toBe('http://x:1/base');
  });
});
