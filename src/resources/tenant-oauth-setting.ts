/**
 * `appreg_tenant_oauth_setting`: the tenant's OAuth switch. There is exactly
 * one per tenant, so create adopts it and destroy leaves it as it is.
 */
import type { TenantSettings } from '../client';
import { DiagnosticError, defineResource, type PlannedModel, type StateModel, type Stored } from '../framework';
import { tenantOauthSetting } from '../schema';
import { isUnknown } from '../tfplugin/types';
import type { ResourceContext } from './resource';

type Model = StateModel<typeof tenantOauthSetting>;

function toState(s: TenantSettings): Model {
  return { id: s.tenant_id, oauth_enabled: s.oauth_enabled, sso_enabled: s.sso_enabled, device_grant_allowed: s.device_grant_allowed };
}

/** Sets the switch, and tells the rest of this process (clients planned at apply) the new settings. */
async function put(ctx: ResourceContext, planned: PlannedModel<typeof tenantOauthSetting>): Promise<TenantSettings> {
  const settings = await ctx.client.putTenantSettings({ oauth_enabled: planned.oauth_enabled });
  ctx.tenant.remember(settings);
  return settings;
}

/** The resource. */
export const tenantOauthSettingResource = defineResource<typeof tenantOauthSetting, ResourceContext>({
  spec: tenantOauthSetting,
  noun: 'the tenant OAuth setting',

  async modifyPlan(ctx, { planned }) {
    // Clients planned after this one (they depend on it) may be created on a tenant whose OAuth
    // is still off: this run turns it on first. Unknown until apply counts as "may turn it on".
    if (ctx && (planned.oauth_enabled === true || isUnknown(planned.oauth_enabled))) ctx.tenant.notePlannedOauthOn();
    return [];
  },

  async create(ctx, planned): Promise<Stored<Model>> {
    return { state: toState(await put(ctx, planned)) };
  },

  async read(ctx): Promise<Stored<Model> | null> {
    const settings = await ctx.client.getTenantSettings();
    // Fresh from the refresh before the plan: the clients' plan-time checks may use it.
    ctx.tenant.remember(settings);
    return { state: toState(settings) };
  },

  async update(ctx, _prior, planned): Promise<Stored<Model>> {
    return { state: toState(await put(ctx, planned)) };
  },

  async delete(): Promise<void> {
    // Destroy leaves the tenant as it is: switching OAuth off would break every app in it.
  },

  async importState(ctx, id): Promise<Stored<Model>> {
    const settings = await ctx.client.getTenantSettings();
    if (settings.tenant_id !== id) {
      throw new DiagnosticError([{ severity: 'error', summary: 'Invalid import id', detail: `The token belongs to tenant ${settings.tenant_id}; import that id (got ${JSON.stringify(id)}).` }]);
    }
    return { state: toState(settings) };
  },
});
