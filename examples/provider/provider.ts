// The provider with CDK for Terraform: install the bindings from their tarball
// (npm install ./appreg-provider-cdktf-0.1.0.tgz cdktf@0.21 constructs@10.7)
// and import the classes from the package name.
import { App, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AppregProvider } from '@appreg/provider-cdktf';

class AppregStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // The endpoint and token are read from the environment (APPREG_ENDPOINT,
    // APPREG_TOKEN), so that no secret is written into the code or the
    // synthesized JSON. Passing `endpoint` or `token` here takes precedence.
    new AppregProvider(this, 'appreg');
  }
}

const app = new App();
new AppregStack(app, 'appreg');
app.synth();
