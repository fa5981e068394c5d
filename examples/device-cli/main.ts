/**
 * A command-line tool as a public OAuth client: it cannot keep a secret, so
 * it gets none and must use PKCE. It signs in through the browser with a
 * loopback redirect where it can, and with the device grant on machines
 * without a browser (the device grant needs a tenant without single sign-on).
 *
 * Build and synthesize: `npm run build && node dist/examples/device-cli/main.js`
 * (writes `cdktf.out/stacks/device-cli`, or `$CDKTF_OUTDIR`).
 */
import { App, LocalBackend, TerraformOutput, TerraformStack, type LocalBackendConfig } from 'cdktf';
import type { Construct } from 'constructs';
import { DataAppregGroup } from '../../provider/data-appreg-group';
import { OauthClient } from '../../provider/oauth-client';
import { AppregProvider } from '../../provider/provider';

/** What varies between installations. */
export interface DeviceCliStackProps {
  /** Name of the group that owns the CLI's registration. Default `platform`; run directly, `APPREG_GROUP`. */
  readonly groupName?: string;
  /** Port of the CLI's loopback redirect listener. Default 8400. */
  readonly loopbackPort?: number;
  /** State backend: a local file by default; `false` adds none, so the caller can add its own. */
  readonly localBackend?: LocalBackendConfig | false;
}

/** A public client using the device grant and the authorization code flow with PKCE. */
export class DeviceCliStack extends TerraformStack {
  /** The CLI's registration. */
  readonly app: OauthClient;

  constructor(scope: Construct, id: string, props: DeviceCliStackProps = {}) {
    super(scope, id);
    if (props.localBackend !== false) new LocalBackend(this, props.localBackend ?? {});

    // Endpoint and token come from APPREG_ENDPOINT / APPREG_TOKEN, never from code.
    new AppregProvider(this, 'appreg');

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
    });

    // A public client has no secret: the client id is all the CLI needs to ship with.
    new TerraformOutput(this, 'client_id', { value: this.app.clientId });
  }
}

/** Synthesizes the example into `outdir` (default `$CDKTF_OUTDIR`, else `cdktf.out`), with settings from `env`. */
export function main(env: NodeJS.ProcessEnv = process.env, outdir?: string): App {
  const app = new App({ outdir: outdir ?? env.CDKTF_OUTDIR ?? 'cdktf.out' });
  new DeviceCliStack(app, 'device-cli', { groupName: env.APPREG_GROUP?.trim() || undefined });
  app.synth();
  return app;
}

if (require.main === module) main();
