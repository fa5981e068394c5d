/**
 * What one provider process knows about the tenant while Terraform plans and
 * applies: the tenant's OAuth settings, read once, and whether this process
 * has planned an `appreg_tenant_oauth_setting` that turns OAuth on.
 *
 * Terraform starts one provider process per provider configuration for a
 * plan (and another for the apply), and plans a resource only after the
 * resources it depends on. So a client that `depends_on` the tenant setting
 * is planned after it, in the same process, and can see here that the same
 * run switches OAuth on.
 */
import type { AppregClient, TenantSettings } from '../client';
import { ForbiddenError } from '../client/errors';
import type { Diagnostic } from '../tfplugin/types';

/** The tenant as seen by one configured provider process. */
export class TenantView {
  #settings: Promise<TenantSettings> | undefined;
  #oauthOnPlanned = false;

  constructor(private readonly client: AppregClient) {}

  /**
   * The tenant's settings, read once per process: every client's plan needs
   * them (OAuth on, device grant allowed), and a plan of a hundred clients
   * should not make a hundred identical requests. A failed read is not kept,
   * so a later plan step may try again.
   */
  settings(): Promise<TenantSettings> {
    const read = (this.#settings ??= this.client.getTenantSettings());
    read.catch(() => {
      if (this.#settings === read) this.#settings = undefined;
    });
    return read;
  }

  /**
   * The settings, or undefined when this token may not read them. Such a
   * token does not block the plan: the service still refuses what it must
   * at apply, and the provider explains that refusal there.
   */
  async settingsIfReadable(): Promise<TenantSettings | undefined> {
    try {
      return await this.settings();
    } catch (e) {
      if (e instanceof ForbiddenError) return undefined;
      throw e;
    }
  }

  /** Keeps settings the service just returned (after a PUT), so later plans in this process see them. */
  remember(settings: TenantSettings): void {
    this.#settings = Promise.resolve(settings);
  }

  /** Records that an `appreg_tenant_oauth_setting` planned in this process turns OAuth on (or may: unknown). */
  notePlannedOauthOn(): void {
    this.#oauthOnPlanned = true;
  }

  /** Whether an `appreg_tenant_oauth_setting` planned in this process turns OAuth on. */
  get oauthOnPlanned(): boolean {
    return this.#oauthOnPlanned;
  }
}

/** What to do when OAuth is off: the same words at plan and at apply. */
export const OAUTH_OFF_SUMMARY = 'OAuth is off for this tenant';
/** The advice of {@link OAUTH_OFF_SUMMARY}, one sentence. */
export const OAUTH_OFF_ADVICE =
  'Add an appreg_tenant_oauth_setting with oauth_enabled = true and make this client depend on it ' +
  '(depends_on in HCL, dependsOn in cdktf), or have a tenant_security_admin turn OAuth on first.';

/**
 * The plan-time check for a client about to be created: an error while the
 * tenant's OAuth is off, unless this process has planned the tenant setting
 * that turns it on. Reads only; writes nothing.
 */
export async function oauthOffAtCreate(view: TenantView): Promise<Diagnostic[]> {
  if (view.oauthOnPlanned) return [];
  const settings = await view.settingsIfReadable();
  if (settings === undefined || settings.oauth_enabled) return [];
  return [{
    severity: 'error',
    summary: OAUTH_OFF_SUMMARY,
    detail: `The registration service registers no client while OAuth is off for the tenant. ${OAUTH_OFF_ADVICE}`,
  }];
}
