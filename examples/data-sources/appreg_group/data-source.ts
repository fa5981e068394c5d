// The group lookup of data-source.tf, with CDK for Terraform.
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AppregProvider, DataAppregGroup } from '@appreg/provider-cdktf';

class GroupLookupStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AppregProvider(this, 'appreg');

    // Groups are looked up by name, so configurations never hard-code group ids.
    const platform = new DataAppregGroup(this, 'platform', { name: 'platform' });

    new TerraformOutput(this, 'platform_group_id', { value: platform.id });
  }
}

const app = new App();
new GroupLookupStack(app, 'group-lookup');
app.synth();
