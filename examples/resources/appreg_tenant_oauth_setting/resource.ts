// The tenant switch of resource.tf, with CDK for Terraform. Needs a
// tenant_security_admin token.
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AppregProvider, DataAppregGroup, OauthClient, TenantOauthSetting } from '@appreg/provider-cdktf';

class TenantStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AppregProvider(this, 'appreg');

    // OAuth must be enabled for the tenant before the first app is registered.
    const example = new TenantOauthSetting(this, 'example', { oauthEnabled: true });

    const platform = new DataAppregGroup(this, 'platform', { name: 'platform' });

    // Registering an app while OAuth is off fails, so apps depend on the setting.
    new OauthClient(this, 'internal_dashboard', {
      groupId: platform.id,
      name: 'Internal Dashboard',
      scope: 'group',
      callbackUrls: ['https://dashboard.example.com/oauth/callback'],
      dependsOn: [example],
    });

    // False while the tenant uses single sign-on: device-grant apps are refused then.
    new TerraformOutput(this, 'device_grant_allowed', { value: example.deviceGrantAllowed });
  }
}

const app = new App();
new TenantStack(app, 'tenant');
app.synth();
