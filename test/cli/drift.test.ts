/**
 * `appreg drift` as a scheduled job runs it: the real CLI, real Terraform on a
 * stack applied through the provider, and a real service changed by hand in
 * between. Covers each exit code (0, 2, 1) and each output format.
 */
import * as path from 'node:path';
import { AppregClient } from '../../src/client';
import type { DriftReport } from '../../src/cli/drift';
import { runProcess, type ProcessRun } from '../support/process';
import { startTestService, type TestService } from '../support/service';
import { PROVIDER_PREAMBLE, REPO_ROOT, requireBuiltProvider, requireTerraform, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(120_000);

const STACK = `
${PROVIDER_PREAMBLE}data "appreg_group" "platform" { name = "platform" }
resource "appreg_tenant_oauth_setting" "this" { oauth_enabled = true }
resource "appreg_oauth_client" "web" {
  group_id      = data.appreg_group.platform.id
  name          = "Web App"
  scope         = "group"
  callback_urls = ["https://web.example.com/cb"]
  depends_on    = [appreg_tenant_oauth_setting.this]
}
`;

describe('appreg drift', () => {
  let svc: TestService;
  let tf: TerraformWorkspace;
  let api: AppregClient;
  let webId: string;
  const outputs: string[] = [];

  const drift = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessRun> => {
    const r = await runProcess(path.join(REPO_ROOT, 'bin', 'appreg'), ['drift', '--dir', tf.dir, ...args], { env: { ...tf.env, TF_LOG: '', ...env } });
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService({ groups: ['platform', 'billing'] });
    api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
    tf = new TerraformWorkspace({ endpoint: svc.url, token: svc.adminToken });
    tf.write(STACK);
    await tf.apply();
    webId = (await tf.resource('appreg_oauth_client.web')).id as string;
  });

  afterAll(async () => {
    api?.close();
    tf?.dispose();
    await svc?.close();
  });

  it('exits 0 and says so in every format when nothing drifted', async () => {
    const text = await drift([]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^No drift/);
    const json = await drift(['--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ drifted: [], unmanaged: [] });
    const md = await drift(['--markdown']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('### appreg drift: none');
  });

  it('exits 2 and reports each changed attribute with before and after', async () => {
    await api.updateApp(webId, { callback_urls: ['https://web.example.com/cb', 'https://evil.example.com/cb'], enabled: false });
    const text = await drift([]);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain('appreg_oauth_client.web: changed outside Terraform');
    expect(text.stdout).toMatch(/callback_urls: \["https:\/\/web.example.com\/cb"\] -> \[.*"https:\/\/evil.example.com\/cb".*\]/);
    expect(text.stdout).toContain('enabled: true -> false');

    const json = await drift(['--json']);
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as DriftReport;
    expect(report.drifted).toHaveLength(1);
    expect(report.drifted[0]).toMatchObject({ address: 'appreg_oauth_client.web', action: 'update' });
    expect(report.drifted[0]!.attributes.map((a) => a.attribute)).toEqual(['callback_urls', 'enabled']);

    const md = await drift(['--markdown']);
    expect(md.code).toBe(2);
    expect(md.stdout).toContain('### appreg drift found');
    expect(md.stdout).toContain('| `appreg_oauth_client.web` | `enabled` | true | false |');
    // A drift check only reads: the service still has the hand-made change.
    expect((await api.getApp(webId)).enabled).toBe(false);
    await tf.apply();
    expect((await drift([])).code).toBe(0);
  });

  it('masks a secret rotated by hand instead of printing it', async () => {
    const before = (await tf.resource('appreg_oauth_client.web')).client_secret as string;
    const rotated = await api.rotateSecret(webId);
    const json = await drift(['--json']);
    expect(json.code).toBe(2);
    const attrs = (JSON.parse(json.stdout) as DriftReport).drifted[0]!.attributes;
    expect(attrs.find((a) => a.attribute === 'client_secret')).toEqual({ attribute: 'client_secret', before: '(sensitive value)', after: '(sensitive value)', sensitive: true });
    expect(attrs.find((a) => a.attribute === 'secret_version')).toMatchObject({ before: 1, after: 2 });
    const text = await drift([]);
    for (const out of [json.stdout, text.stdout, text.stderr]) {
      expect(out).not.toContain(before);
      expect(out).not.toContain(rotated.client_secret);
    }
    // Take the new secret into state so later steps start clean.
    await tf.ok(['apply', '-refresh-only', '-auto-approve']);
  });

  it('reports an app deleted by hand', async () => {
    await api.deleteApp(webId);
    const r = await drift([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('appreg_oauth_client.web: deleted outside Terraform');
    await tf.apply();
    webId = (await tf.resource('appreg_oauth_client.web')).id as string;
    expect((await drift([])).code).toBe(0);
  });

  it('lists apps that exist in the service but no resource manages, only in groups the token sees', async () => {
    const hand = await api.createApp(svc.groups.platform!, { name: 'Hand Made', scope: 'group', callback_urls: ['https://hand.example.com/cb'] });
    const other = await api.createApp(svc.groups.billing!, { name: 'Billing Own', scope: 'group', callback_urls: ['https://b.example.com/cb'] });
    const r = await drift(['--json']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout) as DriftReport;
    expect(report.drifted).toEqual([]);
    expect(report.unmanaged?.map((a) => a.id).sort()).toEqual([hand.id, other.id].sort());
    // A group admin's scheduled job covers its own group only.
    const scoped = await drift(['--json', '--token', svc.groupAdminTokens.billing!]);
    expect((JSON.parse(scoped.stdout) as DriftReport).unmanaged?.map((a) => a.id)).toEqual([other.id]);
    const md = await drift(['--markdown']);
    expect(md.stdout).toContain('Registrations managed by no resource in this stack');
    expect(md.stdout).toContain(`\`${hand.id}\``);
    expect((await drift(['--no-unmanaged'])).code).toBe(0);
    await api.deleteApp(hand.id);
    await api.deleteApp(other.id);
  });

  it('exits 1 with a clear message when it cannot check', async () => {
    const missing = await drift(['--dir', path.join(tf.dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
    const noService = await drift([], { APPREG_TOKEN: '' });
    expect(noService.code).toBe(1);
    expect(noService.stderr).toMatch(/APPREG_TOKEN/);
    // Plain http to a host that is not loopback would send the token in clear: refused before anything is sent.
    const insecure = await drift(['--endpoint', 'http://appreg.example.com']);
    expect(insecure.code).toBe(1);
    expect(insecure.stderr).toMatch(/Insecure provider endpoint: --endpoint "http:\/\/appreg\.example\.com" uses plain http/);
    expect(insecure.stderr).not.toMatch(/terraform plan/);
    const badToken = await drift(['--no-unmanaged'], { APPREG_TOKEN: 'art_wrong' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/terraform plan -refresh-only failed/);
    expect(badToken.stderr).toMatch(/token was refused/);
  });

  it('never prints the token', () => {
    for (const out of outputs) {
      expect(out).not.toContain(svc.adminToken);
      expect(out).not.toContain(svc.groupAdminTokens.billing!);
    }
  });
});
