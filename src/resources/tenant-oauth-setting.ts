/**
 * `appreg_tenant_oauth_setting`: the tenant's OAuth switch. There is exactly
 * one per tenant, so create adopts it and destroy leaves it as it is.
 */
import type { TenantSettings } from '../client';
import { tenantOauthSetting } from '../schema';
import { DiagnosticError, type Resource, type State, type Stored } from './resource';

function toState(s: TenantSettings): State {
  return { id: s.tenant_id, oauth_enabled: s.oauth_enabled, sso_enabled: s.sso_enabled, device_grant_allowed: s.device_grant_allowed };
}

/** The resource. */
export const tenantOauthSettingResource: Resource = {
  spec: tenantOauthSetting,

  validate() {
    return [];
  },

  async create(ctx, planned): Promise<Stored> {
    return { state: toState(await ctx.client.putTenantSettings({ oauth_enabled: planned.oauth_enabled as boolean })) };
  },

  async read(ctx): Promise<Stored | null> {
    return { state: toState(await ctx.client.getTenantSettings()) };
  },

  async update(ctx, _prior, planned): Promise<Stored> {
    return { state: toState(await ctx.client.putTenantSettings({ oauth_enabled: planned.oauth_enabled as boolean })) };
  },

  async delete(): Promise<void> {
    // Destroy leaves the tenant as it is: switching OAuth off would break every app in it.
  },

  async importState(ctx, id): Promise<Stored> {
    const settings = await ctx.client.getTenantSettings();
    if (settings.tenant_id !== id) {
      throw new DiagnosticError([{ severity: 'error', summary: 'Invalid import id', detail: `The token belongs to tenant ${settings.tenant_id}; import that id (got ${JSON.stringify(id)}).` }]);
    }
    return { state: toState(settings) };
  },
};
