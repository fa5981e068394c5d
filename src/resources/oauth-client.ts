/**
 * `appreg_oauth_client`: an OAuth 2.0 app registration. In order: schema,
 * plan, create, read, update, delete, import.
 */
import type { App, Consent, CreateAppInput, CreatedApp, UpdateAppInput } from '../client';
import { ConflictError, isNotFound } from '../client/errors';
import { oauthClient, UPDATABLE_APP_FIELDS, type AttributeSpec, type UpdatableAppField } from '../schema';
import { validateDeviceGrant, validateOauthClientConfig } from './validate';
import { isUnknown, Unknown, type Diagnostic } from '../tfplugin/types';
import { intentKey } from './intent';
import { OAUTH_OFF_ADVICE, oauthOffAtCreate } from './tenant';
import { DiagnosticError, defineResource, valuesEqual, type ConfigModel, type PrivateData, type State, type StateModel, type Stored } from '../framework';
import type { ResourceContext } from './resource';

type Spec = typeof oauthClient;
type Model = StateModel<Spec>;

const TRIGGERS_TYPE = oauthClient.attributes.rotation_triggers.type;

/** What only Terraform's state knows about an app: the service never returns these. */
interface StateOnly {
  client_secret: Model['client_secret'] | Unknown;
  rotation_triggers: Model['rotation_triggers'] | Unknown;
  /** The configured description, so that null and "" do not flap against the service's empty text. */
  description: Model['description'] | Unknown;
}

/** A value only state knows, known by the time it is stored: an unknown would be a bug. */
function known<T>(v: T | Unknown): T | null {
  return isUnknown(v) ? null : v;
}

function toState(app: App, keep: StateOnly): Model {
  const description = app.description ?? '';
  return {
    id: app.id,
    group_id: app.group_id,
    name: app.name,
    description: description === '' && keep.description !== '' ? null : description,
    callback_urls: [...app.callback_urls],
    scope: app.scope,
    grant_types: [...app.grant_types],
    public_client: app.public_client,
    require_pkce: app.require_pkce,
    enabled: app.enabled,
    rotation_triggers: known(keep.rotation_triggers),
    client_id: app.client_id,
    client_secret: app.public_client ? null : known(keep.client_secret),
    secret_version: app.secret_version,
    created_at: app.created_at,
  };
}

/** Puts one changed field into a PATCH body. */
function setField<K extends UpdatableAppField>(patch: UpdateAppInput, field: K, value: UpdateAppInput[K]): void {
  patch[field] = value;
}

/** The resource. */
export const oauthClientResource = defineResource<Spec, ResourceContext>({
  spec: oauthClient,
  noun: 'the OAuth client',

  validate(config) {
    return validateOauthClientConfig(config);
  },

  async modifyPlan(ctx, { prior, planned, config, replacing }): Promise<Diagnostic[]> {
    const out: Diagnostic[] = [];
    // require_pkce follows public_client unless set: a public client always uses PKCE.
    if (config.require_pkce === null) planned.require_pkce = planned.public_client ?? false;
    if (planned.public_client === true) planned.client_secret = null;

    if (prior !== null && replacing && ctx) {
      out.push(...(await consentsBrokenByReplacement(ctx, prior, planned)));
    }
    if (prior !== null && replacing) {
      out.push({
        severity: 'warning',
        summary: 'The app registration will be replaced',
        detail: `${replacedBecause(prior, planned)} cannot change in place, so a new registration is made: it gets a new client id and, for a confidential client, a new client secret. Consents of other groups and everything that uses the client id or secret are replaced or updated with it.`,
      });
    } else if (prior !== null && !valuesEqual(TRIGGERS_TYPE, config.rotation_triggers, prior.rotation_triggers)) {
      if (planned.public_client === false) {
        planned.client_secret = Unknown.value;
        planned.secret_version = Unknown.value;
      } else if (planned.public_client === true) {
        out.push({ severity: 'warning', summary: 'Public clients have no secret', detail: 'rotation_triggers changed, but a public client has no client secret to rotate; nothing is rotated.', attribute: ['rotation_triggers'] });
      }
    }

    // A new registration (a create, or the new half of a replacement) needs OAuth on for the tenant.
    if (ctx && (prior === null || replacing)) out.push(...(await oauthOffAtCreate(ctx.tenant)));

    const grants = planned.grant_types;
    if (ctx && Array.isArray(grants) && grants.includes('device_code')) {
      // A token that may not read the settings leaves this check to the service at apply.
      const settings = await ctx.tenant.settingsIfReadable();
      if (settings) {
        out.push(...validateDeviceGrant(config, settings.device_grant_allowed));
      }
    }
    return out;
  },

  async create(ctx, planned): Promise<Stored<Model>> {
    const groupId = planned.group_id;
    // Sets sorted, fields in one order: the same plan gives the same body, and so the same key.
    const input: CreateAppInput = {
      name: planned.name,
      callback_urls: [...planned.callback_urls].sort(),
      scope: planned.scope,
      grant_types: [...planned.grant_types].sort(),
      public_client: planned.public_client,
      require_pkce: planned.require_pkce,
      enabled: planned.enabled,
      ...(typeof planned.description === 'string' ? { description: planned.description } : {}),
    };
    // A create lost to a crash is adopted by the next apply: same intent, same key, the service replays.
    let app: CreatedApp;
    try {
      app = await ctx.client.createApp(groupId, input, { idempotencyKey: intentKey('create', { group_id: groupId, input }) });
    } catch (e) {
      if (e instanceof ConflictError && (await oauthIsOff(ctx, e))) throw oauthOffAtApply(e);
      throw e;
    }
    return {
      state: toState(app, { client_secret: app.client_secret ?? null, rotation_triggers: planned.rotation_triggers ?? null, description: planned.description ?? null }),
      private: { version: app.version },
    };
  },

  async read(ctx, current, _priv: PrivateData): Promise<Stored<Model> | null> {
    // From the snapshot of the app's group (one list walk for all the clients of a group);
    // an app missing from it is confirmed with a GET before it is reported gone.
    const app = await ctx.snapshot.app(current.group_id, current.id);
    if (app === null) return null;
    // A secret rotated outside Terraform makes the one in state useless: drop it, so the
    // plan shows it and a change to rotation_triggers issues one Terraform knows again.
    const rotatedElsewhere = typeof current.secret_version === 'number' && current.secret_version !== app.secret_version;
    return {
      state: toState(app, {
        client_secret: rotatedElsewhere ? null : current.client_secret ?? null,
        rotation_triggers: current.rotation_triggers ?? null,
        description: current.description ?? null,
      }),
      private: { version: app.version },
    };
  },

  async update(ctx, prior, planned, priv): Promise<Stored<Model>> {
    const id = prior.id;
    const patch: UpdateAppInput = {};
    for (const field of UPDATABLE_APP_FIELDS) {
      const type = oauthClient.attributes[field].type;
      if (!valuesEqual(type, prior[field], planned[field])) {
        // Removing the description clears it in the service.
        setField(patch, field, field === 'description' && planned.description === null ? '' : planned[field]);
      }
    }
    let app: App | undefined;
    ctx.snapshot.touchedApp(id);
    if (Object.keys(patch).length > 0) {
      app = await ctx.client.updateApp(id, patch, { ifMatch: priv.version });
    }
    let secret = prior.client_secret ?? null;
    if (isUnknown(planned.client_secret)) {
      // The key is the app and the triggers it rotates for: after a crash the next apply plans the
      // same rotation and gets the same secret back, as long as nobody rotated it since. The answer
      // holds the whole app, so no follow-up read can fail and lose the new secret.
      const rotated = await ctx.client.rotateSecret(id, {
        idempotencyKey: intentKey('rotate', { app_id: id, rotation_triggers: planned.rotation_triggers ?? null }),
      });
      secret = rotated.client_secret;
      app = rotated;
    }
    app ??= await ctx.client.getApp(id);
    return {
      state: toState(app, { client_secret: secret, rotation_triggers: planned.rotation_triggers ?? null, description: planned.description ?? null }),
      private: { version: app.version },
    };
  },

  async delete(ctx, prior): Promise<void> {
    ctx.snapshot.touchedApp(prior.id);
    try {
      await ctx.client.deleteApp(prior.id);
    } catch (e) {
      if (!isNotFound(e)) throw e; // already gone is what destroy wants
    }
  },

  async importState(ctx, id): Promise<Stored<Model>> {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) {
      throw new DiagnosticError([{ severity: 'error', summary: 'Invalid import id', detail: `Expected the app id (app_…), got ${JSON.stringify(id)}.` }]);
    }
    const app = await ctx.client.getApp(id);
    // An imported app has no secret in state until it is rotated (change rotation_triggers).
    return { state: toState(app, { client_secret: null, rotation_triggers: null, description: app.description ? app.description : null }), private: { version: app.version } };
  },
});

/**
 * Whether a 409 from registering means OAuth is off (the other 409 is a
 * taken name). The settings say it best; a token that may not read them
 * leaves the service's own words, which start the same way for this case.
 */
async function oauthIsOff(ctx: ResourceContext, e: ConflictError): Promise<boolean> {
  try {
    const settings = await ctx.client.getTenantSettings();
    ctx.tenant.remember(settings);
    return !settings.oauth_enabled;
  } catch {
    return /^OAuth is (switched )?off\b/i.test(e.problem.detail);
  }
}

/** The service's 409 for OAuth off, in the words the plan-time check uses, with the call kept for reference. */
function oauthOffAtApply(e: ConflictError): DiagnosticError {
  return new DiagnosticError([{
    severity: 'error',
    summary: 'Could not create the OAuth client',
    detail: `OAuth is off for this tenant, so the registration service refused to register the client. ${OAUTH_OFF_ADVICE}\n\n${e.exchange}`,
  }]);
}

/**
 * Consents that a replacement would leave pointing at an app they cannot
 * point at: a new group-scoped app takes no consents at all, and an app
 * moved to another group takes none from that group. Terraform would delete
 * the old app (and its consents with it) before it found out, so this is an
 * error at plan, naming the consents, before anything is deleted.
 */
async function consentsBrokenByReplacement(ctx: ResourceContext, prior: Model, planned: ConfigModel<Spec>): Promise<Diagnostic[]> {
  const toGroupScope = planned.scope === 'group';
  const newOwner = typeof planned.group_id === 'string' && planned.group_id !== prior.group_id ? planned.group_id : undefined;
  if (!toGroupScope && newOwner === undefined) return [];
  const consents: Consent[] = [];
  for await (const c of ctx.client.iterateConsents({ app_id: prior.id })) consents.push(c);
  const broken = toGroupScope ? consents : consents.filter((c) => c.group_id === newOwner);
  if (broken.length === 0) return [];
  const ids = broken.map((c) => c.id).join(', ');
  const why = toGroupScope
    ? `Changing scope to "group" replaces app ${prior.id} with a group-scoped app, which other groups cannot consent to`
    : `Moving the app to group ${newOwner} replaces app ${prior.id} with an app of that group, which cannot consent to its own app`;
  return [{
    severity: 'error',
    summary: 'Replacement would break consents',
    detail:
      `${why}. ${broken.length === 1 ? 'This consent' : `These ${broken.length} consents`} (appreg_app_consent import ids) would be deleted ` +
      `with the old app and could not be made again: ${ids}. Remove ${broken.length === 1 ? 'it' : 'them'} first (delete the ` +
      'appreg_app_consent resources, or withdraw them in the service) and apply that; then make this change.' +
      (toGroupScope ? ' Or keep scope "organization".' : ''),
    attribute: [toGroupScope ? 'scope' : 'group_id'],
  }];
}

function replacedBecause(prior: Model, planned: ConfigModel<Spec>): string {
  const before: State = prior;
  const after: State = planned;
  const changed = Object.entries<AttributeSpec>(oauthClient.attributes)
    .filter(([name, a]) => a.requiresReplace && !valuesEqual(a.type, before[name], after[name]))
    .map(([name]) => name);
  return changed.length === 1 ? `${changed[0]}` : changed.join(', ');
}
