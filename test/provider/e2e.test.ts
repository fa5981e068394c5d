/**
 * Acceptance test of the provider with the real `terraform` binary against a
 * real registration service on port 0, written as step scenarios (see
 * test/support/steps.ts): each scenario is a transition a pipeline or a
 * person makes, on its own service and workspace, so any one of them can run
 * alone. The runner adds what every scenario must hold: an empty plan after
 * every apply, a failed step changes nothing in the state or the service,
 * and destroy leaves the service without apps or consents (the tenant
 * setting stays as it is). Every scenario also checks that no client secret
 * it saw appears in Terraform's output, Terraform's log or the service log.
 */
import { AppregClient } from '../../src/client';
import { adminTenantSet } from '../../src/server';
import { startTestService, type TestService } from '../support/service';
import {
  checkAttr,
  checkAttrSet,
  checkNoAttr,
  checkNotReplaced,
  checkReplaced,
  planActions,
  planMatches,
  runSteps,
  type Check,
  type Step,
  type StepContext,
} from '../support/steps';
import { PROVIDER_PREAMBLE, requireBuiltProvider, requireTerraform } from '../support/terraform';

jest.setTimeout(300_000);

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

const PORTAL = 'appreg_oauth_client.portal';
const CLI = 'appreg_oauth_client.cli';

/** What a scenario's steps can use: the service, an API client on it, and secrets seen outside Terraform. */
interface Env {
  svc: TestService;
  api: AppregClient;
  /** Secrets the test itself got from the service (an app made by hand). */
  secrets: string[];
}

/**
 * Runs `steps` (built from the scenario's environment) on a new service
 * with groups platform, billing, support and web, then checks that no secret
 * leaked. Returns nothing: the runner and the checks assert.
 */
async function scenario(build: (env: Env) => Step[], opts: { minSecrets: number }): Promise<void> {
  const svc = await startTestService({ groups: ['platform', 'billing', 'support', 'web'] });
  const api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
  const env: Env = { svc, api, secrets: [] };
  try {
    const result = await runSteps(
      {
        endpoint: svc.url,
        token: svc.adminToken,
        // Everything a failed plan or apply must leave as it was; the audit log shows any write.
        serviceSnapshot: async () => ({
          audit: (await api.listAllAudit()).length,
          apps: await api.listAllApps(),
          consents: await api.listAllConsents(),
          tenant: await api.getTenantSettings(),
        }),
        checkDestroy: async () => {
          expect(await api.listAllApps()).toEqual([]);
          expect(await api.listAllConsents()).toEqual([]);
          // Destroy leaves the tenant as it is.
          expect((await api.getTenantSettings()).oauth_enabled).toBe(true);
        },
      },
      build(env),
    );

    // Never a secret in plan or apply output, Terraform's log or the service log.
    const secrets = new Set(env.secrets);
    for (const state of result.states) {
      for (const r of state?.resources ?? []) if (typeof r.values.client_secret === 'string') secrets.add(r.values.client_secret);
    }
    expect(secrets.size).toBeGreaterThanOrEqual(opts.minSecrets);
    expect(result.log.length).toBeGreaterThan(0);
    for (const s of secrets) {
      expect(result.printed).not.toContain(s);
      expect(result.log).not.toContain(s);
      expect(svc.logs()).not.toContain(s);
    }
    expect(result.log).not.toContain(svc.adminToken);
  } finally {
    api.close();
    await svc.close();
  }
}

/** A check against the live service rather than the state. */
const live = (f: (state: Parameters<Check>[0], ctx: StepContext) => Promise<unknown>): Check => f;

beforeAll(() => {
  requireTerraform();
  requireBuiltProvider();
});

describe('appreg provider with real Terraform, step by step', () => {
  test('create all three resources and both data sources, then import each one', () =>
    scenario(({ svc, api }) => [
      {
        name: 'create',
        config: config(),
        checks: [
          checkAttr(PORTAL, 'client_id', (v: unknown) => typeof v === 'string' && v !== ''),
          checkAttr(PORTAL, 'client_secret', (v: unknown) => typeof v === 'string' && v !== ''),
          checkNoAttr(CLI, 'client_secret'),
          checkAttr(CLI, 'require_pkce', true),
          checkAttr('appreg_app_consent.billing', 'id', undefined, (s) => `${svc.groups.billing}/${s.str(PORTAL, 'id')}`),
          (s) => expect(s.output('portal_client_id')).toBe(s.str(PORTAL, 'client_id')),
          live(async (s) => expect((await api.getApp(s.str(PORTAL, 'id'))).scope).toBe('organization')),
          live(async () => expect((await api.getTenantSettings()).oauth_enabled).toBe(true)),
        ],
      },
      // The runner already requires exit code 0 after the apply; this also shows what the user reads.
      { name: 'plan right after apply', planOnly: true, planChecks: [planMatches(/No changes/), (p) => expect(p.code).toBe(0)] },
      {
        name: 'import the confidential client',
        importState: { address: PORTAL },
        importStateVerify: true,
        // The secret is shown once, at create: an imported client has none until it is rotated.
        importStateVerifyIgnore: ['client_secret'],
        checks: [checkNoAttr(PORTAL, 'client_secret')],
      },
      { name: 'import the public client', importState: { address: CLI }, importStateVerify: true },
      { name: 'import a consent by <group_id>/<app_id>', importState: { address: 'appreg_app_consent.billing' }, importStateVerify: true },
      { name: 'import the tenant setting by tenant id', importState: { address: 'appreg_tenant_oauth_setting.this', id: svc.tenantId }, importStateVerify: true },
    ], { minSecrets: 1 }));

  test('callback URL changed by hand plans an update that undoes it', () =>
    scenario(({ api }) => [
      { name: 'create', config: config() },
      {
        name: 'drift: a callback URL replaced by hand',
        preConfig: async (ctx) => {
          await api.updateApp(ctx.previous!.str(PORTAL, 'id'), { callback_urls: ['https://portal.example.com/callback', 'https://evil.example.com/cb'] });
        },
        planChecks: [
          (p) => expect(p.code).toBe(2),
          // The update that undoes the change shows the hand-added URL going away and the removed one coming back.
          planMatches(/appreg_oauth_client\.portal will be updated in-place/, /- "https:\/\/evil\.example\.com\/cb"/, /\+ "http:\/\/localhost:3000\/callback"/, /1 to change/),
          planActions(PORTAL, ['update']),
        ],
        checks: [
          checkNotReplaced(PORTAL, ['client_id', 'client_secret']),
          live(async (s) =>
            expect((await api.getApp(s.str(PORTAL, 'id'))).callback_urls.sort()).toEqual(['http://localhost:3000/callback', 'https://portal.example.com/callback']),
          ),
        ],
      },
    ], { minSecrets: 1 }));

  test('app deleted by hand is planned for creation', () =>
    scenario(({ api }) => [
      { name: 'create', config: config() },
      {
        name: 'drift: the CLI app deleted by hand',
        preConfig: async (ctx) => api.deleteApp(ctx.previous!.str(CLI, 'id')),
        planChecks: [(p) => expect(p.code).toBe(2), planMatches(/appreg_oauth_client\.cli will be created/), planActions(CLI, ['create'])],
        checks: [checkReplaced(CLI, ['client_id']), live(async (s) => expect((await api.getApp(s.str(CLI, 'id'))).name).toBe('Deploy CLI'))],
      },
    ], { minSecrets: 1 }));

  test('scope organization to group while other groups consent is refused at plan, naming the consents, deleting nothing', () =>
    scenario(({ svc, api }) => [
      { name: 'create', config: config() },
      {
        // Applied, this would delete the app and both consents, then fail to consent to a group-scoped app.
        name: 'scope organization to group',
        config: config({ scope: 'group' }),
        errorPhase: 'plan',
        expectError: (ctx) => {
          const id = ctx.previous!.str(PORTAL, 'id');
          return [/Replacement would break consents/, new RegExp(`${svc.groups.billing}/${id}`), new RegExp(`${svc.groups.support}/${id}`), /with appreg_oauth_client\.portal/];
        },
        checks: [
          checkAttr(PORTAL, 'scope', 'organization'),
          live(async (s) => {
            const id = s.str(PORTAL, 'id');
            await expect(api.getApp(id)).resolves.toMatchObject({ scope: 'organization' });
            for (const group of ['billing', 'support']) await expect(api.getConsent(svc.groups[group]!, id)).resolves.toMatchObject({ app_id: id });
          }),
        ],
      },
    ], { minSecrets: 1 }));

  test('scope group to organization replaces the app, with a new client id and secret', () => {
    // Only the tenant switch and one app: nothing depends on it, so the replacement goes through.
    const app = (scope: string): string => `
${PROVIDER_PREAMBLE}
data "appreg_group" "platform" { name = "platform" }
resource "appreg_tenant_oauth_setting" "this" { oauth_enabled = true }
resource "appreg_oauth_client" "intranet" {
  group_id      = data.appreg_group.platform.id
  name          = "Intranet"
  scope         = "${scope}"
  callback_urls = ["https://intranet.example.com/cb"]
  depends_on    = [appreg_tenant_oauth_setting.this]
}
`;
    const INTRANET = 'appreg_oauth_client.intranet';
    return scenario(({ api }) => [
      { name: 'create group-scoped', config: app('group'), checks: [checkAttr(INTRANET, 'scope', 'group')] },
      {
        name: 'scope group to organization',
        config: app('organization'),
        planChecks: [
          planMatches(/scope\s+= "group" -> "organization" # forces replacement/, /The app registration will be replaced/),
          planActions(INTRANET, ['delete', 'create']),
        ],
        checks: [
          checkReplaced(INTRANET, ['client_id', 'client_secret']),
          checkAttr(INTRANET, 'scope', 'organization'),
          live(async (s, ctx) => {
            await expect(api.getApp(ctx.previous!.str(INTRANET, 'id'))).rejects.toMatchObject({ status: 404 });
            await expect(api.getApp(s.str(INTRANET, 'id'))).resolves.toMatchObject({ scope: 'organization' });
          }),
        ],
      },
    ], { minSecrets: 2 });
  });

  test('owner group to another group replaces the app, and its consents follow the new app', () =>
    scenario(({ svc, api }) => [
      { name: 'create', config: config() },
      {
        name: 'owner platform to web',
        config: config({ owner: 'web' }),
        planChecks: [planMatches(/group_id\s+= "grp_\w+" -> "grp_\w+" # forces replacement/), planActions(PORTAL, ['create', 'delete'])],
        checks: [
          checkReplaced(PORTAL, ['client_id', 'client_secret']),
          checkAttrSet(PORTAL, 'client_secret'),
          live(async (s, ctx) => {
            await expect(api.getApp(ctx.previous!.str(PORTAL, 'id'))).rejects.toMatchObject({ status: 404 });
            const id = s.str(PORTAL, 'id');
            for (const group of ['billing', 'support']) {
              expect(s.attr(`appreg_app_consent.${group}`, 'app_id')).toBe(id);
              await expect(api.getConsent(svc.groups[group]!, id)).resolves.toMatchObject({ app_id: id });
            }
          }),
        ],
      },
    ], { minSecrets: 2 }));

  test('rotation_triggers change rotates the secret in place', () =>
    scenario(() => [
      { name: 'create', config: config() },
      {
        name: 'add a rotation trigger',
        config: config({ triggers: '2026-Q4' }),
        planChecks: [planMatches(/appreg_oauth_client\.portal will be updated in-place/, /client_secret\s+= \(sensitive value\)/), planActions(PORTAL, ['update'])],
        checks: [
          checkNotReplaced(PORTAL, ['client_id']),
          (s, ctx) => {
            expect(s.attr(PORTAL, 'client_secret')).not.toBe(ctx.previous!.attr(PORTAL, 'client_secret'));
            expect(s.attr(PORTAL, 'secret_version')).toBe((ctx.previous!.attr(PORTAL, 'secret_version') as number) + 1);
          },
        ],
      },
      {
        name: 'import the rotated client',
        importState: { address: PORTAL },
        importStateVerify: true,
        // rotation_triggers live only in configuration; the secret only in the state that rotated it.
        importStateVerifyIgnore: ['client_secret', 'rotation_triggers'],
      },
    ], { minSecrets: 2 }));

  test('app made by hand is adopted with an import block', () =>
    scenario(({ svc, api, secrets }) => {
      const adopted = `
resource "appreg_oauth_client" "adopted" {
  group_id      = data.appreg_group.billing.id
  name          = "Hand Made"
  scope         = "group"
  callback_urls = ["https://hand.example.com/cb"]
}
`;
      return [
        { name: 'create', config: config() },
        {
          name: 'adopt an app made by hand',
          preConfig: async (ctx) => {
            const made = await api.createApp(svc.groups.billing!, { name: 'Hand Made', scope: 'group', callback_urls: ['https://hand.example.com/cb'] });
            secrets.push(made.client_secret!);
            ctx.vars.made = made.id;
          },
          config: (ctx) => config({ extra: `import {\n  to = appreg_oauth_client.adopted\n  id = "${String(ctx.vars.made)}"\n}\n${adopted}` }),
          planChecks: [planMatches(/appreg_oauth_client\.adopted will be imported/, /1 to import, 0 to add, 0 to change, 0 to destroy/)],
          checks: [
            checkAttr('appreg_oauth_client.adopted', 'id', undefined, (_s, ctx) => ctx.vars.made),
            // No secret until it is rotated.
            checkNoAttr('appreg_oauth_client.adopted', 'client_secret'),
          ],
        },
        // Without the import block: `terraform import` of the same app must give the same state.
        { name: 'import the adopted app', config: config({ extra: adopted }), importState: { address: 'appreg_oauth_client.adopted' }, importStateVerify: true },
      ];
    }, { minSecrets: 2 }));

  test('invalid name, scope and callback URL fail at plan with the attribute path, changing nothing', () =>
    scenario(() => [
      { name: 'create', config: config() },
      {
        name: 'invalid configuration',
        config: config({
          name: 'bad.name',
          extra: `
resource "appreg_oauth_client" "bad" {
  group_id      = data.appreg_group.platform.id
  name          = "Bad"
  scope         = "tenant"
  callback_urls = ["http://insecure.example.com/cb"]
}
`,
        }),
        errorPhase: 'plan',
        expectError: [
          /Invalid app name/,
          /in resource "appreg_oauth_client" "portal":[\s\S]*name\s+= "bad.name"/,
          /Invalid scope/,
          /Invalid callback URLs/,
          /http:\/\/insecure\.example\.com\/cb/,
        ],
      },
    ], { minSecrets: 1 }));

  test('device grant under SSO and consent to a group-scoped app are refused at plan, changing nothing', () =>
    scenario(({ svc }) => [
      { name: 'create', config: config() },
      {
        name: 'a device client and a consent to a group app while the tenant uses SSO',
        // The operator's own change is audited; the runner's snapshot is taken after this hook.
        preConfig: () => adminTenantSet(svc.db, { tenant: 'acme', sso: true }),
        config: (ctx) =>
          config({
            extra: `
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
  app_id   = "${ctx.previous!.str(CLI, 'id')}"
}
`,
          }),
        errorPhase: 'plan',
        expectError: [/Device grant not allowed/, /in resource "appreg_oauth_client" "tv"/, /App is not organization-scoped/, /in resource "appreg_app_consent" "to_group_app"/],
      },
      {
        name: 'SSO off again: the first configuration plans no changes',
        preConfig: () => adminTenantSet(svc.db, { tenant: 'acme', sso: false }),
        config: config(),
        planOnly: true,
        checks: [checkAttr('appreg_tenant_oauth_setting.this', 'device_grant_allowed', true)],
      },
    ], { minSecrets: 1 }));
});
