/**
 * An organization-scoped app: the platform group registers it once, other
 * groups consent to use it (their people may then sign in to it), and the
 * tenant's OAuth switch is managed in the same stack (OAuth must be on before
 * the first app is registered). The app allows the code grant and the device
 * grant.
 *
 * This is the app `cdktf.json` runs. Build and synthesize:
 * `npm run build && node dist/examples/organization-app/main.js` (writes
 * `cdktf.out/stacks/organization-app`, or `$CDKTF_OUTDIR`). Applying it needs
 * a `tenant_security_admin` token in `APPREG_TOKEN`, because of the tenant
 * setting and the consents of other groups.
 */
import { App, LocalBackend, TerraformOutput, TerraformStack, type LocalBackendConfig } from 'cdktf';
import type { Construct } from 'constructs';
import { AppConsent } from '../../provider/app-consent';
import { DataAppregGroup } from '../../provider/data-appreg-group';
import { OauthClient } from '../../provider/oauth-client';
import { AppregProvider } from '../../provider/provider';
import { TenantOauthSetting } from '../../provider/tenant-oauth-setting';

/** What varies between installations. */
export interface OrganizationAppStackProps {
  /** Name of the group that owns the app. Default `platform`; run directly, `APPREG_OWNER_GROUP`. */
  readonly ownerGroup?: string;
  /** Names of the groups that consent to the app. Default `billing` and `support`; run directly, `APPREG_CONSENTING_GROUPS` (comma-separated). */
  readonly consentingGroups?: readonly string[];
  /** State backend: a local file by default; `false` adds none, so the caller can add its own. */
  readonly localBackend?: LocalBackendConfig | false;
}

/** The default consenting groups, when neither props nor `APPREG_CONSENTING_GROUPS` name any. */
export const DEFAULT_CONSENTING_GROUPS: readonly string[] = ['billing', 'support'];

/** An organization-scoped app owned by one group and consented to by others. */
export class OrganizationAppStack extends TerraformStack {
  /** The tenant-wide OAuth switch, turned on. */
  readonly tenantOauth: TenantOauthSetting;
  /** The app registration, owned by `ownerGroup`. */
  readonly app: OauthClient;
  /** One consent per consenting group, keyed by group name. */
  readonly consents: ReadonlyMap<string, AppConsent>;

  constructor(scope: Construct, id: string, props: OrganizationAppStackProps = {}) {
    super(scope, id);
    if (props.localBackend !== false) new LocalBackend(this, props.localBackend ?? {});

    // Endpoint and token come from APPREG_ENDPOINT / APPREG_TOKEN, never from code.
    new AppregProvider(this, 'appreg');

    this.tenantOauth = new TenantOauthSetting(this, 'tenant', { oauthEnabled: true });

    const ownerName = props.ownerGroup ?? 'platform';
    const owner = new DataAppregGroup(this, 'owner', { name: ownerName });
    this.app = new OauthClient(this, 'portal', {
      groupId: owner.id,
      name: 'Customer Portal',
      description: 'Shared sign-in for the customer portal; other groups consent to use it.',
      // Fixed at registration: changing scope later replaces the app (new client id and secret).
      scope: 'organization',
      callbackUrls: ['https://portal.example.com/oauth/callback', 'https://portal.example.com/oauth/silent-renew'],
      // Sign-in in a browser (code with PKCE, and refresh tokens), and on devices without one
      // (the device grant; not while the tenant uses single sign-on). `npm run demo` signs a person in with it.
      grantTypes: ['authorization_code', 'device_code'],
      requirePkce: true,
      // Nothing in the app's attributes refers to the tenant setting, so Terraform would not
      // know to switch OAuth on first: registering while OAuth is off fails (409).
      dependsOn: [this.tenantOauth],
    });

    const consentingGroups = props.consentingGroups ?? DEFAULT_CONSENTING_GROUPS;
    // The provider would reject this at plan time too; failing at synth names the stack setting instead.
    this.node.addValidation({
      validate: () =>
        consentingGroups.includes(ownerName)
          ? [`consentingGroups includes the owner group ${JSON.stringify(ownerName)}: a group cannot consent to its own app`]
          : [],
    });

    const consents = new Map<string, AppConsent>();
    for (const name of consentingGroups) {
      // Construct ids from group names keep Terraform addresses stable when the list is reordered.
      const key = constructId(name);
      const group = new DataAppregGroup(this, `consenting_${key}`, { name });
      consents.set(name, new AppConsent(this, `consent_${key}`, { groupId: group.id, appId: this.app.id }));
    }
    this.consents = consents;

    new TerraformOutput(this, 'client_id', { value: this.app.clientId });
    new TerraformOutput(this, 'client_secret', { value: this.app.clientSecret, sensitive: true });
  }
}

/** A construct id (and so a Terraform name) for a group name: lower case, runs of other characters as `_`. */
export function constructId(groupName: string): string {
  const id = groupName.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  if (id === '') throw new Error(`Group name ${JSON.stringify(groupName)} has no letters or digits to name its consent after`);
  return id;
}

/** Props from the environment: `APPREG_OWNER_GROUP`, `APPREG_CONSENTING_GROUPS` (comma-separated). */
export function propsFromEnv(env: NodeJS.ProcessEnv = process.env): OrganizationAppStackProps {
  const consenting = (env.APPREG_CONSENTING_GROUPS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return {
    ownerGroup: env.APPREG_OWNER_GROUP?.trim() || undefined,
    consentingGroups: consenting.length > 0 ? consenting : undefined,
  };
}

/** Synthesizes the example into `outdir` (default `$CDKTF_OUTDIR`, else `cdktf.out`), with settings from `env`. */
export function main(env: NodeJS.ProcessEnv = process.env, outdir?: string): App {
  const app = new App({ outdir: outdir ?? env.CDKTF_OUTDIR ?? 'cdktf.out' });
  new OrganizationAppStack(app, 'organization-app', propsFromEnv(env));
  app.synth();
  return app;
}

if (require.main === module) main();
