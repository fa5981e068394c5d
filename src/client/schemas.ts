/**
 * The shapes the registration service answers with, as zod schemas.
 *
 * Every response the client returns has been parsed by one of these, so the
 * provider and the CLI can trust the types below instead of the wire. Objects
 * are not strict: a newer service may add fields, and an older client must
 * keep working (unknown fields are dropped by the parse).
 */
import { z } from 'zod';
import { GRANT_TYPES, ROLES, SCOPES } from '../rules';

/** A timestamp as the service writes it (RFC 3339, e.g. `2025-01-31T12:00:00.000Z`). */
const Timestamp = z.iso.datetime({ offset: true });

/** An app registration, as every route except create and rotate returns it (never a secret). */
export const AppSchema = z.object({
  id: z.string().min(1),
  client_id: z.string().min(1),
  group_id: z.string().min(1),
  name: z.string(),
  description: z.string().nullable(),
  callback_urls: z.array(z.string()),
  scope: z.enum(SCOPES),
  grant_types: z.array(z.enum(GRANT_TYPES)),
  public_client: z.boolean(),
  require_pkce: z.boolean(),
  enabled: z.boolean(),
  secret_version: z.int().nonnegative(),
  created_at: Timestamp,
  updated_at: Timestamp,
  version: z.int().nonnegative(),
});
/** An app registration (never a secret). */
export type App = z.infer<typeof AppSchema>;

/**
 * The answer to a create: the app and, for a confidential client only, its
 * secret. The service shows the secret this once.
 */
export const CreatedAppSchema = AppSchema.extend({
  client_secret: z.string().min(1).nullable().optional(),
}).transform(({ client_secret, ...app }) => ({ ...app, client_secret: client_secret ?? null }));
/** A created app: {@link App} plus `client_secret` (null for a public client, for which the service sends none). */
export type CreatedApp = z.output<typeof CreatedAppSchema>;

/**
 * The answer to a secret rotation: the app after it (new `secret_version`
 * and `version`) and the new secret, shown once.
 */
export const RotatedSecretSchema = AppSchema.extend({
  client_secret: z.string().min(1),
});
/** A rotated secret. */
export type RotatedSecret = z.infer<typeof RotatedSecretSchema>;

/** A group's consent to use an organization-scoped app of another group. */
export const ConsentSchema = z.object({
  /** `<group_id>/<app_id>`, which is also the Terraform import id. */
  id: z.string().min(1),
  group_id: z.string().min(1),
  app_id: z.string().min(1),
  created_at: Timestamp,
});
/** A consent. */
export type Consent = z.infer<typeof ConsentSchema>;

/** A group the caller may see. */
export const GroupSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
});
/** A group. */
export type Group = z.infer<typeof GroupSchema>;

/** The OAuth settings of the caller's tenant. */
export const TenantSettingsSchema = z.object({
  tenant_id: z.string().min(1),
  oauth_enabled: z.boolean(),
  sso_enabled: z.boolean(),
  device_grant_allowed: z.boolean(),
});
/** Tenant OAuth settings. */
export type TenantSettings = z.infer<typeof TenantSettingsSchema>;

/** An organization-scoped app of another group, as a group's browse list shows it. */
export const BrowseItemSchema = AppSchema.extend({
  /** True when the browsing group has added consent to this app. */
  consented: z.boolean(),
});
/** A browse list entry. */
export type BrowseItem = z.infer<typeof BrowseItemSchema>;

/** Who made an audited change: a token (by id, never its value), or an operator command. */
export const AuditActorSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('token'),
    token_id: z.string(),
    role: z.enum(ROLES),
    /** The group of a `group_admin` token; null for the other roles. */
    group_id: z.string().nullable(),
  }),
  z.object({
    type: z.literal('person'),
    /** A person (`usr_…`) acting through an app they signed in to. */
    user_id: z.string(),
    username: z.string().optional(),
    /** The client id of that app. */
    client_id: z.string(),
  }),
  z.object({
    type: z.literal('sign-in'),
    /** A sign-in to this app (client id) by someone not known as a person (an unknown username). */
    client_id: z.string(),
  }),
  z.object({
    type: z.literal('operator'),
    /** The `appreg admin ...` command. */
    command: z.string(),
  }),
]);
/** The actor of an audit event. */
export type AuditActor = z.infer<typeof AuditActorSchema>;

/** One entry of the audit log: who changed what, when, before and after (never a secret). */
export const AuditEventSchema = z.object({
  id: z.string().min(1),
  at: Timestamp,
  actor: AuditActorSchema,
  action: z.string(),
  /** The kind of object changed (`app`, `consent`, `tenant`, ...). */
  target_type: z.string(),
  target_id: z.string(),
  /** The object before the change; null for a creation. */
  before: z.unknown(),
  /** The object after the change; null for a deletion. */
  after: z.unknown(),
});
/** An audit event. */
export type AuditEvent = z.infer<typeof AuditEventSchema>;

/** The answer of `GET /healthz`. */
export const HealthSchema = z.object({ status: z.literal('ok') });
/** Service health. */
export type Health = z.infer<typeof HealthSchema>;

/** The envelope of every list route. `next_cursor` is absent or null on the last page. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    next_cursor: z.string().min(1).nullish().transform((c) => c ?? null),
  });
}
/** One page of a list: its items, and the cursor of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** One invalid field in an error answer. */
export const FieldErrorSchema = z.object({ path: z.string(), message: z.string() });
/** One invalid field in an error answer. */
export type FieldError = z.infer<typeof FieldErrorSchema>;

/**
 * An RFC 9457 problem document, as every error answer carries it. Parsed
 * leniently: an error body that is not one (a proxy's HTML page, say) still
 * yields an error with the status, never a parse failure hiding it.
 */
export const ProblemSchema = z.object({
  type: z.string().default('about:blank'),
  title: z.string().default(''),
  status: z.int().optional(),
  detail: z.string().default(''),
  errors: z.array(FieldErrorSchema).optional(),
});
/** Problem details of an error answer. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}
