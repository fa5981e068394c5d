/**
 * The smallest appreg app: one confidential web app, owned by one group and
 * used only inside it.
 *
 * Build and synthesize: `npm run build && node dist/examples/basic/main.js`
 * (writes `cdktf.out/stacks/basic`, or `$CDKTF_OUTDIR`), then
 * `cd cdktf.out/stacks/basic && terraform init && terraform apply`.
 * The provider reads `APPREG_ENDPOINT` and `APPREG_TOKEN` (a `group_admin`
 * token of the group is enough).
 */
import { App, LocalBackend, TerraformOutput, TerraformStack, type LocalBackendConfig } from 'cdktf';
import type { Construct } from 'constructs';
import { DataAppregGroup } from '../../provider/data-appreg-group';
import { OauthClient } from '../../provider/oauth-client';
import { AppregProvider } from '../../provider/provider';

/** What varies between installations; everything else is the example itself. */
export interface BasicStackProps {
  /** Name of the group that owns the app. Default `platform`; run directly, `APPREG_GROUP`. */
  readonly groupName?: string;
  /**
   * State backend: a local file by default (`terraform.<stack>.tfstate` in
   * the working directory). `false` adds none, so the caller can add its own,
   * e.g. a remote backend in a GitOps pipeline.
   */
  readonly localBackend?: LocalBackendConfig | false;
}

/** A confidential web app with a client secret, scoped to its own group. */
export class BasicStack extends TerraformStack {
  /** The owning group, looked up by name so the same code runs against any registration service. */
  readonly group: DataAppregGroup;
  /** The app registration. */
  readonly app: OauthClient;

  constructor(scope: Construct, id: string, props: BasicStackProps = {}) {
    super(scope, id);
    if (props.localBackend !== false) new LocalBackend(this, props.localBackend ?? {});

    // No endpoint or token here: the provider falls back to APPREG_ENDPOINT and APPREG_TOKEN,
    // which keeps the token out of the synthesized JSON and out of version control.
    new AppregProvider(this, 'appreg');

    this.group = new DataAppregGroup(this, 'owner', { name: props.groupName ?? 'platform' });

    // Construct ids become Terraform addresses (`appreg_oauth_client.wiki`): renaming one
    // plans a destroy and create, i.e. a new client id and secret for the app.
    this.app = new OauthClient(this, 'wiki', {
      groupId: this.group.id,
      name: 'Team Wiki',
      description: 'Internal wiki; signs users in with the authorization code flow.',
      scope: 'group',
      callbackUrls: ['https://wiki.example.com/oauth/callback', 'http://localhost:3000/oauth/callback'],
    });

    new TerraformOutput(this, 'client_id', { value: this.app.clientId });
    // The secret is shown once by the service and kept in state; `terraform output -raw client_secret` reads it.
    new TerraformOutput(this, 'client_secret', { value: this.app.clientSecret, sensitive: true });
  }
}

/** Synthesizes the example into `outdir` (default `$CDKTF_OUTDIR`, else `cdktf.out`), with settings from `env`. */
export function main(env: NodeJS.ProcessEnv = process.env, outdir?: string): App {
  const app = new App({ outdir: outdir ?? env.CDKTF_OUTDIR ?? 'cdktf.out' });
  new BasicStack(app, 'basic', { groupName: env.APPREG_GROUP?.trim() || undefined });
  app.synth();
  return app;
}

if (require.main === module) main();
