/**
 * Batched refresh through real Terraform: a no-change plan of a few hundred
 * clients and consents walks each group's list once instead of reading every
 * object, and still shows the changes made by hand (an app deleted, a
 * callback URL edited, a consent withdrawn). Requests are counted by a
 * pass-through proxy between the provider and the service.
 */
import { AppregClient } from '../../src/client';
import { SNAPSHOT_PAGE_SIZE } from '../../src/resources/snapshot';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { startTestService, type TestService } from '../support/service';
import { PROVIDER_PREAMBLE, requireBuiltProvider, requireTerraform, TerraformWorkspace, type TfRun } from '../support/terraform';

jest.setTimeout(300_000);

const N = 250;
const CONSENTS = 3;

describe('batched refresh', () => {
  let svc: TestService;
  let proxy: FaultProxy;
  let admin: AppregClient;
  let tf: TerraformWorkspace;

  /** The requests that reached the service during `run`, as `METHOD path?query`. */
  const during = async (run: () => Promise<TfRun>): Promise<{ run: TfRun; calls: string[] }> => {
    const before = proxy.requests.length;
    const r = await run();
    return { run: r, calls: proxy.requests.slice(before).map((x) => `${x.method} ${x.path}`) };
  };

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService({ groups: ['platform', 'billing'], rateLimit: 0 });
    proxy = await startFaultProxy({ target: svc.url });
    admin = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
    await admin.putTenantSettings({ oauth_enabled: true });
    tf = new TerraformWorkspace({ endpoint: proxy.url, token: svc.adminToken });
    tf.write(`${PROVIDER_PREAMBLE}
resource "appreg_oauth_client" "app" {
  count         = ${N}
  group_id      = "${svc.groups.platform}"
  name          = "App \${count.index}"
  scope         = "organization"
  callback_urls = ["https://app.example.com/callback"]
}

resource "appreg_app_consent" "billing" {
  count    = ${CONSENTS}
  group_id = "${svc.groups.billing}"
  app_id   = appreg_oauth_client.app[count.index].id
}
`);
    await tf.apply();
  });

  afterAll(async () => {
    tf?.dispose();
    admin?.close();
    await proxy?.close();
    await svc?.close();
  });

  it(`plans ${N} unchanged clients and ${CONSENTS} consents with one walk of each group's list`, async () => {
    const { run, calls } = await during(() => tf.plan());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const appPages = Math.ceil(N / SNAPSHOT_PAGE_SIZE);
    expect(calls.filter((c) => c.startsWith(`GET /v1/apps?group_id=${svc.groups.platform}&`))).toHaveLength(appPages);
    expect(calls.filter((c) => c.startsWith(`GET /v1/consents?group_id=${svc.groups.billing}&`))).toHaveLength(1);
    // Nothing else: no read of each object, no consent target check for consents planned in place.
    expect(calls).toHaveLength(appPages + 1);
    expect(calls.length).toBeLessThanOrEqual((N + CONSENTS) / 100 + 5);
  });

  it('still shows what was changed by hand, confirming a missing object with one GET before calling it gone', async () => {
    const state = await tf.state();
    const ids = (state.values?.root_module?.resources ?? [])
      .filter((r) => r.type === 'appreg_oauth_client')
      .map((r) => r.values.id as string);
    const [deleted, edited] = [ids[N - 1]!, ids[N - 2]!];
    await admin.deleteApp(deleted);
    await admin.updateApp(edited, { callback_urls: ['https://edited.example.com/by-hand'] });
    const withdrawnApp = ids[0]!;
    await admin.deleteConsent(svc.groups.billing!, withdrawnApp);

    const { run, calls } = await during(() => tf.plan());
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/Plan: 2 to add, 1 to change, 0 to destroy\./);
    expect(run.stdout).toContain(`appreg_oauth_client.app[${N - 1}] will be created`);
    expect(run.stdout).toContain(`appreg_oauth_client.app[${N - 2}] will be updated in-place`);
    expect(run.stdout).toContain('https://edited.example.com/by-hand');
    expect(run.stdout).toContain('appreg_app_consent.billing[0] will be created');
    // The deleted app and the withdrawn consent are each confirmed once; nothing else is read one
    // by one but what the plan checks of the two objects to create need: OAuth on for the new
    // client, and the new consent's target app.
    const single = calls.filter((c) => !c.includes('?'));
    expect(single.sort()).toEqual([
      `GET /v1/apps/${deleted}`,
      `GET /v1/groups/${svc.groups.billing}/consents/${withdrawnApp}`,
      'GET /v1/tenant/oauth-settings',
      `GET /v1/apps/${withdrawnApp}`,
    ].sort());

    // Applying puts everything back, and the next plan is empty again.
    await tf.apply();
    const again = await tf.plan();
    expect(again.code).toBe(0);
  });
});
