/**
 * Batched refresh against the real service (SQLite, in process): reads of a
 * group's apps and consents cost one walk of its list, however many there
 * are, and still tell the truth about apps made, deleted or written since.
 * Requests are counted by a pass-through proxy in front of the service.
 */
import { AppregClient, type App } from '../../src/client';
import { UnauthorizedError } from '../../src/client/errors';
import { ReadSnapshot, SNAPSHOT_PAGE_SIZE } from '../../src/resources/snapshot';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { startTestService, type TestService } from '../support/service';

jest.setTimeout(60_000);

let proxy: FaultProxy;

/** Requests (`METHOD path?query`) that reached the service while `run` ran. */
async function counted<T>(run: () => Promise<T>): Promise<{ value: T; calls: string[] }> {
  const before = proxy.requests.length;
  const value = await run();
  return { value, calls: proxy.requests.slice(before).map((r) => `${r.method} ${r.path}`) };
}

describe('ReadSnapshot (batched refresh)', () => {
  let svc: TestService;
  let admin: AppregClient;
  let platform: AppregClient;
  let billing: AppregClient;
  const apps: App[] = [];
  let orgApp: App;
  const N = SNAPSHOT_PAGE_SIZE + 50; // two pages

  beforeAll(async () => {
    svc = await startTestService({ groups: ['platform', 'billing'], rateLimit: 0 });
    proxy = await startFaultProxy({ target: svc.url });
    admin = new AppregClient({ endpoint: proxy.url, token: svc.adminToken });
    platform = new AppregClient({ endpoint: proxy.url, token: svc.groupAdminTokens.platform! });
    billing = new AppregClient({ endpoint: proxy.url, token: svc.groupAdminTokens.billing! });
    await admin.putTenantSettings({ oauth_enabled: true });
    for (let i = 0; i < N; i += 25) {
      const made = await Promise.all(Array.from({ length: Math.min(25, N - i) }, (_, k) =>
        platform.createApp(svc.groups.platform!, { name: `App ${i + k}`, callback_urls: ['https://a.example.com/cb'], scope: 'organization' })));
      apps.push(...made.map(({ client_secret: _s, ...app }) => app));
    }
    orgApp = apps[0]!;
  });

  afterAll(async () => {
    for (const c of [admin, platform, billing]) c?.close();
    await proxy?.close();
    await svc?.close();
  });

  it('answers every read of a group from one walk of its list pages, with what a GET would say', async () => {
    const snapshot = new ReadSnapshot(platform);
    // As Terraform refreshes: many reads at once.
    const { value: got, calls } = await counted(() => Promise.all(apps.map((a) => snapshot.app(a.group_id, a.id))));
    expect(calls).toHaveLength(Math.ceil(N / SNAPSHOT_PAGE_SIZE));
    expect(calls.every((c) => c.startsWith(`GET /v1/apps?`) && c.includes(`group_id=${svc.groups.platform}`))).toBe(true);
    expect(got.map((a) => a?.id)).toEqual(apps.map((a) => a.id));
    for (const i of [0, 137, N - 1]) expect(got[i]).toEqual(await platform.getApp(apps[i]!.id));
    // Later reads cost nothing.
    expect((await counted(() => snapshot.app(apps[5]!.group_id, apps[5]!.id))).calls).toEqual([]);
  });

  it('confirms an app missing from the list with one GET: gone is null, made since is found', async () => {
    const doomed = apps[N - 1]!;
    await platform.deleteApp(doomed.id);
    apps.pop();
    const snapshot = new ReadSnapshot(platform);
    await snapshot.app(svc.groups.platform!, apps[0]!.id); // the walk
    const { client_secret: _s, ...late } = await platform.createApp(svc.groups.platform!, { name: 'Made after the walk', callback_urls: ['https://a.example.com/cb'], scope: 'group' });

    const gone = await counted(() => snapshot.app(doomed.group_id, doomed.id));
    expect(gone.value).toBeNull();
    expect(gone.calls).toEqual([`GET /v1/apps/${doomed.id}`]);
    const found = await counted(() => snapshot.app(late.group_id, late.id));
    expect(found.value).toEqual(late);
    expect(found.calls).toEqual([`GET /v1/apps/${late.id}`]);
    apps.push(late);
  });

  it('asks the service again for an app this provider wrote, and for the consents to an app it deleted', async () => {
    const snapshot = new ReadSnapshot(billing);
    await billing.putConsent(svc.groups.billing!, orgApp.id);
    expect(await snapshot.consent(svc.groups.billing!, orgApp.id)).toMatchObject({ app_id: orgApp.id });

    const target = apps[10]!;
    const pSnap = new ReadSnapshot(platform);
    await pSnap.app(target.group_id, target.id);
    pSnap.touchedApp(target.id);
    const changed = await platform.updateApp(target.id, { description: 'changed by the provider' });
    const reread = await counted(() => pSnap.app(target.group_id, target.id));
    expect(reread.calls).toEqual([`GET /v1/apps/${target.id}`]);
    expect(reread.value).toEqual(changed);

    // Deleting the app deletes the consents to it; the billing snapshot, told of the write, asks again.
    snapshot.touchedApp(orgApp.id);
    await platform.deleteApp(orgApp.id);
    const consent = await counted(() => snapshot.consent(svc.groups.billing!, orgApp.id));
    expect(consent.value).toBeNull();
    expect(consent.calls).toEqual([`GET /v1/groups/${svc.groups.billing}/consents/${orgApp.id}`]);
  });

  it('falls back to one GET per object for a group this token may not list, and does not keep a failed walk', async () => {
    // billing's token may not list platform's group-scoped apps... but sees its organization apps.
    const snapshot = new ReadSnapshot(billing);
    const unknownGroup = 'grp_doesnotexist';
    const read = await counted(() => snapshot.app(unknownGroup, apps[3]!.id));
    expect(read.calls).toEqual([`GET /v1/apps?group_id=${unknownGroup}&limit=${SNAPSHOT_PAGE_SIZE}`, `GET /v1/apps/${apps[3]!.id}`]);
    expect(read.value?.id).toBe(apps[3]!.id);

    // A state without its group (edited by hand) is read with a GET alone.
    const noGroup = await counted(() => snapshot.app('', apps[3]!.id));
    expect(noGroup.calls).toEqual([`GET /v1/apps/${apps[3]!.id}`]);
    expect(noGroup.value?.id).toBe(apps[3]!.id);

    const revoked = new AppregClient({ endpoint: proxy.url, token: 'appreg_not_a_token' });
    const bad = new ReadSnapshot(revoked);
    await expect(bad.app(svc.groups.platform!, apps[3]!.id)).rejects.toBeInstanceOf(UnauthorizedError);
    // Not kept: the next read walks again (and fails again, the same way, with no GET per app).
    const again = await counted(() => bad.app(svc.groups.platform!, apps[4]!.id).catch((e: unknown) => e));
    expect(again.value).toBeInstanceOf(UnauthorizedError);
    expect(again.calls).toHaveLength(1);
    revoked.close();
  });
});
