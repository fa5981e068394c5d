/**
 * A command-line tool as a public OAuth client: it cannot keep a secret, so
 * it gets none and must use PKCE. It signs in through the browser with a
 * loopback redirect where it can, and with the device grant on machines
 * without a browser (the device grant needs a tenant without single sign-on).
 *
 * Build and synthesize: `npm run build && node dist/examples/device-cli/main.js`
 * (writes `cdktf.out/stacks/device-cli`, or `$CDKTF_OUTDIR`). OAuth must be
 * on for the tenant: on a new tenant, where it starts off, set
 * `APPREG_MANAGE_TENANT_OAUTH=true` (and use a `tenant_security_admin` token)
 * so this stack turns it on first.
 */
import { App, LocalBackend, TerraformOutput, TerraformStack, type LocalBackendConfig } from 'cdktf';
import type { Construct } from 'constructs';
import { DataAppregGroup } from '../../provider/data-appreg-group';
import { OauthClient } from '../../provider/oauth-client';
import { AppregProvider } from '../../provider/provider';
import { TenantOauthSetting } from '../../provider/tenant-oauth-setting';

/** What varies between installations. */
export interface DeviceCliStackProps {
  /** Name of the group that owns the CLI's registration. Default `platform`; run directly, `APPREG_GROUP`. */
  readonly groupName?: string;
  /**
   * Also manage the tenant's OAuth switch (turned on) in this stack, and
   * register the app only after it: for a new tenant, where OAuth starts off
   * and the plan fails until something turns it on. Needs a
   * `tenant_security_admin` token. Default false, so a `group_admin` token
   * is enough where OAuth is already on; run directly, `APPREG_MANAGE_TENANT_OAUTH=true`.
   */
  readonly manageTenantOauth?: boolean;
  /** Port of the CLI's loopback redirect listener. Default 8400. */
  readonly loopbackPort?: number;
  /** State backend: a local file by default; `false` adds none, so the caller can add its own. */
  readonly localBackend?: LocalBackendConfig | false;
}

/** A public client using the device grant and the authorization code flow with PKCE. */
export class DeviceCliStack extends TerraformStack {
  /** The CLI's registration. */
  readonly app: OauthClient;
  /** The tenant's OAuth switch, when the stack manages it (`manageTenantOauth`). */
  readonly tenantOauth?: TenantOauthSetting;

  constructor(scope: Construct, id: string, props: DeviceCliStackProps = {}) {
    super(scope, id);
    if (props.localBackend !== false) new LocalBackend(this, props.localBackend ?? {});

    // Endpoint and token come from APPREG_ENDPOINT / APPREG_TOKEN, never from code.
    new AppregProvider(this, 'appreg');

    // A new tenant starts with OAuth off, and the provider fails the plan of a new app until
    // something turns it on: here, optionally, this stack. The app then depends on it, so
    // Terraform plans and applies the switch first.
    if (props.manageTenantOauth === true) this.tenantOauth = new TenantOauthSetting(this, 'tenant', { oauthEnabled: true });

    const group = new DataAppregGroup(this, 'owner', { name: props.groupName ?? 'platform' });
    this.app = new OauthClient(this, 'cli', {
      groupId: group.id,
      name: 'Deploy CLI',
      description: 'The deploy command-line tool: browser sign-in with PKCE, device grant on headless machines.',
      scope: 'group',
      // A binary on users' machines cannot keep a secret. Fixed at registration: changing it replaces the app.
      publicClient: true,
      // Implied by publicClient; stated so the plan and the code say the same thing.
      requirePkce: true,
      grantTypes: ['authorization_code', 'device_code'],
      // Every client needs a callback URL, device clients too; plain http is allowed for loopback addresses only.
      callbackUrls: [`http://127.0.0.1:${props.loopbackPort ?? 8400}/callback`],
      ...(this.tenantOauth ? { dependsOn: [this.tenantOauth] } : {}),
    });

    // A public client has no secret: the client id is all the CLI needs to ship with.
    new TerraformOutput(this, 'client_id', { value: this.app.clientId });
  }
}

/** Synthesizes the example into `outdir` (default `$CDKTF_OUTDIR`, else `cdktf.out`), with settings from `env`. */
export function main(env: NodeJS.ProcessEnv = process.env, outdir?: string): App {
  const app = new App({ outdir: outdir ?? env.CDKTF_OUTDIR ?? 'cdktf.out' });
  new DeviceCliStack(app, 'device-cli', { groupName: env.APPREG_GROUP?.trim() || undefined, manageTenantOauth: env.APPREG_MANAGE_TENANT_OAUTH === 'true' });
  app.synth();
  return app;
}

if (require.main === module) main();
