/**
 * Every service error a user can hit, driven through the provider with the
 * real `terraform` binary, and read the way the user reads it: a summary
 * that says what failed (not a raw "POST /v1/..." call), a detail that
 * explains why in clean sentences and says what to do, and never "..".
 *
 * Also the plan-time check that a client cannot be created while the
 * tenant's OAuth is off, unless the same configuration turns it on first.
 *
 * Some refusals need the plan-time checks out of the way, as for a token
 * that may not read the tenant settings: a fault proxy answers that read
 * with 403, and the apply then meets the service's own 409 or 422.
 */
import { AppregClient } from '../../src/client';
import { adminTenantSet } from '../../src/server';
import { faults, startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { startTestService, type TestService } from '../support/service';
import { PROVIDER_PREAMBLE, requireBuiltProvider, requireTerraform, TerraformWorkspace, type TfRun } from '../support/terraform';

jest.setTimeout(240_000);

/** One diagnostic of `terraform ... -json`. */
interface JsonDiagnostic {
  severity: string;
  summary: string;
  detail: string;
  address?: string;
  snippet?: { context?: string };
}

/** The error diagnostics of a `-json` run. */
function errorsOf(r: TfRun): JsonDiagnostic[] {
  return r.stdout.split('\n').filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; diagnostic?: JsonDiagnostic })
    .filter((m) => m.type === 'diagnostic' && m.diagnostic?.severity === 'error')
    .map((m) => m.diagnostic!);
}

/** An instruction: what the reader is told to do. */
const WHAT_TO_DO = /\b(add|use|check|choose|run|correct|try|ask|remove|turn)\b/i;

/** The reading rules every error diagnostic must meet; returns what it breaks (empty when none). */
function readingProblems(d: JsonDiagnostic): string[] {
  const out: string[] = [];
  const all = `${d.summary}\n${d.detail}`;
  if (/\.\./.test(all)) out.push('contains ".."');
  if (/^(GET|POST|PUT|PATCH|DELETE)\b/.test(d.summary) || /\b(GET|POST|PUT|PATCH|DELETE) \/v1\//.test(d.summary)) out.push('summary is a raw HTTP call');
  if (!/[A-Za-z0-9)"]$/.test(d.summary)) out.push(`summary ends badly: ${JSON.stringify(d.summary.slice(-10))}`);
  if (d.detail.trim() === '') out.push('no detail');
  for (const para of d.detail.split(/\n\n/)) {
    if (!/[^.][.!?]$/.test(para)) out.push(`a paragraph of the detail ends badly: ${JSON.stringify(para.slice(-20))}`);
  }
  if (!WHAT_TO_DO.test(d.detail)) out.push('the detail does not say what to do');
  // The first paragraph is for the person; the HTTP call may only follow, set apart.
  if (/\b(GET|POST|PUT|PATCH|DELETE) \/v1\//.test(d.detail.split(/\n\n/)[0]!)) out.push('the explanation starts with a raw HTTP call');
  return out;
}

function expectReadable(ds: JsonDiagnostic[]): void {
  // SHOW_DIAGS=1 prints every diagnostic, to read them as a user would.
  if (process.env.SHOW_DIAGS) for (const d of ds) process.stderr.write(`--- ${d.summary}\n${d.detail}\n`);
  expect(ds.length).toBeGreaterThan(0);
  expect(ds.map((d) => ({ summary: d.summary, problems: readingProblems(d) }))).toEqual(ds.map((d) => ({ summary: d.summary, problems: [] })));
}

const client = (name: string, group: string, extra = ''): string => `
resource "appreg_oauth_client" "app" {
  group_id      = "${group}"
  name          = "${name}"
  scope         = "group"
  callback_urls = ["https://app.example.com/callback"]
${extra}}
`;

const SETTING = `
resource "appreg_tenant_oauth_setting" "this" {
  oauth_enabled = true
}
`;

const PROBLEM_403 = JSON.stringify({
  type: 'urn:appreg:problem:forbidden', title: 'Forbidden', status: 403, detail: 'This token may not read the tenant settings.',
});

describe('errors a user can hit, as real Terraform shows them', () => {
  let svc: TestService;
  let proxy: FaultProxy;
  let admin: AppregClient;
  const workspaces: TerraformWorkspace[] = [];

  const workspace = (token: string, hcl: string, endpoint = svc.url): TerraformWorkspace => {
    const tf = new TerraformWorkspace({ endpoint, token });
    tf.write(`${PROVIDER_PREAMBLE}${hcl}`);
    workspaces.push(tf);
    return tf;
  };
  /** Non-GET requests the service has logged: a plan must add none. */
  const writes = (): string[] =>
    svc.logs().split('\n').filter((l) => l.trim().startsWith('{'))
      .map((l) => JSON.parse(l) as { method?: string; url?: string })
      .filter((l) => l.method !== undefined && l.method !== 'GET')
      .map((l) => `${l.method} ${l.url ?? ''}`);
  /** The proxy refuses to show the tenant settings, as to a token whose role may not read them. */
  const hideSettings = (): void => {
    proxy.reset();
    proxy.inject(faults.respond(403, { 'content-type': 'application/problem+json' }, PROBLEM_403), { method: 'GET', path: '/v1/tenant/oauth-settings' }, Infinity);
  };

  beforeAll(async () => {
    requireTerraform();
    requireBuiltProvider();
    svc = await startTestService({ groups: ['platform', 'billing'] });
    proxy = await startFaultProxy({ target: svc.url });
    admin = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
  });

  afterAll(async () => {
    admin?.close();
    for (const tf of workspaces) tf.dispose();
    await proxy?.close();
    await svc?.close();
  });

  describe('a new tenant, OAuth off', () => {
    it('fails the plan of a client, naming appreg_tenant_oauth_setting and depends_on, and writes nothing', async () => {
      const tf = workspace(svc.adminToken, client('Fresh App', svc.groups.platform!));
      const r = await tf.run(['plan', '-json', '-no-color']);
      expect(r.code).toBe(1);
      const ds = errorsOf(r);
      expect(ds).toHaveLength(1);
      expect(ds[0]!.summary).toBe('OAuth is off for this tenant');
      expect(ds[0]!.address).toBe('appreg_oauth_client.app');
      expect(ds[0]!.detail).toContain('appreg_tenant_oauth_setting');
      expect(ds[0]!.detail).toContain('oauth_enabled = true');
      expect(ds[0]!.detail).toContain('depends_on');
      expectReadable(ds);

      // As a person sees it: the error under the resource, in one clean paragraph.
      const human = await tf.plan();
      const printed = (human.stdout + human.stderr).replace(/\n│ ?/g, ' ').replace(/\s+/g, ' ');
      expect(printed).toContain('Error: OAuth is off for this tenant');
      expect(printed).toContain('with appreg_oauth_client.app');
      expect(printed).not.toContain('..');
      expect(writes()).toEqual([]);
      expect((await admin.getTenantSettings()).oauth_enabled).toBe(false);
    });

    it('lets the plan through when the same configuration turns OAuth on and the client depends on it', async () => {
      const tf = workspace(svc.adminToken, SETTING + client('Fresh App', svc.groups.platform!, '  depends_on    = [appreg_tenant_oauth_setting.this]\n'));
      const plan = await tf.plan();
      expect(plan.stderr).toBe('');
      expect(plan.code).toBe(2);
      // Planning wrote nothing: OAuth is still off until the apply.
      expect(writes()).toEqual([]);
      expect((await admin.getTenantSettings()).oauth_enabled).toBe(false);
    });

    it('counts an oauth_enabled unknown at plan as "may turn it on"', async () => {
      const tf = workspace(svc.adminToken, `
resource "terraform_data" "switch" { input = true }
resource "appreg_tenant_oauth_setting" "this" {
  oauth_enabled = terraform_data.switch.output
}
${client('Fresh App', svc.groups.platform!, '  depends_on    = [appreg_tenant_oauth_setting.this]\n')}`);
      const plan = await tf.plan();
      expect(plan.stderr).toBe('');
      expect(plan.code).toBe(2);
      expect(plan.stdout).toMatch(/oauth_enabled\s+= \(known after apply\)/);
    });

    it('403 at apply: a group_admin token may plan the tenant setting but not change it', async () => {
      const tf = workspace(svc.groupAdminTokens.platform!, SETTING + client('Fresh App', svc.groups.platform!, '  depends_on    = [appreg_tenant_oauth_setting.this]\n'));
      const r = await tf.run(['apply', '-auto-approve', '-json', '-no-color']);
      expect(r.code).toBe(1);
      const ds = errorsOf(r);
      expect(ds).toHaveLength(1);
      expect(ds[0]!.address).toBe('appreg_tenant_oauth_setting.this');
      expect(ds[0]!.summary).toBe('Could not create the tenant OAuth setting');
      expect(ds[0]!.detail).toMatch(/^Only a tenant_security_admin may change the tenant OAuth settings, and this is a group_admin token\. Use a tenant_security_admin token/);
      expect(ds[0]!.detail).toMatch(/\n\nThe service answered 403 Forbidden to PUT \/v1\/tenant\/oauth-settings\.$/);
      expectReadable(ds);
      expect((await admin.getTenantSettings()).oauth_enabled).toBe(false);
    });

    it('409 at apply, with a group_admin token that may not read the setting: the plan is not blocked, the apply says what to do', async () => {
      hideSettings();
      const tf = workspace(svc.groupAdminTokens.platform!, client('Fresh App', svc.groups.platform!), proxy.url);
      const plan = await tf.plan();
      expect(plan.code).toBe(2);
      const r = await tf.run(['apply', '-auto-approve', '-json', '-no-color']);
      expect(r.code).toBe(1);
      const ds = errorsOf(r);
      expect(ds).toHaveLength(1);
      expect(ds[0]!.address).toBe('appreg_oauth_client.app');
      expect(ds[0]!.summary).toBe('Could not create the OAuth client');
      expect(ds[0]!.detail).toMatch(/^OAuth is off for this tenant/);
      expect(ds[0]!.detail).toContain('appreg_tenant_oauth_setting with oauth_enabled = true');
      expect(ds[0]!.detail).toContain('depends_on');
      expect(ds[0]!.detail).toMatch(/409 Conflict to POST \/v1\/groups\/grp_\w+\/apps\.$/);
      expectReadable(ds);
      expect(proxy.requests.filter((q) => q.method === 'POST')).toHaveLength(1);
    });
  });

  describe('OAuth on', () => {
    beforeAll(async () => {
      proxy.reset();
      const tf = workspace(svc.adminToken, SETTING);
      await tf.apply();
      await admin.createApp(svc.groups.platform!, { name: 'Taken Name', scope: 'group', callback_urls: ['https://taken.example.com/cb'] });
    });

    it('409 at apply: a name already taken in the group', async () => {
      const tf = workspace(svc.adminToken, client('Taken Name', svc.groups.platform!));
      const r = await tf.run(['apply', '-auto-approve', '-json', '-no-color']);
      expect(r.code).toBe(1);
      const ds = errorsOf(r);
      expect(ds).toHaveLength(1);
      expect(ds[0]!.summary).toBe('Could not create the OAuth client');
      expect(ds[0]!.detail).toMatch(/already has an app named "Taken Name"; names are unique per group\. Choose another name\./);
      expectReadable(ds);
    });

    it('404 at apply: a group the token may not see', async () => {
      const tf = workspace(svc.groupAdminTokens.platform!, client('Elsewhere', svc.groups.billing!));
      const r = await tf.run(['apply', '-auto-approve', '-json', '-no-color']);
      expect(r.code).toBe(1);
      const ds = errorsOf(r);
      expect(ds).toHaveLength(1);
      expect(ds[0]!.summary).toBe('Could not create the OAuth client');
      expect(ds[0]!.detail).toMatch(/^Group "grp_\w+" was not found, or this token may not see it\. Check the id/);
      expectReadable(ds);
    });

    it('401 at plan: a token the service does not know', async () => {
      const tf = workspace('not-a-real-token', `data "appreg_group" "platform" { name = "platform" }\n${client('Unknown Token', '${data.appreg_group.platform.id}')}`);
      const r = await tf.run(['plan', '-json', '-no-color']);
      expect(r.code).toBe(1);
      const ds = errorsOf(r);
      expect(ds).toHaveLength(1);
      expect(ds[0]!.summary).toBe('Could not read the group');
      expect(ds[0]!.detail).toMatch(/^The bearer token is not valid for this service\. Check the token in the provider block or APPREG_TOKEN/);
      expect(ds[0]!.detail).not.toContain('not-a-real-token');
      expectReadable(ds);
    });

    it('422 at apply: the device grant while the tenant uses SSO, at grant_types', async () => {
      await adminTenantSet(svc.db, { tenant: 'acme', sso: true });
      try {
        // Planned where the settings cannot be read, so only the service can refuse it.
        hideSettings();
        const tf = workspace(svc.groupAdminTokens.platform!, client('Device App', svc.groups.platform!, '  public_client = true\n  grant_types   = ["device_code"]\n'), proxy.url);
        const r = await tf.run(['apply', '-auto-approve', '-json', '-no-color']);
        expect(r.code).toBe(1);
        const ds = errorsOf(r);
        expect(ds).toHaveLength(1);
        expect(ds[0]!.summary).toBe('Could not create the OAuth client');
        expect(ds[0]!.detail).toMatch(/^grant_types: the device grant is disabled because the tenant uses single sign-on \(SSO\); use authorization_code\./);
        expect(ds[0]!.snippet?.context).toBe('resource "appreg_oauth_client" "app"');
        expectReadable(ds);
      } finally {
        await adminTenantSet(svc.db, { tenant: 'acme', sso: false });
        proxy.reset();
      }
    });
  });
});
