import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
// Types of the cdktf jest matchers (`Testing.setupJest` registers them at run time).
import 'cdktf/lib/testing/adapters/jest';
import { AppConsent } from '../../provider/app-consent';
import { DataAppregGroup } from '../../provider/data-appreg-group';
import { OauthClient } from '../../provider/oauth-client';
import { AppregProvider } from '../../provider/provider';
import { TenantOauthSetting } from '../../provider/tenant-oauth-setting';
import { constructId, main, OrganizationAppStack, propsFromEnv } from './main';
import { VERSION } from '../../src/version';
import { checkAttr, checkAttrSet, planActions, runSteps, synthesizedStack } from '../../test/support/steps';
import { withExampleWorld } from '../../test/support/example-stack';

Testing.setupJest();

function synth(stack: OrganizationAppStack): { text: string; json: any } {
  const text = Testing.synth(stack);
  return { text, json: JSON.parse(text) };
}

describe('examples/organization-app: one owner group, two consenting groups, tenant OAuth on', () => {
  test('requires the provider appreg/appreg, configured from the environment only', () => {
    const { text, json } = synth(new OrganizationAppStack(Testing.app(), 'organization-app'));
    // With the version of this checkout: `cdktf deploy` refuses a stack whose provider has none.
    expect(json.terraform.required_providers.appreg).toEqual({ source: 'appreg/appreg', version: VERSION });
    expect(text).toHaveProvider(AppregProvider);
    expect(json.provider.appreg).toEqual([{}]);
  });

  test('switches tenant OAuth on', () => {
    expect(synth(new OrganizationAppStack(Testing.app(), 'organization-app')).text).toHaveResourceWithProperties(TenantOauthSetting, {
      oauth_enabled: true,
    });
  });

  test('registers an organization-scoped app owned by platform, after the tenant setting', () => {
    const { text } = synth(new OrganizationAppStack(Testing.app(), 'organization-app'));
    expect(text).toHaveDataSourceWithProperties(DataAppregGroup, { name: 'platform' });
    expect(text).toHaveResourceWithProperties(OauthClient, {
      name: 'Customer Portal',
      scope: 'organization',
      group_id: '${data.appreg_group.owner.id}',
      callback_urls: ['https://portal.example.com/oauth/callback', 'https://portal.example.com/oauth/silent-renew'],
      grant_types: ['authorization_code', 'device_code'],
      require_pkce: true,
      depends_on: ['appreg_tenant_oauth_setting.tenant'],
    });
  });

  test('billing and support each consent to the app by its id', () => {
    const { text, json } = synth(new OrganizationAppStack(Testing.app(), 'organization-app'));
    for (const group of ['billing', 'support']) {
      expect(text).toHaveDataSourceWithProperties(DataAppregGroup, { name: group });
      expect(text).toHaveResourceWithProperties(AppConsent, {
        group_id: `\${data.appreg_group.consenting_${group}.id}`,
        app_id: '${appreg_oauth_client.portal.id}',
      });
    }
    expect(Object.keys(json.resource.appreg_app_consent).sort()).toEqual(['consent_billing', 'consent_support']);
  });

  test('consenting groups from props, one consent each, named after the group', () => {
    const stack = new OrganizationAppStack(Testing.app(), 'organization-app', {
      ownerGroup: 'identity',
      consentingGroups: ['Data Science', 'finance'],
    });
    const { text, json } = synth(stack);
    expect(text).toHaveDataSourceWithProperties(DataAppregGroup, { name: 'identity' });
    expect(text).toHaveDataSourceWithProperties(DataAppregGroup, { name: 'Data Science' });
    expect(Object.keys(json.resource.appreg_app_consent).sort()).toEqual(['consent_data_science', 'consent_finance']);
    expect([...stack.consents.keys()]).toEqual(['Data Science', 'finance']);
  });

  test('the owner group among the consenting groups fails validation', () => {
    const stack = new OrganizationAppStack(Testing.app(), 'organization-app', { consentingGroups: ['billing', 'platform'] });
    expect(() => Testing.synth(stack, true)).toThrow(/cannot consent to its own app/);
  });

  test('group names become construct ids Terraform accepts', () => {
    expect(constructId('billing')).toBe('billing');
    expect(constructId('  Data  Science! ')).toBe('data_science');
    expect(() => constructId('!!')).toThrow(/no letters or digits/);
  });

  test('reads the groups from APPREG_OWNER_GROUP and APPREG_CONSENTING_GROUPS, with defaults when unset', () => {
    expect(propsFromEnv({})).toEqual({ ownerGroup: undefined, consentingGroups: undefined });
    expect(propsFromEnv({ APPREG_OWNER_GROUP: 'identity', APPREG_CONSENTING_GROUPS: ' billing, ops ,' })).toEqual({
      ownerGroup: 'identity',
      consentingGroups: ['billing', 'ops'],
    });
  });

  test('run directly (the cdktf.json app), synthesizes into CDKTF_OUTDIR', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'appreg-example-organization-app-'));
    try {
      main({ CDKTF_OUTDIR: outdir, APPREG_CONSENTING_GROUPS: 'ops' });
      const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'organization-app', 'cdk.tf.json'), 'utf8'));
      expect(Object.keys(json.resource.appreg_app_consent)).toEqual(['consent_ops']);
      expect(json.resource.appreg_oauth_client.portal.depends_on).toEqual(['appreg_tenant_oauth_setting.tenant']);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('examples/organization-app against a real service', () => {
  // Terraform runs several times here, each starting the provider.
  jest.setTimeout(180_000);

  test('the stack run directly plans, applies, re-plans empty and destroys', async () => {
    await withExampleWorld({ groups: ['platform', 'billing', 'support'], example: 'organization-app' }, async ({ svc, api, outdir }) => {
      main({ CDKTF_OUTDIR: outdir });
      await runSteps(
        {
          endpoint: svc.url,
          token: svc.adminToken,
          configFile: 'main.tf.json',
          checkDestroy: async () => {
            expect(await api.listAllApps()).toEqual([]);
            expect(await api.listAllConsents()).toEqual([]);
          },
        },
        [
          {
            name: 'apply the synthesized stack',
            config: synthesizedStack(outdir, 'organization-app'),
            planChecks: [
              planActions('appreg_tenant_oauth_setting.tenant', ['create']),
              planActions('appreg_oauth_client.portal', ['create']),
              planActions('appreg_app_consent.consent_billing', ['create']),
              planActions('appreg_app_consent.consent_support', ['create']),
            ],
            checks: [
              checkAttr('appreg_oauth_client.portal', 'scope', 'organization'),
              checkAttr('appreg_oauth_client.portal', 'grant_types', ['authorization_code', 'device_code']),
              checkAttrSet('appreg_oauth_client.portal', 'client_secret'),
              async (s) => {
                const id = s.str('appreg_oauth_client.portal', 'id');
                await expect(api.getApp(id)).resolves.toMatchObject({ grant_types: ['authorization_code', 'device_code'] });
                for (const group of ['billing', 'support']) {
                  expect(s.attr(`appreg_app_consent.consent_${group}`, 'id')).toBe(`${svc.groups[group]}/${id}`);
                  await expect(api.getConsent(svc.groups[group]!, id)).resolves.toMatchObject({ app_id: id });
                }
              },
            ],
          },
        ],
      );
    });
  });
});
