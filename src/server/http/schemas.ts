/**
 * The one description of every request and response body and query string.
 *
 * Inputs are zod schemas: handlers parse with them (after authorization, so
 * a 422 never tells an outsider anything), and `openapi.json` is generated
 * from the same schemas. Outputs are zod schemas too; their JSON Schema
 * drives Fastify's response serialization, which also drops any field not
 * listed, a second guard against a secret leaking into a response.
 */
import { z } from 'zod';
import { GRANT_TYPES, ROLES, SCOPES } from '../../rules';
import { CREATE_APP_FIELDS, oauthClient, UPDATABLE_APP_FIELDS, type CreateAppField } from '../../schema/definitions';
import type { AttributeSpec, TypeSpec } from '../../schema/model';

/** Most items one page may hold. */
export const MAX_PAGE_LIMIT = 200;
/** Page size when `limit` is not given. */
export const DEFAULT_PAGE_LIMIT = 50;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A string that both databases can store unchanged: PostgreSQL rejects NUL
 * and both would silently replace unpaired surrogates.
 */
const text = () =>
  z.string().refine((s) => !s.includes('\u0000') && !LONE_SURROGATE.test(s), {
    message: 'must not contain NUL characters or unpaired UTF-16 surrogates',
  });

const timestamp = () => z.string().meta({ format: 'date-time', description: 'RFC 3339 UTC timestamp' });

// ---- request bodies ---------------------------------------------------------

/** Fields that PATCH refuses by name because they are fixed at registration. */
export const IMMUTABLE_APP_FIELDS = ['scope', 'public_client', 'group_id'] as const;

/**
 * The zod type of an attribute's value in a request body: booleans, strings
 * (one of `values` where the attribute lists them), lists of strings; null
 * where an optional attribute may be cleared.
 */
type BodyField<A> =
  A extends { readonly type: 'bool' } ? z.ZodBoolean
    : A extends { readonly type: 'string'; readonly values: infer V extends readonly string[] } ? z.ZodEnum<{ [E in V[number]]: E }>
    : A extends { readonly type: readonly ['set' | 'list', 'string'] } ? z.ZodArray<z.ZodString>
      : A extends { readonly optional: true; readonly computed: true } ? z.ZodString
        : A extends { readonly optional: true } ? z.ZodNullable<z.ZodString>
          : z.ZodString;

function bodyField(a: AttributeSpec): z.ZodType {
  if (a.type === 'bool') return z.boolean();
  if (Array.isArray(a.type) && (a.type[0] === 'set' || a.type[0] === 'list') && a.type[1] === 'string') return z.array(text());
  if (a.type !== 'string') throw new Error(`bug: no request body type for ${JSON.stringify(a.type)}`);
  // Only a single string is narrowed to its values: a set's elements are checked by the service's own rules, with their own messages.
  if (a.values !== undefined) return z.enum(a.values as readonly [string, ...string[]]);
  return a.optional && !a.computed ? text().nullable() : text();
}

/**
 * The shape of an update body: each named field of `spec` optional, typed
 * from its attribute. The fields come from the schema, so the service and the
 * provider agree on what an update may change.
 */
function updateShape<const S extends TypeSpec, K extends keyof S['attributes'] & string>(
  spec: S,
  fields: readonly K[],
): { [P in K]: z.ZodOptional<BodyField<S['attributes'][P]>> } {
  const shape = Object.fromEntries(fields.map((f) => [f, bodyField(spec.attributes[f]!).optional()]));
  // bodyField builds, field by field, the zod type BodyField names.
  return shape as { [P in K]: z.ZodOptional<BodyField<S['attributes'][P]>> };
}

/**
 * The shape of a create body: each named field of `spec`, optional unless its
 * attribute is required, typed from its attribute and described for the API
 * reference by `descriptions`.
 */
function createShape<const S extends TypeSpec, K extends keyof S['attributes'] & string>(
  spec: S,
  fields: readonly K[],
  descriptions: { readonly [P in K]?: string },
): { [P in K]: S['attributes'][P] extends { readonly required: true } ? BodyField<S['attributes'][P]> : z.ZodOptional<BodyField<S['attributes'][P]>> } {
  const shape = Object.fromEntries(fields.map((f) => {
    const a = spec.attributes[f]!;
    const field = a.required === true ? bodyField(a) : bodyField(a).optional();
    // Described last, on the optional wrapper where there is one: that is where the hand-written body put it,
    // and it decides the key order of the published JSON schema (docs/api.md is generated from it).
    const description = descriptions[f];
    return [f, description === undefined ? field : field.describe(description)];
  }));
  // bodyField builds, field by field, the zod type BodyField names; optional() wraps the ones not required.
  return shape as { [P in K]: S['attributes'][P] extends { readonly required: true } ? BodyField<S['attributes'][P]> : z.ZodOptional<BodyField<S['attributes'][P]>> };
}

/**
 * How the API reference describes the create body's fields. These are the
 * service's words (defaults as the service applies them, the URL rule as it
 * stores URLs), not the Terraform attribute descriptions, and the published
 * API must not change with the provider's docs, so they are kept here.
 */
const CREATE_APP_DESCRIPTIONS: { readonly [F in CreateAppField]?: string } = {
  name: 'letters, digits, "?" and "!", single spaces between words; unique in the group',
  callback_urls: '1 to 60 unique URLs, stored exactly as sent: https:// (http:// only for localhost, 127.0.0.1, [::1]), a DNS, IPv4 or [IPv6] host, optional port, ASCII only; no user info, fragment, backslash, whitespace or control characters',
  scope: 'fixed at registration',
  grant_types: `default ["authorization_code"]; one or more of ${GRANT_TYPES.join(', ')}`,
  public_client: 'default false; fixed at registration',
  require_pkce: 'default true for public clients (which must use PKCE), false otherwise',
  enabled: 'default true',
};

/** POST /v1/groups/{group_id}/apps: the create fields of the app schema (the group is in the path). */
export const CreateAppBody = z.strictObject(createShape(oauthClient, CREATE_APP_FIELDS, CREATE_APP_DESCRIPTIONS));

/** PATCH /v1/apps/{id}: the updatable fields of the app schema (scope, public_client and group_id are refused with their own message). */
export const PatchAppBody = z.strictObject(updateShape(oauthClient, UPDATABLE_APP_FIELDS));

/** Fields of the settings document that PUT refuses by name because they are read-only. */
export const READ_ONLY_SETTINGS_FIELDS = ['tenant_id', 'sso_enabled', 'device_grant_allowed'] as const;

/** PUT /v1/tenant/oauth-settings */
export const PutSettingsBody = z.strictObject({ oauth_enabled: z.boolean() });

/** Bodies of POST rotate-secret and PUT consent: nothing, or an empty object. */
export const EmptyBody = z.strictObject({});

// ---- query strings ------------------------------------------------------------

const limit = z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).optional()
  .describe(`page size, 1 to ${MAX_PAGE_LIMIT}, default ${DEFAULT_PAGE_LIMIT}`);
const cursor = text().optional().describe('next_cursor of the previous page');

/** GET /v1/groups */
export const GroupsQuery = z.strictObject({ name: text().optional(), limit, cursor });
/** GET /v1/apps */
export const AppsQuery = z.strictObject({
  group_id: text().optional(),
  scope: z.enum(SCOPES).optional(),
  name: text().optional(),
  limit,
  cursor,
});
/** GET /v1/browse */
export const BrowseQuery = z.strictObject({
  group_id: text().optional().describe('the browsing group; default the group of a group_admin token'),
  name: text().optional(),
  limit,
  cursor,
});
/** GET /v1/consents */
export const ConsentsQuery = z.strictObject({ group_id: text().optional(), app_id: text().optional(), limit, cursor });
/** GET /v1/audit */
export const AuditQuery = z.strictObject({ limit, cursor });

// ---- responses --------------------------------------------------------------

/** An app, exactly the fields of DOMAIN.md. */
export const AppOut = z.object({
  id: z.string(),
  client_id: z.string(),
  group_id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  callback_urls: z.array(z.string()),
  scope: z.enum(SCOPES),
  grant_types: z.array(z.enum(GRANT_TYPES)),
  public_client: z.boolean(),
  require_pkce: z.boolean(),
  enabled: z.boolean(),
  secret_version: z.int().describe('0 for public clients, which have no secret'),
  created_at: timestamp(),
  updated_at: timestamp(),
  version: z.int().describe('incremented on every change; the ETag is this number in quotes'),
});

/** The answer to a registration: the app and, for confidential clients only, the secret, shown this once. */
export const AppCreatedOut = AppOut.extend({ client_secret: z.string().optional() });

/** The answer to rotate-secret. */
export const RotateOut = AppOut.extend({ client_secret: z.string() });

/** A browse list entry: an organization-scoped app of another group. */
export const BrowseItemOut = AppOut.extend({ consented: z.boolean() });

/** A group. */
export const GroupOut = z.object({ id: z.string(), name: z.string() });

/** A consent. */
export const ConsentOut = z.object({
  id: z.string().describe('<group_id>/<app_id>'),
  group_id: z.string(),
  app_id: z.string(),
  created_at: timestamp(),
});

/** Tenant OAuth settings. */
export const SettingsOut = z.object({
  tenant_id: z.string(),
  oauth_enabled: z.boolean(),
  sso_enabled: z.boolean(),
  device_grant_allowed: z.boolean(),
});

/** An audit event. */
export const AuditOut = z.object({
  id: z.string(),
  at: timestamp(),
  // One object with every actor type's fields, optional, rather than a union: the response
  // serializer keeps exactly the listed fields, and a field missing here would be dropped silently.
  actor: z.object({
    type: z.enum(['token', 'person', 'sign-in', 'operator']),
    token_id: z.string().optional().describe('token: the token\'s id, never its value'),
    role: z.enum(ROLES).optional().describe('token: its role'),
    group_id: z.string().nullable().optional().describe('token: the group of a group_admin token'),
    user_id: z.string().optional().describe('person: who, through an app they signed in to'),
    username: z.string().optional().describe('person: their username'),
    client_id: z.string().optional().describe('person: the client id of the app their access token was issued to; sign-in: of the app signed in to'),
    command: z.string().optional().describe('operator: the appreg admin command'),
  }),
  action: z.string(),
  target_type: z.string(),
  target_id: z.string(),
  before: z.unknown().describe('the object before the change (null for creations); never a secret'),
  after: z.unknown().describe('the object after the change (null for deletions); never a secret'),
});

/** GET /v1/me: the person an access token was issued for, and their groups. */
export const MeOut = z.object({
  user_id: z.string(),
  username: z.string(),
  tenant_id: z.string(),
  groups: z.array(z.object({
    id: z.string(),
    name: z.string(),
    role: z.enum(['admin', 'member']).describe('admin: group_admin rights in the group; member: read-only'),
  })).describe('in the order the groups were created'),
});

/** A page of a list. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    next_cursor: z.string().nullable().describe('pass as cursor= for the next page; null on the last page'),
  });
}

/** A problem document (RFC 9457). */
export const ProblemOut = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** GET /healthz */
export const HealthOut = z.object({ status: z.literal('ok') });

/** JSON Schema of a zod schema, for Fastify routes and openapi.json. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}
