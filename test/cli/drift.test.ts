/**
 * `appreg drift` as a scheduled job runs it: the real CLI, real Terraform on a
 * stack applied through the provider, and a real service changed by hand in
 * between. Covers each exit code (0, 2, 1) and each output format, and two
 * stacks of one tenant that each look for unmanaged apps only in their own
 * groups.
 */
import * as path from 'node:path';
import { AppregClient } from '../../src/client';
import { formatText, type DriftReport, type GroupScope } from '../../src/cli/drift';
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
    expect(text.stdout).toContain(`Unmanaged apps looked for in the 1 group this stack manages (from its state): platform (${svc.groups.platform}).`);
    const json = await drift(['--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      drifted: [],
      unmanaged: [],
      unmanaged_scope: { source: 'state', groups: [{ id: svc.groups.platform, name: 'platform' }], not_visible: [] },
    });
    const md = await drift(['--markdown']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('### appreg drift: none');
    expect(md.stdout).toContain('Unmanaged apps looked for in the 1 group this stack manages');
    const off = await drift(['--json', '--no-unmanaged']);
    expect(JSON.parse(off.stdout)).toMatchObject({ unmanaged: null, unmanaged_scope: null });
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

  it('lists apps that exist in the service but no resource manages: in the stack\'s groups, or with --all-groups in every group the token sees', async () => {
    const hand = await api.createApp(svc.groups.platform!, { name: 'Hand Made', scope: 'group', callback_urls: ['https://hand.example.com/cb'] });
    const other = await api.createApp(svc.groups.billing!, { name: 'Billing Own', scope: 'group', callback_urls: ['https://b.example.com/cb'] });
    const r = await drift(['--json']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout) as DriftReport;
    expect(report.drifted).toEqual([]);
    // The stack manages group platform only: billing's app is no business of its.
    expect(report.unmanaged?.map((a) => a.id)).toEqual([hand.id]);
    const all = JSON.parse((await drift(['--json', '--all-groups'])).stdout) as DriftReport;
    expect(all.unmanaged?.map((a) => a.id).sort()).toEqual([hand.id, other.id].sort());
    expect(all.unmanaged_scope?.source).toBe('--all-groups');
    // A group admin's scheduled job covers its own group only.
    const scoped = await drift(['--json', '--all-groups', '--token', svc.groupAdminTokens.billing!]);
    expect((JSON.parse(scoped.stdout) as DriftReport).unmanaged?.map((a) => a.id)).toEqual([other.id]);
    // ... and says so when the stack's own group is one its token cannot see.
    const blind = await drift(['--token', svc.groupAdminTokens.billing!]);
    expect(blind.code).toBe(0);
    expect(blind.stdout).toContain(`Not checked, as this token cannot see them: ${svc.groups.platform}`);
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
    expect(badToken.stderr).toMatch(/bearer token is not valid for this service/);
  });

  it('never prints the token', () => {
    for (const out of outputs) {
      expect(out).not.toContain(svc.adminToken);
      expect(out).not.toContain(svc.groupAdminTokens.billing!);
    }
  });
});

/** One tenant, two stacks: A owns group platform (and the tenant setting), B owns billing and consents for support. */
describe('appreg drift with two stacks in one tenant', () => {
  let svc: TestService;
  let api: AppregClient;
  let a: TerraformWorkspace;
  let b: TerraformWorkspace;
  let empty: TerraformWorkspace;
  let portalId: string;
  let ledgerId: string;
  const outputs: string[] = [];

  const drift = async (tf: TerraformWorkspace, args: string[]): Promise<ProcessRun> => {
    const r = await runProcess(path.join(REPO_ROOT, 'bin', 'appreg'), ['drift', '--dir', tf.dir, ...args], { env: { ...tf.env, TF_LOG: '' } });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const report = (r: ProcessRun): DriftReport => JSON.parse(r.stdout) as DriftReport;
  const ids = (r: ProcessRun): string[] => (report(r).unmanaged ?? []).map((x) => x.id).sort();

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService({ groups: ['platform', 'billing', 'support'] });
    api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
    a = new TerraformWorkspace({ endpoint: svc.url, token: svc.adminToken });
    a.write(`
${PROVIDER_PREAMBLE}data "appreg_group" "platform" { name = "platform" }
resource "appreg_tenant_oauth_setting" "this" { oauth_enabled = true }
resource "appreg_oauth_client" "portal" {
  group_id      = data.appreg_group.platform.id
  name          = "Portal"
  scope         = "organization"
  callback_urls = ["https://portal.example.com/cb"]
  depends_on    = [appreg_tenant_oauth_setting.this]
}
`);
    await a.apply();
    portalId = (await a.resource('appreg_oauth_client.portal')).id as string;
    b = new TerraformWorkspace({ endpoint: svc.url, token: svc.adminToken });
    b.write(`
${PROVIDER_PREAMBLE}data "appreg_group" "billing" { name = "billing" }
data "appreg_group" "support" { name = "support" }
resource "appreg_oauth_client" "ledger" {
  group_id      = data.appreg_group.billing.id
  name          = "Ledger"
  scope         = "group"
  callback_urls = ["https://ledger.example.com/cb"]
}
resource "appreg_app_consent" "support_portal" {
  group_id = data.appreg_group.support.id
  app_id   = ${JSON.stringify(portalId)}
}
`);
    await b.apply();
    ledgerId = (await b.resource('appreg_oauth_client.ledger')).id as string;
    empty = new TerraformWorkspace({ endpoint: svc.url, token: svc.adminToken });
    empty.write(`${PROVIDER_PREAMBLE}data "appreg_group" "platform" { name = "platform" }\n`);
  });

  afterAll(async () => {
    api?.close();
    for (const tf of [a, b, empty]) tf?.dispose();
    await svc?.close();
  });

  it('each stack passes with exit 0, each checking its own groups (B: its app\'s and its consent\'s)', async () => {
    const ra = await drift(a, ['--json']);
    expect(ra.code).toBe(0);
    expect(report(ra).unmanaged_scope).toEqual({ source: 'state', groups: [{ id: svc.groups.platform, name: 'platform' }], not_visible: [] });
    const rb = await drift(b, ['--json']);
    expect(rb.code).toBe(0);
    expect(report(rb).unmanaged_scope!.groups.map((g) => g.name).sort()).toEqual(['billing', 'support']);
    const text = await drift(b, []);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^No drift: .*\nUnmanaged apps looked for in the 2 groups this stack manages \(from its state\): /);
  });

  it('an app made by hand in A\'s group is unmanaged for A (exit 2) and not for B; one in B\'s consent group is B\'s', async () => {
    const hand = await api.createApp(svc.groups.platform!, { name: 'Hand In Platform', scope: 'group', callback_urls: ['https://h.example.com/cb'] });
    const supportHand = await api.createApp(svc.groups.support!, { name: 'Hand In Support', scope: 'group', callback_urls: ['https://s.example.com/cb'] });
    try {
      const ra = await drift(a, []);
      expect(ra.code).toBe(2);
      expect(ra.stdout).toContain(`${hand.id} "Hand In Platform" (group ${svc.groups.platform}`);
      expect(ra.stdout).not.toContain(supportHand.id);
      expect(ra.stdout).toContain('Unmanaged apps looked for in the 1 group this stack manages (from its state): platform');
      const rb = await drift(b, ['--json']);
      expect(rb.code).toBe(2);
      expect(ids(rb)).toEqual([supportHand.id]);
    } finally {
      // The next tests expect exactly the two stacks' apps.
      await api.deleteApp(hand.id);
      await api.deleteApp(supportHand.id);
    }
  });

  it('--all-groups reports the other stack\'s apps; --group takes a name or an id, repeatable', async () => {
    const all = await drift(a, ['--json', '--all-groups']);
    expect(all.code).toBe(2);
    expect(ids(all)).toEqual([ledgerId]);
    expect(report(all).unmanaged_scope).toMatchObject({ source: '--all-groups', not_visible: [] });
    expect(report(all).unmanaged_scope!.groups.map((g) => g.name).sort()).toEqual(['billing', 'platform', 'support']);
    // The text form, from the same report (each CLI run is a Terraform plan; the text path is run for real above).
    expect(formatText(report(all))).toContain('Unmanaged apps looked for in all 3 groups the token can see (--all-groups): ');

    const byName = await drift(a, ['--json', '--group', 'billing']);
    expect(byName.code).toBe(2);
    expect(ids(byName)).toEqual([ledgerId]);
    expect(report(byName).unmanaged_scope).toEqual({ source: '--group', groups: [{ id: svc.groups.billing, name: 'billing' }], not_visible: [] } satisfies GroupScope);
    const byId = await drift(b, ['--json', '--group', svc.groups.platform!]);
    expect(byId.code).toBe(2);
    expect(ids(byId)).toEqual([portalId]);
    // Its own group by name: nothing unmanaged there; both forms may be mixed and repeated.
    const own = await drift(a, ['--json', '--group', 'platform', '--group', svc.groups.platform!]);
    expect(own.code).toBe(0);
    expect(report(own).unmanaged_scope!.groups).toEqual([{ id: svc.groups.platform, name: 'platform' }]);
    expect(formatText(report(own))).toContain(`in the 1 group given with --group: platform (${svc.groups.platform})`);
  });

  it('--group with an unknown group, or together with --all-groups or --no-unmanaged, is exit 1 with a clear message', async () => {
    const unknown = await drift(a, ['--group', 'nowhere', '--group', 'billing']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe(
      'appreg drift: --group "nowhere": no group with that id or name is visible to this token; ' +
        'check the spelling against GET /v1/groups (or "appreg admin group list"), or use a token that can see the group\n',
    );
    // A group the token cannot see is as unknown as one that does not exist.
    const hidden = await runProcess(path.join(REPO_ROOT, 'bin', 'appreg'), ['drift', '--dir', a.dir, '--group', 'billing', '--token', svc.groupAdminTokens.platform!], { env: { ...a.env, TF_LOG: '' } });
    expect(hidden.code).toBe(1);
    expect(hidden.stderr).toMatch(/--group "billing": no group with that id or name is visible to this token/);
    const both = await drift(a, ['--group', 'billing', '--all-groups']);
    expect(both.code).toBe(1);
    expect(both.stderr).toBe('appreg drift: --group and --all-groups cannot be used together: pass --group for some groups, or --all-groups for every group the token can see\n');
    const off = await drift(a, ['--all-groups', '--no-unmanaged']);
    expect(off.code).toBe(1);
    expect(off.stderr).toMatch(/--all-groups says where to look for unmanaged apps, so it cannot be used with --no-unmanaged/);
  });

  it('a stack whose state manages nothing checks no group, and says so instead of passing silently', async () => {
    const r = await drift(empty, []);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'Unmanaged apps were not looked for: the state has no appreg_oauth_client or appreg_app_consent, so it names no group; pass --group G or --all-groups to check groups anyway.',
    );
    const all = await drift(empty, ['--json', '--all-groups']);
    expect(all.code).toBe(2);
    expect(ids(all)).toEqual([ledgerId, portalId].sort());
    // The state still names no group; only the flag made the check happen.
    expect(report(all).unmanaged_scope?.source).toBe('--all-groups');
  });

  it('never prints a token', () => {
    for (const out of outputs) {
      expect(out).not.toContain(svc.adminToken);
      expect(out).not.toContain(svc.groupAdminTokens.platform!);
    }
  });
});
