// The browse-list lookup of data-source.tf, with CDK for Terraform.
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AppregProvider, DataAppregGroup, DataAppregOauthClient } from '@appreg/provider-cdktf';

class PartnerPortalLookupStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AppregProvider(this, 'appreg');

    const billing = new DataAppregGroup(this, 'billing', { name: 'billing' });

    // An organization-scoped app of another group, found by name in billing's
    // browse list. Its id is the appId of an AppConsent; no secret is returned.
    const partnerPortal = new DataAppregOauthClient(this, 'partner_portal', {
      groupId: billing.id,
      name: 'Partner Portal',
    });

    new TerraformOutput(this, 'partner_portal_app', {
      value: {
        id: partnerPortal.id,
        client_id: partnerPortal.clientId,
        owner_group_id: partnerPortal.ownerGroupId,
        callback_urls: partnerPortal.callbackUrls,
      },
    });
  }
}

const app = new App();
new PartnerPortalLookupStack(app, 'partner-portal-lookup');
app.synth();
