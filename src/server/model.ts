/**
 * The service's records and their JSON forms. The JSON forms are the wire
 * contract of DOMAIN.md; records add what only the server needs (surrogate
 * keys for pagination, tenant ids) and never hold a plain secret.
 */
import type { GrantType, Role, Scope } from '../rules';

/** A person's role in one group: `admin` has group_admin rights there, `member` reads. */
export type GroupRole = 'admin' | 'member';

/**
 * A caller using a service token (`art_…`, `appreg admin token create`):
 * its rights are its role.
 */
export interface TokenPrincipal {
  kind: 'token';
  /** The token's public id (`tok_…`), never its value. */
  token_id: string;
  tenant_id: string;
  role: Role;
  /** The group of a `group_admin`; null for the other roles. */
  group_id: string | null;
}

/** One group of a person, with the person's role in it. */
export interface PersonGroup {
  id: string;
  name: string;
  role: GroupRole;
}

/**
 * A person calling with an access token that the OpenID Connect provider
 * issued to an app on their behalf. Their rights are read from the database
 * on every request (see http/auth.ts), never from the token, so a change of
 * their groups applies to the next request.
 */
export interface PersonPrincipal {
  kind: 'person';
  /**
   * The per-credential key every principal has, for the rate limiter and
   * Idempotency-Key records: for a person, {@link token_ref}. Limits and
   * replays stay per token, as they are for service tokens.
   */
  token_id: string;
  /** The non-secret reference of the access token (`pat_…`); never the token. */
  token_ref: string;
  tenant_id: string;
  /** The person (`usr_…`). */
  user_id: string;
  username: string;
  /** The app the token was issued to (`app_…`), and its client id. */
  app_id: string;
  client_id: string;
  /** `--security-admin`: the rights of a `tenant_security_admin`. */
  security_admin: boolean;
  /** The person's groups in the order the groups were created, with their role in each. */
  groups: PersonGroup[];
}

/** Who is calling: resolved from a bearer token (see http/auth.ts). */
export type Principal = TokenPrincipal | PersonPrincipal;

/** A tenant and its OAuth settings. */
export interface Tenant {
  id: string;
  name: string;
  oauth_enabled: boolean;
  sso_enabled: boolean;
  settings_version: number;
  created_at: string;
  updated_at: string;
}

/** A group of a tenant. */
export interface Group {
  seq: number;
  id: string;
  tenant_id: string;
  name: string;
  created_at: string;
}

/** An app registration as stored (the secret only as a hash, and only in storage). */
export interface App {
  seq: number;
  id: string;
  tenant_id: string;
  group_id: string;
  client_id: string;
  name: string;
  description: string | null;
  callback_urls: string[];
  scope: Scope;
  grant_types: GrantType[];
  public_client: boolean;
  require_pkce: boolean;
  enabled: boolean;
  secret_version: number;
  created_at: string;
  updated_at: string;
  version: number;
}

/** A group's consent to an organization-scoped app of another group. */
export interface Consent {
  seq: number;
  tenant_id: string;
  group_id: string;
  app_id: string;
  created_at: string;
}

/** An audit event. `before`/`after` are JSON forms, never containing a secret or token. */
export interface AuditEvent {
  seq: number;
  id: string;
  tenant_id: string;
  at: string;
  actor: AuditActor;
  action: string;
  target_type: string;
  target_id: string;
  before: unknown;
  after: unknown;
}

/**
 * Who made a change: a service token (by id, never its value), a person
 * through an app they signed in to (by id and the app's client id, never
 * their access token), a sign-in to an app before anyone is known (the
 * sign-in provider's refusals), or an operator command.
 */
export type AuditActor =
  | { type: 'token'; token_id: string; role: Role; group_id: string | null }
  | { type: 'person'; user_id: string; username?: string; client_id: string }
  | { type: 'sign-in'; client_id: string }
  | { type: 'operator'; command: string };

/**
 * App JSON: exactly the fields of DOMAIN.md. The record without what never
 * leaves the service (its storage sequence and tenant); {@link appJson}
 * builds it field by field, in DOMAIN.md's order, so nothing is added by accident.
 */
export type AppJson = Omit<App, 'seq' | 'tenant_id'>;

/** The JSON form of an app; the only way an app leaves the service. */
export function appJson(a: App): AppJson {
  return {
    id: a.id,
    client_id: a.client_id,
    group_id: a.group_id,
    name: a.name,
    description: a.description,
    callback_urls: [...a.callback_urls],
    scope: a.scope,
    grant_types: [...a.grant_types],
    public_client: a.public_client,
    require_pkce: a.require_pkce,
    enabled: a.enabled,
    secret_version: a.secret_version,
    created_at: a.created_at,
    updated_at: a.updated_at,
    version: a.version,
  };
}

/** Consent JSON. The id is `<group_id>/<app_id>`, the provider's import id. */
export interface ConsentJson {
  id: string;
  group_id: string;
  app_id: string;
  created_at: string;
}

/** The JSON form of a consent. */
export function consentJson(c: Consent): ConsentJson {
  return { id: `${c.group_id}/${c.app_id}`, group_id: c.group_id, app_id: c.app_id, created_at: c.created_at };
}

/** Tenant OAuth settings JSON. */
export interface SettingsJson {
  tenant_id: string;
  oauth_enabled: boolean;
  sso_enabled: boolean;
  device_grant_allowed: boolean;
}

/** The JSON form of a tenant's settings; the device grant is allowed exactly when SSO is off. */
export function settingsJson(t: Tenant): SettingsJson {
  return {
    tenant_id: t.id,
    oauth_enabled: t.oauth_enabled,
    sso_enabled: t.sso_enabled,
    device_grant_allowed: !t.sso_enabled,
  };
}

/** Group JSON. */
export interface GroupJson {
  id: string;
  name: string;
}

/** The JSON form of a group. */
export function groupJson(g: Group): GroupJson {
  return { id: g.id, name: g.name };
}

/** Audit event JSON: the event without what never leaves the service (its sequence and tenant). */
export type AuditJson = Omit<AuditEvent, 'seq' | 'tenant_id'>;

/** The JSON form of an audit event. */
export function auditJson(e: AuditEvent): AuditJson {
  return {
    id: e.id,
    at: e.at,
    actor: e.actor,
    action: e.action,
    target_type: e.target_type,
    target_id: e.target_id,
    before: e.before,
    after: e.after,
  };
}

/** The current time as RFC 3339 UTC with milliseconds. */
export function now(): string {
  return new Date().toISOString();
}
