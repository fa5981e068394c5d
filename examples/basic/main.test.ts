import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
// Types of the cdktf jest matchers (`Testing.setupJest` registers them at run time).
import 'cdktf/lib/testing/adapters/jest';
import { DataAppregGroup } from '../../provider/data-appreg-group';
import { OauthClient } from '../../provider/oauth-client';
import { AppregProvider } from '../../provider/provider';
import { BasicStack, main } from './main';
import { VERSION } from '../../src/version';
import { checkAttr, checkAttrSet, planActions, runSteps, synthesizedStack } from '../../test/support/steps';
import { withExampleWorld } from '../../test/support/example-stack';

Testing.setupJest();

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function synth(stack: BasicStack): { text: string; json: any } {
  const text = Testing.synth(stack);
  return { text, json: JSON.parse(text) };
}

describe('examples/basic: one confidential web app', () => {
  test('requires the provider appreg/appreg and configures it without endpoint or token', () => {
    // Set on purpose: the credentials must stay in the environment, never in the synthesized JSON.
    const saved = { endpoint: process.env.APPREG_ENDPOINT, token: process.env.APPREG_TOKEN };
    process.env.APPREG_ENDPOINT = 'https://appreg.example.com';
    process.env.APPREG_TOKEN = 'secret-token';
    try {
      const { text, json } = synth(new BasicStack(Testing.app(), 'basic'));
      // With the version of this checkout: `cdktf deploy` refuses a stack whose provider has none.
    expect(json.terraform.required_providers.appreg).toEqual({ source: 'appreg/appreg', version: VERSION });
      expect(text).toHaveProvider(AppregProvider);
      expect(json.provider.appreg).toEqual([{}]);
      expect(text).not.toContain('secret-token');
    } finally {
      restoreEnv('APPREG_ENDPOINT', saved.endpoint);
      restoreEnv('APPREG_TOKEN', saved.token);
    }
  });

  test('looks the owner group up by name, platform by default', () => {
    expect(synth(new BasicStack(Testing.app(), 'basic')).text).toHaveDataSourceWithProperties(DataAppregGroup, { name: 'platform' });
    expect(synth(new BasicStack(Testing.app(), 'basic', { groupName: 'web' })).text).toHaveDataSourceWithProperties(DataAppregGroup, { name: 'web' });
  });

  test('registers a group-scoped confidential app in that group', () => {
    const { text, json } = synth(new BasicStack(Testing.app(), 'basic'));
    expect(text).toHaveResourceWithProperties(OauthClient, {
      name: 'Team Wiki',
      scope: 'group',
      group_id: '${data.appreg_group.owner.id}',
      callback_urls: ['https://wiki.example.com/oauth/callback', 'http://localhost:3000/oauth/callback'],
    });
    // Confidential is the default: the example leaves public_client and grant_types to the provider.
    const app = json.resource.appreg_oauth_client.wiki;
    expect(app.public_client).toBeUndefined();
    expect(app.grant_types).toBeUndefined();
  });

  test('outputs the client id, and the secret only as a sensitive output', () => {
    const { json } = synth(new BasicStack(Testing.app(), 'basic'));
    expect(json.output.client_id).toEqual({ value: '${appreg_oauth_client.wiki.client_id}' });
    expect(json.output.client_secret).toEqual({ value: '${appreg_oauth_client.wiki.client_secret}', sensitive: true });
  });

  test('keeps state in a local file by default, and leaves the backend to the caller when asked', () => {
    expect(synth(new BasicStack(Testing.app(), 'basic')).json.terraform.backend.local.path).toMatch(/terraform\.basic\.tfstate$/);
    const custom = synth(new BasicStack(Testing.app(), 'basic', { localBackend: { path: 'state/wiki.tfstate' } }));
    expect(custom.json.terraform.backend).toEqual({ local: { path: 'state/wiki.tfstate' } });
    expect(synth(new BasicStack(Testing.app(), 'basic', { localBackend: false })).json.terraform.backend).toBeUndefined();
  });

  test('run directly, synthesizes into CDKTF_OUTDIR with the group from APPREG_GROUP', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-example-basic-'));
    try {
      main({ CDKTF_OUTDIR: outdir, APPREG_GROUP: 'web' });
      const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'basic', 'cdk.tf.json'), 'utf8'));
      expect(json.data.appreg_group.owner.name).toBe('web');
      expect(json.resource.appreg_oauth_client.wiki.scope).toBe('group');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
  test('leaves the tenant OAuth switch alone by default, so a group_admin token is enough', () => {
    const { json } = synth(new BasicStack(Testing.app(), 'basic'));
    expect(json.resource.appreg_tenant_oauth_setting).toBeUndefined();
    expect(json.resource.appreg_oauth_client.wiki.depends_on).toBeUndefined();
  });

  test('for a new tenant, turns OAuth on first and registers the app after it (manageTenantOauth, APPREG_MANAGE_TENANT_OAUTH)', () => {
    const { json } = synth(new BasicStack(Testing.app(), 'basic', { manageTenantOauth: true }));
    expect(json.resource.appreg_tenant_oauth_setting.tenant).toEqual({ oauth_enabled: true });
    expect(json.resource.appreg_oauth_client.wiki.depends_on).toEqual(['appreg_tenant_oauth_setting.tenant']);
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-example-basic-'));
    try {
      main({ CDKTF_OUTDIR: outdir, APPREG_MANAGE_TENANT_OAUTH: 'true' });
      const synthesized = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'basic', 'cdk.tf.json'), 'utf8'));
      expect(synthesized.resource.appreg_oauth_client.wiki.depends_on).toEqual(['appreg_tenant_oauth_setting.tenant']);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('examples/basic against a real service', () => {
  // Terraform runs several times here, each starting the provider.
  jest.setTimeout(180_000);

  test('the stack run directly for a new tenant (APPREG_MANAGE_TENANT_OAUTH=true) plans, applies, re-plans empty and destroys', async () => {
    await withExampleWorld({ groups: ['platform'], example: 'basic' }, async ({ svc, api, outdir }) => {
      // A fresh tenant has OAuth off: the stack turns it on, so the token is the tenant security admin's.
      main({ CDKTF_OUTDIR: outdir, APPREG_MANAGE_TENANT_OAUTH: 'true' });
      await runSteps(
        {
          endpoint: svc.url,
          token: svc.adminToken,
          configFile: 'main.tf.json',
          checkDestroy: async () => {
            expect(await api.listAllApps()).toEqual([]);
            expect((await api.getTenantSettings()).oauth_enabled).toBe(true);
          },
        },
        [
          {
            name: 'apply the synthesized stack',
            config: synthesizedStack(outdir, 'basic'),
            planChecks: [planActions('appreg_tenant_oauth_setting.tenant', ['create']), planActions('appreg_oauth_client.wiki', ['create'])],
            checks: [
              checkAttr('appreg_oauth_client.wiki', 'group_id', svc.groups.platform),
              checkAttr('appreg_oauth_client.wiki', 'public_client', false),
              checkAttrSet('appreg_oauth_client.wiki', 'client_secret'),
              (s) => expect(s.output('client_id')).toBe(s.str('appreg_oauth_client.wiki', 'client_id')),
              async (s) => {
                const app = await api.getApp(s.str('appreg_oauth_client.wiki', 'id'));
                expect(app).toMatchObject({ name: 'Team Wiki', scope: 'group', group_id: svc.groups.platform, grant_types: ['authorization_code'] });
              },
            ],
          },
        ],
      );
    });
  });

  test('the default stack, where OAuth is already on, applies with a group_admin token of the group', async () => {
    await withExampleWorld({ groups: ['platform'], example: 'basic' }, async ({ svc, api, outdir }) => {
      // What a tenant security administrator did once, outside this stack.
      await api.putTenantSettings({ oauth_enabled: true });
      main({ CDKTF_OUTDIR: outdir });
      await runSteps(
        { endpoint: svc.url, token: svc.groupAdminTokens.platform!, configFile: 'main.tf.json', checkDestroy: async () => expect(await api.listAllApps()).toEqual([]) },
        [
          {
            name: 'apply the synthesized stack',
            config: synthesizedStack(outdir, 'basic'),
            planChecks: [planActions('appreg_oauth_client.wiki', ['create'])],
            checks: [checkAttr('appreg_oauth_client.wiki', 'group_id', svc.groups.platform), checkAttrSet('appreg_oauth_client.wiki', 'client_secret')],
          },
        ],
      );
    });
  });
});
