/**
 * `appreg plan-summary` on plans made by real Terraform with the real
 * provider: creation, an in-place update beside a replacement forced by
 * `scope`, no changes, destruction; cutting to size; and its errors.
 */
import * as path from 'node:path';
import { AppregClient } from '../../src/client';
import { runProcess, type ProcessRun } from '../support/process';
import { startTestService, type TestService } from '../support/service';
import { PROVIDER_PREAMBLE, REPO_ROOT, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(120_000);

const stack = (scope: string, urls: string[]): string => `
${PROVIDER_PREAMBLE}data "appreg_group" "platform" { name = "platform" }
data "appreg_group" "billing" { name = "billing" }
resource "appreg_tenant_oauth_setting" "this" { oauth_enabled = true }
resource "appreg_oauth_client" "portal" {
  group_id      = data.appreg_group.platform.id
  name          = "Portal"
  scope         = "${scope}"
  callback_urls = ["https://portal.example.com/cb"]
  depends_on    = [appreg_tenant_oauth_setting.this]
}
resource "appreg_oauth_client" "web" {
  group_id      = data.appreg_group.billing.id
  name          = "Web"
  scope         = "group"
  callback_urls = ${JSON.stringify(urls)}
  depends_on    = [appreg_tenant_oauth_setting.this]
}
`;

describe('appreg plan-summary', () => {
  let svc: TestService;
  let tf: TerraformWorkspace;
  let api: AppregClient;

  const summary = (args: string[]): Promise<ProcessRun> =>
    runProcess(path.join(REPO_ROOT, 'bin', 'appreg'), ['plan-summary', '--dir', tf.dir, ...args], { env: { ...tf.env, TF_LOG: '' } });
  const planTo = async (file: string, extra: string[] = []): Promise<void> => {
    const r = await tf.plan([`-out=${file}`, ...extra]);
    if (r.code === 1) throw new Error(r.stderr);
  };

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService({ groups: ['platform', 'billing'] });
    api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
    tf = new TerraformWorkspace({ endpoint: svc.url, token: svc.adminToken });
  });

  afterAll(async () => {
    api?.close();
    tf?.dispose();
    await svc?.close();
  });

  it('counts and lists what a first plan creates, with Terraform text of the plan folded below', async () => {
    tf.write(stack('group', ['https://web.example.com/cb']));
    await planTo('create.tfplan');
    const r = await summary(['--plan', 'create.tfplan']);
    expect(r.code).toBe(0);
    const name = path.basename(tf.dir);
    expect(r.stdout).toContain(`### appreg plan for \`${name}\`: 3 to create, 0 to update, 0 to replace, 0 to destroy`);
    expect(r.stdout).toContain('| `appreg_oauth_client.portal` | create |  |');
    expect(r.stdout).toContain('| `appreg_tenant_oauth_setting.this` | create |  |');
    // Data sources are read, not changed: they are not listed.
    expect(r.stdout).not.toContain('data.appreg_group');
    expect(r.stdout).toMatch(/<details><summary>Terraform plan<\/summary>\n\n```text\n[\s\S]*Plan: 3 to add, 0 to change, 0 to destroy\.[\s\S]*```\n\n<\/details>\n$/);
  });

  it('names the attribute that forces a replacement, says the client id changes, and lists in-place updates', async () => {
    await tf.apply();
    const secret = (await tf.resource('appreg_oauth_client.portal')).client_secret as string;
    tf.write(stack('organization', ['https://web.example.com/cb', 'https://web.example.com/cb2']));
    await planTo('change.tfplan');
    const r = await summary(['--plan', 'change.tfplan']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(': 0 to create, 1 to update, 1 to replace, 0 to destroy');
    expect(r.stdout).toContain('| `appreg_oauth_client.portal` | **replace** (new client id and secret) | `scope` forces replacement |');
    expect(r.stdout).toContain('| `appreg_oauth_client.web` | update in place | `callback_urls` |');
    // The plan holds the secret in its prior state; the summary never shows it.
    expect(secret.length).toBeGreaterThan(20);
    expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it('says what was changed outside Terraform when the plan undoes it', async () => {
    tf.write(stack('group', ['https://web.example.com/cb']));
    const web = (await tf.resource('appreg_oauth_client.web')).id as string;
    await api.updateApp(web, { description: 'edited by hand' });
    await planTo('undo.tfplan');
    const r = await summary(['--plan', 'undo.tfplan']);
    expect(r.stdout).toContain('| `appreg_oauth_client.web` | update in place | `description` |');
    expect(r.stdout).toContain('Changed outside Terraform since the last apply (applying this plan puts them back): `appreg_oauth_client.web`');
  });

  it('says there are no changes when there are none', async () => {
    await tf.apply();
    await planTo('same.tfplan');
    const r = await summary(['--plan', 'same.tfplan']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(': no changes');
    expect(r.stdout).toContain('The registrations match the configuration.');
    expect(r.stdout).not.toContain('| Resource |');
  });

  it('counts a destroy plan', async () => {
    await planTo('destroy.tfplan', ['-destroy']);
    const r = await summary(['--plan', 'destroy.tfplan']);
    expect(r.stdout).toContain(': 0 to create, 0 to update, 0 to replace, 3 to destroy');
    expect(r.stdout).toContain('| `appreg_oauth_client.web` | **destroy** |  |');
  });

  it('cuts the plan text to fit the limit, keeping the table whole and the Markdown well formed', async () => {
    const r = await summary(['--plan', 'destroy.tfplan', '--max-chars', '1000']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeLessThanOrEqual(1000);
    expect(r.stdout).toContain('| `appreg_oauth_client.web` | **destroy** |  |');
    expect(r.stdout).toContain('… (cut here to fit; the whole plan is in the job log)');
    expect(r.stdout).toMatch(/```\n\n<\/details>\n$/);
  });

  it('fails with exit 1 and a message that names the missing plan file', async () => {
    const r = await summary(['--plan', 'nope.tfplan']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`plan file ${path.join(tf.dir, 'nope.tfplan')} does not exist`);
    expect(r.stdout).toBe('');
  });

  it('rejects a limit too small to hold a summary', async () => {
    const r = await summary(['--plan', 'destroy.tfplan', '--max-chars', '12']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--max-chars must be a whole number of at least 1000');
  });
});
