/**
 * Acceptance test of the provider with the real `terraform` binary against a
 * real registration service on port 0. The steps run in order on one
 * workspace, like a provider acceptance test: each step is what a pipeline or
 * a person does next, and what the user would see is asserted.
 */
import { AppregClient } from '../../src/client';
import { adminTenantSet } from '../../src/server';
import { startTestService, type TestService } from '../support/service';
import { PROVIDER_PREAMBLE, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(180_000);

interface Knobs {
  scope?: string;
  triggers?: string;
  name?: string;
  /** The group that owns the portal app. */
  owner?: string;
  extra?: string;
}

/** The configuration under test: the tenant switch, an organization app, consents of two groups, a public device client. */
function config(k: Knobs = {}): string {
  return `
${PROVIDER_PREAMBLE}
data "appreg_group" "platform" { name = "platform" }
data "appreg_group" "billing"  { name = "billing" }
data "appreg_group" "support"  { name = "support" }
data "appreg_group" "web"      { name = "web" }

resource "appreg_tenant_oauth_setting" "this" {
  oauth_enabled = true
}

resource "appreg_oauth_client" "portal" {
  group_id      = data.appreg_group.${k.owner ?? 'platform'}.id
  name          = "${k.name ?? 'Partner Portal'}"
  scope         = "${k.scope ?? 'organization'}"
  callback_urls = ["https://portal.example.com/callback", "http://localhost:3000/callback"]
  description   = "The partner portal"
  ${k.triggers ? `rotation_triggers = { rotated = "${k.triggers}" }` : ''}
  depends_on    = [appreg_tenant_oauth_setting.this]
}

resource "appreg_app_consent" "billing" {
  group_id = data.appreg_group.billing.id
  app_id   = appreg_oauth_client.portal.id
}

resource "appreg_app_consent" "support" {
  group_id = data.appreg_group.support.id
  app_id   = appreg_oauth_client.portal.id
}

resource "appreg_oauth_client" "cli" {
  group_id      = data.appreg_group.platform.id
  name          = "Deploy CLI"
  scope         = "group"
  public_client = true
  grant_types   = ["device_code"]
  callback_urls = ["http://127.0.0.1:8400/done"]
  depends_on    = [appreg_tenant_oauth_setting.this]
}

output "portal_client_id" { value = appreg_oauth_client.portal.client_id }
${k.extra ?? ''}
`;
}

describe('appreg provider with real Terraform', () => {
  let svc: TestService;
  let tf: TerraformWorkspace;
  let api: AppregClient;
  /** Every secret the service handed out during the test, to look for in outputs and logs. */
  const secrets: string[] = [];
  /** Everything Terraform printed. */
  let printed = '';
  const run = async (p: Promise<{ code: number; stdout: string; stderr: string }>) => {
    const r = await p;
    printed += r.stdout + r.stderr;
    return r;
  };
  const portal = () => tf.resource('appreg_oauth_client.portal');

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService({ groups: ['platform', 'billing', 'support', 'web'] });
    tf = new TerraformWorkspace({ endpoint: svc.url, token: svc.adminToken });
    api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
  });

  afterAll(async () => {
    api?.close();
    tf?.dispose();
    await svc?.close();
  });

  it('applies a configuration with all three resources and both data sources', async () => {
    tf.write(config());
    await run(tf.apply());
    const app = await portal();
    expect(app.client_id).toEqual(expect.any(String));
    expect(app.client_secret).toEqual(expect.any(String));
    secrets.push(app.client_secret as string);
    const cli = await tf.resource('appreg_oauth_client.cli');
    expect(cli.client_secret).toBeNull();
    expect(cli.require_pkce).toBe(true);
    const billing = await tf.resource('appreg_app_consent.billing');
    expect(billing.id).toBe(`${svc.groups.billing}/${app.id}`);
    const live = await api.getApp(app.id as string);
    expect(live.scope).toBe('organization');
    expect((await api.getTenantSettings()).oauth_enabled).toBe(true);
  });

  it('plans no changes right after apply', async () => {
    const r = await run(tf.plan());
    expect(r.stdout).toContain('No changes');
    expect(r.code).toBe(0);
  });

  it('reports a callback URL changed by hand as drift, and apply puts it back', async () => {
    const id = (await portal()).id as string;
    await api.updateApp(id, { callback_urls: ['https://portal.example.com/callback', 'https://evil.example.com/cb'] });
    const drift = await run(tf.plan());
    expect(drift.code).toBe(2);
    // The update that undoes the change shows the hand-added URL going away and the removed one coming back.
    expect(drift.stdout).toContain('appreg_oauth_client.portal will be updated in-place');
    expect(drift.stdout).toMatch(/- "https:\/\/evil\.example\.com\/cb"/);
    expect(drift.stdout).toMatch(/\+ "http:\/\/localhost:3000\/callback"/);
    expect(drift.stdout).toMatch(/1 to change/);
    await run(tf.apply());
    expect((await api.getApp(id)).callback_urls.sort()).toEqual(['http://localhost:3000/callback', 'https://portal.example.com/callback']);
    expect((await run(tf.plan())).code).toBe(0);
  });

  it('plans to create an app deleted by hand', async () => {
    const cli = await tf.resource('appreg_oauth_client.cli');
    await api.deleteApp(cli.id as string);
    const r = await run(tf.plan());
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('appreg_oauth_client.cli will be created');
    await run(tf.apply());
    expect((await tf.resource('appreg_oauth_client.cli')).id).not.toBe(cli.id);
  });

  it('refuses at plan a scope change to group while other groups consent, naming the consents, and deletes nothing', async () => {
    // Applied, this would delete the app and both consents, then fail to consent to a group-scoped app.
    const before = await portal();
    const auditBefore = (await api.listAllAudit()).length;
    tf.write(config({ scope: 'group' }));
    for (const r of [await run(tf.plan()), await run(tf.run(['apply', '-auto-approve', '-no-color']))]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Replacement would break consents');
      expect(r.stderr).toContain(`${svc.groups.billing}/${before.id}`);
      expect(r.stderr).toContain(`${svc.groups.support}/${before.id}`);
      expect(r.stderr).toMatch(/with appreg_oauth_client\.portal/);
    }
    expect((await api.listAllAudit()).length).toBe(auditBefore);
    await expect(api.getApp(before.id as string)).resolves.toMatchObject({ scope: 'organization' });
    for (const group of ['billing', 'support']) {
      await expect(api.getConsent(svc.groups[group]!, before.id as string)).resolves.toMatchObject({ app_id: before.id });
    }
  });

  it('replaces the app when it moves to another group, and its consents follow the new app', async () => {
    const before = await portal();
    tf.write(config({ owner: 'web' }));
    const plan = await run(tf.plan());
    expect(plan.stdout).toMatch(/group_id\s+= "grp_\w+" -> "grp_\w+" # forces replacement/);
    await run(tf.apply());
    const after = await portal();
    secrets.push(after.client_secret as string);
    expect(after.id).not.toBe(before.id);
    expect(after.client_id).not.toBe(before.client_id);
    expect(after.client_secret).not.toBe(before.client_secret);
    await expect(api.getApp(before.id as string)).rejects.toMatchObject({ status: 404 });
    for (const group of ['billing', 'support']) {
      expect((await tf.resource(`appreg_app_consent.${group}`)).app_id).toBe(after.id);
      await expect(api.getConsent(svc.groups[group]!, after.id as string)).resolves.toMatchObject({ app_id: after.id });
    }
    expect((await run(tf.plan())).code).toBe(0);
  });

  it('rotates the secret in place when rotation_triggers change', async () => {
    const before = await portal();
    tf.write(config({ owner: 'web', triggers: '2026-Q4' }));
    const plan = await run(tf.plan());
    expect(plan.stdout).toContain('appreg_oauth_client.portal will be updated in-place');
    expect(plan.stdout).toMatch(/client_secret\s+= \(sensitive value\)/);
    await run(tf.apply());
    const after = await portal();
    secrets.push(after.client_secret as string);
    expect(after.client_id).toBe(before.client_id);
    expect(after.id).toBe(before.id);
    expect(after.client_secret).not.toBe(before.client_secret);
    expect(after.secret_version).toBe((before.secret_version as number) + 1);
    expect((await run(tf.plan())).code).toBe(0);
  });

  it('adopts an app made by hand with an import block', async () => {
    const made = await api.createApp(svc.groups.billing!, {
      name: 'Hand Made', scope: 'group', callback_urls: ['https://hand.example.com/cb'],
    });
    secrets.push(made.client_secret!);
    tf.write(config({
      owner: 'web',
      triggers: '2026-Q4',
      extra: `
import {
  to = appreg_oauth_client.adopted
  id = "${made.id}"
}
resource "appreg_oauth_client" "adopted" {
  group_id      = data.appreg_group.billing.id
  name          = "Hand Made"
  scope         = "group"
  callback_urls = ["https://hand.example.com/cb"]
}
`,
    }));
    const plan = await run(tf.plan());
    expect(plan.stdout).toMatch(/appreg_oauth_client\.adopted will be imported/);
    expect(plan.stdout).toMatch(/1 to import, 0 to add, 0 to change, 0 to destroy/);
    await run(tf.apply());
    const adopted = await tf.resource('appreg_oauth_client.adopted');
    expect(adopted.id).toBe(made.id);
    expect(adopted.client_secret).toBeNull(); // no secret until rotated
    expect((await run(tf.plan())).code).toBe(0);
  });

  it('fails an invalid configuration at plan with the attribute path, and changes nothing', async () => {
    const auditBefore = (await api.listAllAudit()).length;
    tf.write(config({ owner: 'web', name: 'bad.name', extra: `
resource "appreg_oauth_client" "bad" {
  group_id      = data.appreg_group.platform.id
  name          = "Bad"
  scope         = "tenant"
  callback_urls = ["http://insecure.example.com/cb"]
}
` }));
    const r = await run(tf.plan());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Invalid app name');
    expect(r.stderr).toMatch(/in resource "appreg_oauth_client" "portal":[\s\S]*name\s+= "bad.name"/);
    expect(r.stderr).toContain('Invalid scope');
    expect(r.stderr).toContain('Invalid callback URLs');
    expect(r.stderr).toContain('http://insecure.example.com/cb');
    expect((await api.listAllAudit()).length).toBe(auditBefore);
  });

  it('refuses at plan a device grant under SSO and a consent to a group-scoped app, changing nothing', async () => {
    const cli = await tf.resource('appreg_oauth_client.cli');
    await adminTenantSet(svc.db, { tenant: 'acme', sso: true });
    const auditBefore = (await api.listAllAudit()).length; // after the operator's own change, which is audited
    try {
      tf.write(config({ owner: 'web', triggers: '2026-Q4', extra: `
resource "appreg_oauth_client" "tv" {
  group_id      = data.appreg_group.platform.id
  name          = "TV App"
  scope         = "group"
  public_client = true
  grant_types   = ["device_code"]
  callback_urls = ["https://tv.example.com/cb"]
}
resource "appreg_app_consent" "to_group_app" {
  group_id = data.appreg_group.billing.id
  app_id   = "${cli.id}"
}
` }));
      const r = await run(tf.plan());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Device grant not allowed');
      expect(r.stderr).toMatch(/in resource "appreg_oauth_client" "tv"/);
      expect(r.stderr).toContain('App is not organization-scoped');
      expect(r.stderr).toMatch(/in resource "appreg_app_consent" "to_group_app"/);
      expect((await api.listAllAudit()).length).toBe(auditBefore);
    } finally {
      await adminTenantSet(svc.db, { tenant: 'acme', sso: false });
    }
  });

  it('destroy leaves the service without apps or consents', async () => {
    tf.write(config({ owner: 'web', triggers: '2026-Q4', extra: `
resource "appreg_oauth_client" "adopted" {
  group_id      = data.appreg_group.billing.id
  name          = "Hand Made"
  scope         = "group"
  callback_urls = ["https://hand.example.com/cb"]
}
` }));
    await run(tf.ok(['destroy', '-auto-approve', '-no-color']));
    expect(await api.listAllApps()).toEqual([]);
    expect(await api.listAllConsents()).toEqual([]);
    // Destroy leaves the tenant as it is.
    expect((await api.getTenantSettings()).oauth_enabled).toBe(true);
  });

  it('never shows a secret in plan output, Terraform output or logs', () => {
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    const log = tf.log();
    expect(log.length).toBeGreaterThan(0);
    for (const s of secrets) {
      expect(printed).not.toContain(s);
      expect(log).not.toContain(s);
      expect(svc.logs()).not.toContain(s);
    }
    expect(log).not.toContain(svc.adminToken);
  });
});
