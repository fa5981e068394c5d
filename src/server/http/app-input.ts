/**
 * Validation of app bodies: the JSON shape (schemas.ts) and the product rules
 * (src/rules), merged into one list so a user sees every problem at once.
 * Rules run on every field whose type is right, even when other fields are
 * broken.
 */
import {
  type GrantType,
  checkAppShape,
  checkCallbackUrls,
  checkDescription,
  checkName,
} from '../../rules';
import type { CreateAppField, UpdatableAppField } from '../../schema/definitions';
import type { App, Tenant } from '../model';
import { fieldErrorOf, type FieldError } from './problem';
import { CreateAppBody, IMMUTABLE_APP_FIELDS, PatchAppBody } from './schemas';
import { requireObjectBody, schemaErrors, throwIfInvalid } from './validation';

/** A validated registration: the caller's fields of an app, every one present. */
export type CreateInput = Pick<App, CreateAppField>;

/** A validated change: only the fields the caller sent. */
export type PatchInput = Partial<Pick<App, UpdatableAppField>>;

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Rule checks of the fields common to create and patch, on whatever is well typed. */
function fieldRules(body: Record<string, unknown>): FieldError[] {
  const out: FieldError[] = [];
  if (typeof body.name === 'string') {
    const m = checkName(body.name);
    if (m) out.push({ path: 'name', message: m });
  }
  if (typeof body.description === 'string') {
    const m = checkDescription(body.description);
    if (m) out.push({ path: 'description', message: m });
  }
  const urls = body.callback_urls;
  if (isStringArray(urls)) {
    out.push(...checkCallbackUrls(urls).map(fieldErrorOf));
  } else if (Array.isArray(urls)) {
    // Some elements have the wrong type (the schema reports those). Check the
    // rest in place: stand-ins that pass every rule keep indexes and count right.
    const standIn = (i: number) => `https://stand-in.invalid/${i}`;
    const wrong = new Set(urls.flatMap((u, i) => (typeof u === 'string' ? [] : [`callback_urls[${i}]`])));
    out.push(...checkCallbackUrls(urls.map((u, i) => (typeof u === 'string' ? u : standIn(i)))).map(fieldErrorOf).filter((e) => !wrong.has(e.path)));
  }
  return out;
}

/**
 * Validates a registration body for `tenant`, applying the defaults of the
 * contract, or throws one 422 listing every problem.
 */
export function validateCreate(raw: unknown, tenant: Tenant): CreateInput {
  const body = requireObjectBody(raw, 'an app with name, callback_urls and scope');
  const errors = [...schemaErrors(CreateAppBody, body), ...fieldRules(body)];
  const publicClient = typeof body.public_client === 'boolean' ? body.public_client : false;
  // A public client cannot keep a secret, so PKCE is its default (and its only allowed value).
  const requirePkce = typeof body.require_pkce === 'boolean' ? body.require_pkce : publicClient;
  const grantTypes = isStringArray(body.grant_types) ? body.grant_types : ['authorization_code'];
  errors.push(...checkAppShape({ public_client: publicClient, require_pkce: requirePkce, grant_types: grantTypes }, !tenant.sso_enabled).map(fieldErrorOf));
  throwIfInvalid(errors, Object.keys(CreateAppBody.shape));
  const b = CreateAppBody.parse(body);
  return {
    name: b.name,
    description: b.description ?? null,
    callback_urls: b.callback_urls,
    scope: b.scope,
    grant_types: grantTypes as GrantType[],
    public_client: publicClient,
    require_pkce: requirePkce,
    enabled: b.enabled ?? true,
  };
}

/**
 * Validates a change to `app` for `tenant`, or throws one 422 listing every
 * problem. Fields fixed at registration are named with the reason.
 */
export function validatePatch(raw: unknown, app: App, tenant: Tenant): PatchInput {
  const body = requireObjectBody(raw, 'any of name, description, callback_urls, grant_types, require_pkce, enabled');
  const errors: FieldError[] = [];
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if ((IMMUTABLE_APP_FIELDS as readonly string[]).includes(k)) {
      errors.push({ path: k, message: 'cannot be changed; create a new registration' });
    } else {
      rest[k] = v;
    }
  }
  errors.push(...schemaErrors(PatchAppBody, rest), ...fieldRules(rest));
  const merged = {
    public_client: app.public_client,
    require_pkce: typeof rest.require_pkce === 'boolean' ? rest.require_pkce : app.require_pkce,
    grant_types: isStringArray(rest.grant_types) ? rest.grant_types : app.grant_types,
  };
  // The device-grant rule looks only at a grant list being sent: an app that
  // got the device grant before the tenant turned SSO on stays editable.
  const deviceAllowed = isStringArray(rest.grant_types) ? !tenant.sso_enabled : undefined;
  errors.push(...checkAppShape(merged, deviceAllowed).map(fieldErrorOf));
  throwIfInvalid(errors, [...Object.keys(PatchAppBody.shape), ...IMMUTABLE_APP_FIELDS]);
  const b = PatchAppBody.parse(rest);
  const out: PatchInput = {};
  if (b.name !== undefined) out.name = b.name;
  if (b.description !== undefined) out.description = b.description;
  if (b.callback_urls !== undefined) out.callback_urls = b.callback_urls;
  if (b.grant_types !== undefined) out.grant_types = b.grant_types as GrantType[];
  if (b.require_pkce !== undefined) out.require_pkce = b.require_pkce;
  if (b.enabled !== undefined) out.enabled = b.enabled;
  return out;
}

/** True when applying `patch` to `app` changes nothing (a no-op PATCH bumps no version). */
export function patchIsNoop(app: App, patch: PatchInput): boolean {
  return Object.entries(patch).every(([k, v]) => JSON.stringify(app[k as keyof App]) === JSON.stringify(v));
}
