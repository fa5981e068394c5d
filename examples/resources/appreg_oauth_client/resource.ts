// The confidential web app of resource.tf, with CDK for Terraform. Synthesize
// by running it (compiled, or with ts-node) and apply the stack
// in cdktf.out/stacks/partner-portal, or use `cdktf deploy`.
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AppregProvider, DataAppregGroup, OauthClient } from '@appreg/provider-cdktf';

class PartnerPortalStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // The endpoint and token come from APPREG_ENDPOINT and APPREG_TOKEN.
    new AppregProvider(this, 'appreg');

    const platform = new DataAppregGroup(this, 'platform', { name: 'platform' });

    // A confidential web app: it keeps a client secret, which Terraform stores in
    // state as a sensitive value. Organization scope lets other groups consent to it.
    const example = new OauthClient(this, 'example', {
      groupId: platform.id,
      name: 'Partner Portal',
      description: 'The partner portal web app',
      scope: 'organization',
      callbackUrls: ['https://portal.example.com/oauth/callback', 'http://localhost:3000/oauth/callback'],
      grantTypes: ['authorization_code'],
      requirePkce: true,
      // Any change to these values rotates the client secret in place; the client
      // id stays. Bump the value to rotate on a schedule or after a leak.
      rotationTriggers: { rotated: '2026-Q1' },
    });

    new TerraformOutput(this, 'partner_portal_client_id', { value: example.clientId });
    new TerraformOutput(this, 'partner_portal_client_secret', { value: example.clientSecret, sensitive: true });
  }
}

const app = new App();
new PartnerPortalStack(app, 'partner-portal');
app.synth();
