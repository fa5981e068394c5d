/**
 * `appreg_app_consent`: a group's consent to another group's
 * organization-scoped app. Both ids force replacement, so there is no update.
 */
import type { Consent } from '../client';
import { isNotFound } from '../client/errors';
import { DiagnosticError, defineResource, type StateModel, type Stored } from '../framework';
import { appConsent } from '../schema';
import { consentTargetDiagnostics, validateAppConsentConfig } from './validate';
import type { ResourceContext } from './resource';

type Model = StateModel<typeof appConsent>;

function toState(c: Consent): Model {
  return { id: `${c.group_id}/${c.app_id}`, group_id: c.group_id, app_id: c.app_id, created_at: c.created_at };
}

/** The resource. */
export const appConsentResource = defineResource<typeof appConsent, ResourceContext>({
  spec: appConsent,
  noun: 'the app consent',

  validate(config) {
    return validateAppConsentConfig(config);
  },

  async modifyPlan(ctx, { prior, planned }) {
    // Both ids force replacement, so a consent planned in place targets the app it was made for:
    // an organization app of another group when it was made (scope and owner never change), and
    // still there, or the refresh before this plan would have found the consent gone.
    if (prior !== null && prior.app_id === planned.app_id && prior.group_id === planned.group_id) return [];
    if (!ctx || typeof planned.app_id !== 'string' || typeof planned.group_id !== 'string') return [];
    // Checked before anything changes: the app must be an organization-scoped app of another group.
    let app: { id: string; scope: string; group_id: string } | null;
    try {
      app = await ctx.client.getApp(planned.app_id);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      app = null;
    }
    return consentTargetDiagnostics(planned, app);
  },

  async create(ctx, planned): Promise<Stored<Model>> {
    ctx.snapshot.touchedConsent(planned.group_id, planned.app_id);
    const { consent } = await ctx.client.putConsent(planned.group_id, planned.app_id);
    return { state: toState(consent) };
  },

  async read(ctx, current): Promise<Stored<Model> | null> {
    // From the snapshot of the group's consents; null when withdrawn by hand, or its app was deleted.
    const consent = await ctx.snapshot.consent(current.group_id, current.app_id);
    return consent === null ? null : { state: toState(consent) };
  },

  async delete(ctx, prior): Promise<void> {
    ctx.snapshot.touchedConsent(prior.group_id, prior.app_id);
    try {
      await ctx.client.deleteConsent(prior.group_id, prior.app_id);
    } catch (e) {
      // Deleting an app deletes its consents, so after a replaced app the consent may be gone already.
      if (!isNotFound(e)) throw e;
    }
  },

  async importState(ctx, id): Promise<Stored<Model>> {
    const parts = id.split('/');
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new DiagnosticError([{ severity: 'error', summary: 'Invalid import id', detail: `Expected <group_id>/<app_id>, e.g. grp_…/app_…; got ${JSON.stringify(id)}.` }]);
    }
    return { state: toState(await ctx.client.getConsent(parts[0], parts[1])) };
  },
});
