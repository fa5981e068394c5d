/**
 * A pipeline killed mid-apply, with real Terraform: the service has made the
 * app (or rotated the secret), a proxy withholds its answer, and Terraform
 * and the provider are killed with SIGKILL before the state records it. The
 * next plain `terraform apply` must adopt what was made, with a secret the
 * service accepts: no 409 for the name, no second app, no orphan.
 */
import { spawn } from 'node:child_process';
import { AppregClient } from '../../src/client';
import { hashCredential } from '../../src/server/crypto';
import { openDatabase } from '../../src/server/storage/database';
import { faults, startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { startTestService, type TestService } from '../support/service';
import { PROVIDER_PREAMBLE, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(180_000);

function config(triggers?: string): string {
  return `
${PROVIDER_PREAMBLE}
data "appreg_group" "platform" { name = "platform" }

resource "appreg_tenant_oauth_setting" "this" {
  oauth_enabled = true
}

resource "appreg_oauth_client" "portal" {
  group_id      = data.appreg_group.platform.id
  name          = "Crash Portal"
  scope         = "group"
  callback_urls = ["https://portal.example.com/callback"]
  ${triggers ? `rotation_triggers = { at = "${triggers}" }` : ''}
  depends_on    = [appreg_tenant_oauth_setting.this]
}
`;
}

/**
 * Starts `terraform apply` in a process group of its own, waits until the
 * service has answered the request `answered` picks (the proxy withholds
 * that answer), then kills Terraform and its provider with SIGKILL.
 */
async function applyAndKill(tf: TerraformWorkspace, proxy: FaultProxy, answered: RegExp): Promise<void> {
  const child = spawn('terraform', ['apply', '-auto-approve', '-no-color'], { cwd: tf.dir, env: tf.env, detached: true, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 90_000;
  while (!proxy.requests.some((r) => r.fault === 'withhold-after-forward' && answered.test(r.path) && r.status !== undefined)) {
    if (Date.now() > deadline) throw new Error('the service never answered the withheld request');
    await new Promise((r) => setTimeout(r, 25));
  }
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
}

describe('a Terraform killed after the service committed', () => {
  let svc: TestService;
  let proxy: FaultProxy;
  let tf: TerraformWorkspace;
  let api: AppregClient;

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService({ groups: ['platform'] });
    proxy = await startFaultProxy({ target: svc.url });
    tf = new TerraformWorkspace({ endpoint: proxy.url, token: svc.adminToken });
    api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
  });
  afterAll(async () => {
    api?.close();
    tf?.dispose();
    await proxy?.close();
    await svc?.close();
  });

  const appsInService = () => api.listAllApps({ group_id: svc.groups.platform! });
  async function storedSecretHash(id: string): Promise<string | null> {
    const db = await openDatabase(svc.db);
    try {
      return (await db.get<{ secret_hash: string | null }>('SELECT secret_hash FROM apps WHERE id = ?', [id]))?.secret_hash ?? null;
    } finally {
      await db.close();
    }
  }
  async function stateApps(): Promise<Array<{ [k: string]: unknown }>> {
    const state = await tf.state();
    return (state.values?.root_module?.resources ?? []).filter((r) => r.type === 'appreg_oauth_client').map((r) => r.values);
  }

  it('the next apply adopts the app made before the kill, with a secret the service accepts', async () => {
    tf.write(config());
    proxy.inject(faults.withholdAfterForward(), { method: 'POST', path: /\/apps$/ });
    await applyAndKill(tf, proxy, /\/apps$/);
    const made = await appsInService();
    expect(made).toHaveLength(1); // the service made it ...
    expect(await stateApps()).toEqual([]); // ... and Terraform never recorded it

    const again = await tf.run(['apply', '-auto-approve', '-no-color']);
    expect(again.stderr).not.toMatch(/409|already has an app/);
    expect(again.code).toBe(0);
    const [inState] = await stateApps();
    expect(await appsInService()).toHaveLength(1); // no second app
    expect(inState!.id).toBe(made[0]!.id); // adopted, not orphaned
    expect(inState!.secret_version).toBe(1);
    expect(hashCredential(inState!.client_secret as string)).toBe(await storedSecretHash(made[0]!.id));
    expect((await tf.plan()).code).toBe(0);
  });

  it('the next apply after a kill mid-rotation holds the rotated secret, which the service accepts', async () => {
    tf.write(config('2026-12'));
    proxy.inject(faults.withholdAfterForward(), { method: 'POST', path: /rotate-secret$/ });
    await applyAndKill(tf, proxy, /rotate-secret$/);
    const [before] = await stateApps();
    const [live] = await appsInService();
    expect(live!.secret_version).toBe(2); // rotated in the service ...
    expect(before!.secret_version).toBe(1); // ... not in the state

    const again = await tf.run(['apply', '-auto-approve', '-no-color']);
    expect(again.code).toBe(0);
    const [after] = await stateApps();
    expect(after!.secret_version).toBe(2); // the same rotation adopted, not a third secret
    expect((await appsInService())[0]!.secret_version).toBe(2);
    expect(hashCredential(after!.client_secret as string)).toBe(await storedSecretHash(live!.id));
    expect((await tf.plan()).code).toBe(0);
  });

  it('an app deleted by hand since is made anew, never replayed from the dead one', async () => {
    const [old] = await stateApps();
    await api.deleteApp(old!.id as string);
    await tf.apply();
    const [now] = await stateApps();
    expect(now!.id).not.toBe(old!.id);
    expect(now!.client_secret).not.toBe(old!.client_secret);
    expect(hashCredential(now!.client_secret as string)).toBe(await storedSecretHash(now!.id as string));
    expect(await appsInService()).toHaveLength(1);
  });
});
