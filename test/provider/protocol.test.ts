/**
 * The real provider executable driven over plugin protocol v6 (handshake,
 * mutual TLS, gRPC) through the RPC sequences Terraform uses, against a real
 * service. Faster and more exact than going through Terraform: it checks each
 * RPC's answer, and the harness applies Terraform's own checks on plans and
 * applied states.
 */
import * as path from 'node:path';
import { AppregClient } from '../../src/client';
import { providerSchemaJson } from '../../src/framework/export';
import { appregProvider } from '../../src/schema';
import { Unknown, type TfValue } from '../../src/tfplugin/types';
import { ProviderHarness } from '../support/plugin-harness';
import { startTestService, type TestService } from '../support/service';
import { REPO_ROOT, requireBuiltProvider } from '../support/terraform';

type Obj = { [k: string]: TfValue };
const CLIENT = 'appreg_oauth_client';
const CONSENT = 'appreg_app_consent';

describe('provider executable over the plugin protocol', () => {
  let svc: TestService;
  let p: ProviderHarness;
  let api: AppregClient;

  const clientConfig = (over: Obj = {}): Obj => ({
    id: null, client_id: null, client_secret: null, secret_version: null, created_at: null,
    group_id: svc.groups.platform!, name: 'Billing Portal', description: null, callback_urls: ['https://billing.example.com/cb'],
    scope: 'organization', grant_types: null, public_client: null, require_pkce: null, enabled: null, rotation_triggers: null,
    ...over,
  });

  beforeAll(async () => {
    requireBuiltProvider();
    svc = await startTestService();
    api = new AppregClient({ endpoint: svc.url, token: svc.adminToken });
    await api.putTenantSettings({ oauth_enabled: true });
    p = await ProviderHarness.start({
      executable: path.join(REPO_ROOT, 'bin', 'terraform-provider-appreg'),
      env: { APPREG_ENDPOINT: svc.url, APPREG_TOKEN: svc.adminToken },
    });
    await p.configure({ endpoint: null, token: null });
  });

  afterAll(async () => {
    await p?.close();
    api?.close();
    await svc?.close();
  });

  it('serves the exported schema unchanged', async () => {
    expect(await p.schema()).toEqual(providerSchemaJson(appregProvider));
  });

  it('says what to set when neither the provider block nor the environment gives an endpoint', async () => {
    const bare = await ProviderHarness.start({
      executable: path.join(REPO_ROOT, 'bin', 'terraform-provider-appreg'),
      env: { APPREG_ENDPOINT: '', APPREG_TOKEN: '' },
    });
    try {
      const diags = await bare.configureProvider({ endpoint: null, token: null });
      expect(diags.map((d) => d.attribute)).toEqual([['endpoint'], ['token']]);
      expect(diags[0]!.detail).toContain('APPREG_ENDPOINT');
    } finally {
      await bare.close();
    }
  });

  let created: Obj;
  let createdPrivate: Uint8Array | undefined;

  it('plans a create with unknown computed values and defaults, then creates with the secret in state', async () => {
    const plan = await p.plan(CLIENT, null, clientConfig());
    const planned = plan.plannedState as Obj;
    expect(plan.action).toBe('create');
    expect(planned.id).toBe(Unknown.value);
    expect(planned.client_secret).toBe(Unknown.value);
    expect(planned.grant_types).toEqual(['authorization_code']);
    expect(planned.require_pkce).toBe(false);
    const out = await p.apply(CLIENT, null, clientConfig());
    created = out.newState as Obj;
    createdPrivate = out.private;
    expect(created.client_secret).toEqual(expect.any(String));
    expect(created.secret_version).toBe(1);
    expect((await api.getApp(created.id as string)).name).toBe('Billing Portal');
  });

  it('keeps the secret across a refresh, and plans no change', async () => {
    const read = await p.refresh(CLIENT, created, createdPrivate);
    expect(read.newState).toEqual(created);
    const plan = await p.plan(CLIENT, read.newState, clientConfig(), read.private);
    expect(plan.action).toBe('noop');
  });

  it('updates a rename in place, keeping id, client id and secret', async () => {
    const out = await p.apply(CLIENT, created, clientConfig({ name: 'Billing Portal Two' }), createdPrivate);
    expect(out.action).toBe('update');
    const s = out.newState as Obj;
    expect([s.id, s.client_id, s.client_secret]).toEqual([created.id, created.client_id, created.client_secret]);
    created = s;
    createdPrivate = out.private;
  });

  it('refuses to overwrite a change made since the last read (If-Match), saying to plan again', async () => {
    const stalePrivate = createdPrivate;
    await api.updateApp(created.id as string, { description: 'edited by hand' });
    const plan = await p.plan(CLIENT, created, clientConfig({ name: 'Billing Portal Two', enabled: false }), stalePrivate);
    const res = await p.applyResourceChange(CLIENT, created, plan.plannedState, clientConfig({ name: 'Billing Portal Two', enabled: false }), plan.plannedPrivate);
    expect(res.diagnostics[0]?.severity).toBe('error');
    expect(res.diagnostics[0]?.detail).toMatch(/changed since it was read/);
    expect((await api.getApp(created.id as string)).enabled).toBe(true);
    const read = await p.refresh(CLIENT, created, stalePrivate);
    expect((read.newState as Obj).description).toBe('edited by hand');
    created = read.newState as Obj;
    createdPrivate = read.private;
  });

  it('plans a replacement naming scope, with a warning about the new client id', async () => {
    const plan = await p.plan(CLIENT, created, clientConfig({ name: 'Billing Portal Two', scope: 'group' }), createdPrivate);
    expect(plan.action).toBe('replace');
    expect(plan.requiresReplace).toEqual([['scope']]);
    expect(plan.diagnostics.find((d) => d.severity === 'warning')?.detail).toMatch(/new client id/);
    const out = await p.apply(CLIENT, created, clientConfig({ name: 'Billing Portal Two', scope: 'group' }), createdPrivate);
    const s = out.newState as Obj;
    expect(s.id).not.toBe(created.id);
    expect(s.scope).toBe('group');
    await expect(api.getApp(created.id as string)).rejects.toMatchObject({ status: 404 });
    created = s;
    createdPrivate = out.private;
  });

  it('rotates the secret in place when rotation_triggers change', async () => {
    const config = clientConfig({ name: 'Billing Portal Two', scope: 'group', rotation_triggers: { at: '1' } });
    const plan = await p.plan(CLIENT, created, config, createdPrivate);
    expect(plan.action).toBe('update');
    expect((plan.plannedState as Obj).client_secret).toBe(Unknown.value);
    const out = await p.apply(CLIENT, created, config, createdPrivate);
    const s = out.newState as Obj;
    expect(s.client_id).toBe(created.client_id);
    expect(s.client_secret).not.toBe(created.client_secret);
    expect(s.secret_version).toBe((created.secret_version as number) + 1);
    created = s;
    createdPrivate = out.private;
  });

  it('takes any map key Terraform allows, "__proto__" included, as data', async () => {
    // A plain JavaScript object would take this key as its prototype; Terraform sends it as a map key.
    const triggers: Obj = {};
    Object.defineProperty(triggers, '__proto__', { value: '2', enumerable: true, writable: true, configurable: true });
    const config = clientConfig({ name: 'Billing Portal Two', scope: 'group', rotation_triggers: triggers });
    expect(await p.validateResourceConfig(CLIENT, config)).toEqual([]);
    const plan = await p.plan(CLIENT, created, config, createdPrivate);
    expect(plan.action).toBe('update');
    const out = await p.apply(CLIENT, created, config, createdPrivate);
    const s = out.newState as Obj;
    expect(Object.getPrototypeOf(s.rotation_triggers)).toBe(Object.prototype);
    expect(Object.entries(s.rotation_triggers as Obj)).toEqual([['__proto__', '2']]);
    expect(s.secret_version).toBe((created.secret_version as number) + 1);
    created = s;
    createdPrivate = out.private;
  });

  it('imports an app without its secret', async () => {
    const [imported] = await p.import(CLIENT, created.id as string);
    const s = imported!.state as Obj;
    expect(s.client_id).toBe(created.client_id);
    expect(s.client_secret).toBeNull();
    await expect(p.import(CLIENT, 'app_doesnotexist')).rejects.toThrow(/404|not exist|not found/i);
  });

  it('reads an app deleted outside Terraform as gone', async () => {
    await api.deleteApp(created.id as string);
    const read = await p.refresh(CLIENT, created, createdPrivate);
    expect(read.newState).toBeNull();
  });

  it('creates, refreshes and destroys a consent to an organization-scoped app of another group', async () => {
    const app = (await p.apply(CLIENT, null, clientConfig({ name: 'Shared App' }))).newState as Obj;
    const config = { id: null, created_at: null, group_id: svc.groups.billing!, app_id: app.id! };
    const consent = (await p.apply(CONSENT, null, config)).newState as Obj;
    expect(consent.id).toBe(`${svc.groups.billing}/${app.id}`);
    expect((await p.refresh(CONSENT, consent)).newState).toEqual(consent);
    const [imported] = await p.import(CONSENT, consent.id as string);
    expect(imported!.state).toEqual(consent);
    await expect(p.import(CONSENT, 'no-slash')).rejects.toThrow(/<group_id>\/<app_id>/);
    // Consent to its own group's app is refused at plan.
    await expect(p.plan(CONSENT, null, { ...config, group_id: svc.groups.platform! })).rejects.toThrow(/Consent to own app/);
    await p.destroy(CONSENT, consent);
    await expect(api.getConsent(svc.groups.billing!, app.id as string)).rejects.toMatchObject({ status: 404 });
    await p.destroy(CLIENT, app);
    // Destroying what is already gone succeeds: that is the state destroy wants.
    await p.destroy(CLIENT, app);
  });

  it('adopts the tenant switch on create and leaves it as it is on destroy', async () => {
    const config = { id: null, oauth_enabled: true, sso_enabled: null, device_grant_allowed: null };
    const s = (await p.apply('appreg_tenant_oauth_setting', null, config)).newState as Obj;
    expect(s).toEqual({ id: svc.tenantId, oauth_enabled: true, sso_enabled: false, device_grant_allowed: true });
    await p.destroy('appreg_tenant_oauth_setting', s);
    expect((await api.getTenantSettings()).oauth_enabled).toBe(true);
    await expect(p.import('appreg_tenant_oauth_setting', 'ten_other')).rejects.toThrow(/belongs to tenant/);
  });

  it('reads groups by name, and lists the visible ones when a name is wrong', async () => {
    expect(await p.read('appreg_group', { name: 'billing', id: null })).toEqual({ name: 'billing', id: svc.groups.billing });
    await expect(p.read('appreg_group', { name: 'nope', id: null })).rejects.toThrow(/"billing"/);
  });

  it('reads afresh after each ConfigureProvider: a provider serving several commands (debug mode) sees a hand edit', async () => {
    const made = (await p.apply(CLIENT, null, clientConfig({ name: 'Edited By Hand Later' }))).newState as Obj;
    // This read lists the group's apps; the list serves the rest of this configuration.
    expect(((await p.refresh(CLIENT, made)).newState as Obj).description).toBeNull();
    await api.updateApp(made.id as string, { description: 'edited by hand' });
    // Terraform configures the provider at the start of every command: the next command reads the edit.
    await p.configure({ endpoint: null, token: null });
    expect(((await p.refresh(CLIENT, made)).newState as Obj).description).toBe('edited by hand');
    await p.destroy(CLIENT, made);
  });

  it('never writes a secret or the token to its log', () => {
    expect(p.stderr()).not.toContain(svc.adminToken);
    expect(p.stderr()).not.toMatch(/client_secret"?\s*[:=]\s*"[^"(]/);
  });
});
