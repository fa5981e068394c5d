import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
// Types of the cdktf jest matchers (`Testing.setupJest` registers them at run time).
import 'cdktf/lib/testing/adapters/jest';
import { DataAppregGroup } from '../../provider/data-appreg-group';
import { OauthClient } from '../../provider/oauth-client';
import { AppregProvider } from '../../provider/provider';
import { DeviceCliStack, main } from './main';
import { VERSION } from '../../src/version';
import { checkAttr, checkNoAttr, planActions, runSteps, synthesizedStack } from '../../test/support/steps';
import { withExampleWorld } from '../../test/support/example-stack';

Testing.setupJest();

function synth(stack: DeviceCliStack): { text: string; json: any } {
  const text = Testing.synth(stack);
  return { text, json: JSON.parse(text) };
}

describe('examples/device-cli: a public device-grant client with PKCE', () => {
  test('requires the provider appreg/appreg, configured from the environment only', () => {
    const { text, json } = synth(new DeviceCliStack(Testing.app(), 'device-cli'));
    // With the version of this checkout: `cdktf deploy` refuses a stack whose provider has none.
    expect(json.terraform.required_providers.appreg).toEqual({ source: 'appreg/appreg', version: VERSION });
    expect(text).toHaveProvider(AppregProvider);
    expect(json.provider.appreg).toEqual([{}]);
  });

  test('registers a public client with PKCE and the device grant', () => {
    const { text } = synth(new DeviceCliStack(Testing.app(), 'device-cli'));
    expect(text).toHaveDataSourceWithProperties(DataAppregGroup, { name: 'platform' });
    expect(text).toHaveResourceWithProperties(OauthClient, {
      name: 'Deploy CLI',
      scope: 'group',
      group_id: '${data.appreg_group.owner.id}',
      public_client: true,
      require_pkce: true,
      grant_types: ['authorization_code', 'device_code'],
      callback_urls: ['http://127.0.0.1:8400/callback'],
    });
  });

  test('the loopback port is a setting', () => {
    const { json } = synth(new DeviceCliStack(Testing.app(), 'device-cli', { loopbackPort: 9123 }));
    expect(json.resource.appreg_oauth_client.cli.callback_urls).toEqual(['http://127.0.0.1:9123/callback']);
  });

  test('outputs the client id and no secret: a public client has none', () => {
    const { json } = synth(new DeviceCliStack(Testing.app(), 'device-cli'));
    expect(json.output).toEqual({ client_id: { value: '${appreg_oauth_client.cli.client_id}' } });
  });

  test('run directly, synthesizes into CDKTF_OUTDIR with the group from APPREG_GROUP', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-example-device-cli-'));
    try {
      main({ CDKTF_OUTDIR: outdir, APPREG_GROUP: 'tools' });
      const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'device-cli', 'cdk.tf.json'), 'utf8'));
      expect(json.data.appreg_group.owner.name).toBe('tools');
      expect(json.resource.appreg_oauth_client.cli.public_client).toBe(true);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
  test('leaves the tenant OAuth switch alone by default, so a group_admin token is enough', () => {
    const { json } = synth(new DeviceCliStack(Testing.app(), 'device-cli'));
    expect(json.resource.appreg_tenant_oauth_setting).toBeUndefined();
    expect(json.resource.appreg_oauth_client.cli.depends_on).toBeUndefined();
  });

  test('for a new tenant, turns OAuth on first and registers the app after it (manageTenantOauth, APPREG_MANAGE_TENANT_OAUTH)', () => {
    const { json } = synth(new DeviceCliStack(Testing.app(), 'device-cli', { manageTenantOauth: true }));
    expect(json.resource.appreg_tenant_oauth_setting.tenant).toEqual({ oauth_enabled: true });
    expect(json.resource.appreg_oauth_client.cli.depends_on).toEqual(['appreg_tenant_oauth_setting.tenant']);
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-example-device-cli-'));
    try {
      main({ CDKTF_OUTDIR: outdir, APPREG_MANAGE_TENANT_OAUTH: 'true' });
      const synthesized = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'device-cli', 'cdk.tf.json'), 'utf8'));
      expect(synthesized.resource.appreg_oauth_client.cli.depends_on).toEqual(['appreg_tenant_oauth_setting.tenant']);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('examples/device-cli against a real service', () => {
  // Terraform runs several times here, each starting the provider.
  jest.setTimeout(180_000);

  test('the stack run directly for a new tenant (APPREG_MANAGE_TENANT_OAUTH=true) plans, applies, re-plans empty and destroys', async () => {
    await withExampleWorld({ groups: ['platform'], example: 'device-cli' }, async ({ svc, api, outdir }) => {
      // A fresh tenant has OAuth off (and no SSO, so the device grant is allowed): the stack turns OAuth on.
      main({ CDKTF_OUTDIR: outdir, APPREG_MANAGE_TENANT_OAUTH: 'true' });
      await runSteps(
        {
          endpoint: svc.url,
          token: svc.adminToken,
          configFile: 'main.tf.json',
          checkDestroy: async () => expect(await api.listAllApps()).toEqual([]),
        },
        [
          {
            name: 'apply the synthesized stack',
            config: synthesizedStack(outdir, 'device-cli'),
            planChecks: [planActions('appreg_tenant_oauth_setting.tenant', ['create']), planActions('appreg_oauth_client.cli', ['create'])],
            checks: [
              checkAttr('appreg_oauth_client.cli', 'public_client', true),
              checkAttr('appreg_oauth_client.cli', 'require_pkce', true),
              // A public client has no secret.
              checkNoAttr('appreg_oauth_client.cli', 'client_secret'),
              (s) => expect(s.output('client_id')).toBe(s.str('appreg_oauth_client.cli', 'client_id')),
              async (s) => {
                const app = await api.getApp(s.str('appreg_oauth_client.cli', 'id'));
                expect(app).toMatchObject({ name: 'Deploy CLI', public_client: true, require_pkce: true, callback_urls: ['http://127.0.0.1:8400/callback'] });
                expect([...app.grant_types].sort()).toEqual(['authorization_code', 'device_code']);
              },
            ],
          },
        ],
      );
    });
  });
});
