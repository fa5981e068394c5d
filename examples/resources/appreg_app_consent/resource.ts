// The consent of resource.tf, with CDK for Terraform: the billing group adds
// consent to the Partner Portal app of another group.
import { App, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AppConsent, AppregProvider, DataAppregGroup, DataAppregOauthClient } from '@appreg/provider-cdktf';

class BillingConsentStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AppregProvider(this, 'appreg');

    const billing = new DataAppregGroup(this, 'billing', { name: 'billing' });

    // The organization-scoped app of another group, as billing's browse list shows it.
    const partnerPortal = new DataAppregOauthClient(this, 'partner_portal', {
      groupId: billing.id,
      name: 'Partner Portal',
    });

    // Lets the billing group use the Partner Portal app.
    new AppConsent(this, 'example', {
      groupId: billing.id,
      appId: partnerPortal.id,
    });
  }
}

const app = new App();
new BillingConsentStack(app, 'billing-consent');
app.synth();
