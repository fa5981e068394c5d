/**
 * The smallest appreg app: one confidential web app, owned by one group and
 * used only inside it.
 *
 * Build and synthesize: `npm run build && node dist/examples/basic/main.js`
 * (writes `cdktf.out/stacks/basic`, or `$CDKTF_OUTDIR`), then
 * `cd cdktf.out/stacks/basic && terraform init && terraform apply`.
 * The provider reads `APPREG_ENDPOINT` and `APPREG_TOKEN` (a `group_admin`
 * token of the group is enough). OAuth must be on for the tenant: on a new
 * tenant, where it starts off, set `APPREG_MANAGE_TENANT_OAUTH=true` (and use
 * a `tenant_security_admin` token) so this stack turns it on first.
 */
import { App, LocalBackend, TerraformOutput, TerraformStack, type LocalBackendConfig } from 'cdktf';
import type { Construct } from 'constructs';
import { DataAppregGroup } from '../../provider/data-appreg-group';
import { OauthClient } from '../../provider/oauth-client';
import { AppregProvider } from '../../provider/provider';
import { TenantOauthSetting } from '../../provider/tenant-oauth-setting';

/** What varies between installations; everything else is the example itself. */
export interface BasicStackProps {
  /** Name of the group that owns the app. Default `platform`; run directly, `APPREG_GROUP`. */
  readonly groupName?: string;
  /**
   * Also manage the tenant's OAuth switch (turned on) in this stack, and
   * register the app only after it: for a new tenant, where OAuth starts off
   * and the plan fails until something turns it on. Needs a
   * `tenant_security_admin` token. Default false, so a `group_admin` token
   * is enough where OAuth is already on; run directly, `APPREG_MANAGE_TENANT_OAUTH=true`.
   */
  readonly manageTenantOauth?: boolean;
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
  /** The tenant's OAuth switch, when the stack manages it (`manageTenantOauth`). */
  readonly tenantOauth?: TenantOauthSetting;

  constructor(scope: Construct, id: string, props: BasicStackProps = {}) {
    super(scope, id);
    if (props.localBackend !== false) new LocalBackend(this, props.localBackend ?? {});

    // No endpoint or token here: the provider falls back to APPREG_ENDPOINT and APPREG_TOKEN,
    // which keeps the token out of the synthesized JSON and out of version control.
    new AppregProvider(this, 'appreg');

    // A new tenant starts with OAuth off, and the provider fails the plan of a new app until
    // something turns it on: here, optionally, this stack. The app then depends on it, so
    // Terraform plans and applies the switch first.
    if (props.manageTenantOauth === true) this.tenantOauth = new TenantOauthSetting(this, 'tenant', { oauthEnabled: true });

    this.group = new DataAppregGroup(this, 'owner', { name: props.groupName ?? 'platform' });

    // Construct ids become Terraform addresses (`appreg_oauth_client.wiki`): renaming one
    // plans a destroy and create, i.e. a new client id and secret for the app.
    this.app = new OauthClient(this, 'wiki', {
      groupId: this.group.id,
      name: 'Team Wiki',
      description: 'Internal wiki; signs users in with the authorization code flow.',
      scope: 'group',
      callbackUrls: ['https://wiki.example.com/oauth/callback', 'http://localhost:3000/oauth/callback'],
      ...(this.tenantOauth ? { dependsOn: [this.tenantOauth] } : {}),
    });

    new TerraformOutput(this, 'client_id', { value: this.app.clientId });
    // The secret is shown once by the service and kept in state; `terraform output -raw client_secret` reads it.
    new TerraformOutput(this, 'client_secret', { value: this.app.clientSecret, sensitive: true });
  }
}

/** Synthesizes the example into `outdir` (default `$CDKTF_OUTDIR`, else `cdktf.out`), with settings from `env`. */
export function main(env: NodeJS.ProcessEnv = process.env, outdir?: string): App {
  const app = new App({ outdir: outdir ?? env.CDKTF_OUTDIR ?? 'cdktf.out' });
  new BasicStack(app, 'basic', { groupName: env.APPREG_GROUP?.trim() || undefined, manageTenantOauth: env.APPREG_MANAGE_TENANT_OAUTH === 'true' });
  app.synth();
  return app;
}

if (require.main === module) main();
