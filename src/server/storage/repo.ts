/**
 * Every query of the service, written once for both dialects. Functions take
 * an executor, so the caller decides what runs in one transaction.
 */
import type { GrantType, Role, Scope } from '../../rules';
import type { App, AuditActor, AuditEvent, Consent, Group, GroupRole, Tenant, TokenPrincipal } from '../model';
import type { SqlExecutor, SqlValue, Transaction } from './database';

type Row = Record<string, unknown>;

function bool(v: unknown): boolean {
  return v === 1 || v === true || v === '1';
}

function str(v: unknown): string {
  return String(v);
}

function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function num(v: unknown): number {
  return Number(v);
}

/**
 * Refuses an insert into a paged table from a transaction that did not order
 * its writes in the tenant: its row could appear behind a reader's cursor.
 */
function requireOrdered(tx: Transaction, tenantId: string, table: string): void {
  if (!tx.ordersWrites(tenantId)) {
    throw new Error(`bug: insert into ${table} of tenant ${tenantId} without tx.orderWrites(tenant) first`);
  }
}

/** Keyset page request: rows with a surrogate key above `after`, at most `limit`. */
export interface PageQuery {
  after: number;
  limit: number;
}

// ---- tenants ----------------------------------------------------------------

function tenantFrom(r: Row): Tenant {
  return {
    id: str(r.id),
    name: str(r.name),
    oauth_enabled: bool(r.oauth_enabled),
    sso_enabled: bool(r.sso_enabled),
    settings_version: num(r.settings_version),
    created_at: str(r.created_at),
    updated_at: str(r.updated_at),
  };
}

/** A tenant by id; `lock` holds it until the transaction ends. */
export async function getTenant(x: SqlExecutor, id: string, lock = false): Promise<Tenant | undefined> {
  const r = await x.get<Row>(`SELECT * FROM tenants WHERE id = ?${lock ? x.dialect.forUpdate : ''}`, [id]);
  return r ? tenantFrom(r) : undefined;
}

/** A tenant by its (unique) name. */
export async function getTenantByName(x: SqlExecutor, name: string): Promise<Tenant | undefined> {
  const r = await x.get<Row>('SELECT * FROM tenants WHERE name = ?', [name]);
  return r ? tenantFrom(r) : undefined;
}

/** Stores a new tenant. */
export async function insertTenant(x: SqlExecutor, t: Tenant): Promise<void> {
  await x.run(
    'INSERT INTO tenants (id, name, oauth_enabled, sso_enabled, settings_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [t.id, t.name, t.oauth_enabled, t.sso_enabled, t.settings_version, t.created_at, t.updated_at],
  );
}

/** Writes a tenant's settings, bumping their version. */
export async function updateTenantSettings(x: SqlExecutor, t: Tenant): Promise<void> {
  await x.run('UPDATE tenants SET oauth_enabled = ?, sso_enabled = ?, settings_version = ?, updated_at = ? WHERE id = ?', [
    t.oauth_enabled,
    t.sso_enabled,
    t.settings_version,
    t.updated_at,
    t.id,
  ]);
}

// ---- groups -----------------------------------------------------------------

function groupFrom(r: Row): Group {
  return { seq: num(r.seq), id: str(r.id), tenant_id: str(r.tenant_id), name: str(r.name), created_at: str(r.created_at) };
}

/** A group of a tenant by id. */
export async function getGroup(x: SqlExecutor, tenantId: string, id: string): Promise<Group | undefined> {
  const r = await x.get<Row>('SELECT * FROM app_groups WHERE tenant_id = ? AND id = ?', [tenantId, id]);
  return r ? groupFrom(r) : undefined;
}

/** A group of a tenant by name. */
export async function getGroupByName(x: SqlExecutor, tenantId: string, name: string): Promise<Group | undefined> {
  const r = await x.get<Row>('SELECT * FROM app_groups WHERE tenant_id = ? AND name = ?', [tenantId, name]);
  return r ? groupFrom(r) : undefined;
}

/** Stores a new group. */
export async function insertGroup(x: Transaction, g: Omit<Group, 'seq'>): Promise<void> {
  requireOrdered(x, g.tenant_id, 'app_groups');
  await x.run('INSERT INTO app_groups (id, tenant_id, name, created_at) VALUES (?, ?, ?, ?)', [
    g.id,
    g.tenant_id,
    g.name,
    g.created_at,
  ]);
}

/**
 * `column IN (?, ?, …)` for a non-empty list, or a condition that is never
 * true for an empty one: `IN ()` is a syntax error on PostgreSQL (SQLite
 * takes it), and an empty list here means "none", never "any".
 */
function inList(column: string, values: readonly string[], params: SqlValue[]): string {
  if (values.length === 0) return '1 = 0';
  params.push(...values);
  return `${column} IN (${values.map(() => '?').join(', ')})`;
}

/** A page of a tenant's groups, optionally only some (those a group admin or a person may see) or one name. */
export async function listGroups(
  x: SqlExecutor,
  f: { tenantId: string; onlyIds?: readonly string[]; name?: string } & PageQuery,
): Promise<Group[]> {
  const where = ['tenant_id = ?', 'seq > ?'];
  const params: SqlValue[] = [f.tenantId, f.after];
  if (f.onlyIds !== undefined) where.push(inList('id', f.onlyIds, params));
  if (f.name !== undefined) {
    where.push('name = ?');
    params.push(f.name);
  }
  params.push(f.limit);
  const rows = await x.all<Row>(`SELECT * FROM app_groups WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`, params);
  return rows.map(groupFrom);
}

// ---- tokens -----------------------------------------------------------------

/** Stores a token by its hash. */
export async function insertToken(
  x: SqlExecutor,
  t: { id: string; tenant_id: string; role: Role; group_id: string | null; token_hash: string; created_at: string },
): Promise<void> {
  await x.run('INSERT INTO tokens (id, tenant_id, role, group_id, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
    t.id,
    t.tenant_id,
    t.role,
    t.group_id,
    t.token_hash,
    t.created_at,
  ]);
}

/** A token that authenticates a request, and when it last did (null: never). */
export interface TokenAuth {
  principal: TokenPrincipal;
  last_used_at: string | null;
}

/**
 * The principal of the live (not revoked) token with this hash, if any. Read
 * from the database on every request, with no cache, so a revocation by any
 * process takes effect on the next request of every instance.
 */
export async function principalForTokenHash(x: SqlExecutor, tokenHash: string): Promise<TokenAuth | undefined> {
  const r = await x.get<Row>(
    'SELECT id, tenant_id, role, group_id, last_used_at FROM tokens WHERE token_hash = ? AND revoked_at IS NULL',
    [tokenHash],
  );
  if (!r) return undefined;
  return {
    principal: { kind: 'token', token_id: str(r.id), tenant_id: str(r.tenant_id), role: str(r.role) as Role, group_id: strOrNull(r.group_id) },
    last_used_at: strOrNull(r.last_used_at),
  };
}

/**
 * Records that a token was used at `at`, unless its stored time is already
 * `staleBefore` or later. The condition is in the statement itself, so of
 * several instances that see the same stale value at once only the first
 * writes; the others change no row.
 * @returns true when the row was written
 */
export async function touchToken(x: SqlExecutor, id: string, at: string, staleBefore: string): Promise<boolean> {
  const changed = await x.run(
    'UPDATE tokens SET last_used_at = ? WHERE id = ? AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < ?)',
    [at, id, staleBefore],
  );
  return changed === 1;
}

/** A token as operators see it: never its value or hash. */
export interface TokenRecord {
  id: string;
  tenant_id: string;
  role: Role;
  group_id: string | null;
  /** The group's name; null for tenant-wide roles. */
  group_name: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

// Named columns, never `*`: the hash must not leave this module by accident.
const TOKEN_COLUMNS = 't.id, t.tenant_id, t.role, t.group_id, g.name AS group_name, t.created_at, t.last_used_at, t.revoked_at';

function tokenFrom(r: Row): TokenRecord {
  return {
    id: str(r.id),
    tenant_id: str(r.tenant_id),
    role: str(r.role) as Role,
    group_id: strOrNull(r.group_id),
    group_name: strOrNull(r.group_name),
    created_at: str(r.created_at),
    last_used_at: strOrNull(r.last_used_at),
    revoked_at: strOrNull(r.revoked_at),
  };
}

/**
 * One token of a tenant by id (revoked ones included). Not locked: a change
 * of it ({@link revokeToken}) states its own condition.
 */
export async function getToken(x: SqlExecutor, tenantId: string, id: string): Promise<TokenRecord | undefined> {
  const r = await x.get<Row>(
    `SELECT ${TOKEN_COLUMNS} FROM tokens t LEFT JOIN app_groups g ON g.id = t.group_id WHERE t.tenant_id = ? AND t.id = ?`,
    [tenantId, id],
  );
  return r ? tokenFrom(r) : undefined;
}

/** A tenant's tokens, oldest first, optionally of one group or role; revoked ones only when asked. */
export async function listTokens(
  x: SqlExecutor,
  f: { tenantId: string; groupId?: string; role?: Role; includeRevoked?: boolean },
): Promise<TokenRecord[]> {
  const where = ['t.tenant_id = ?'];
  const params: SqlValue[] = [f.tenantId];
  if (f.groupId !== undefined) {
    where.push('t.group_id = ?');
    params.push(f.groupId);
  }
  if (f.role !== undefined) {
    where.push('t.role = ?');
    params.push(f.role);
  }
  if (f.includeRevoked !== true) where.push('t.revoked_at IS NULL');
  const rows = await x.all<Row>(
    `SELECT ${TOKEN_COLUMNS} FROM tokens t LEFT JOIN app_groups g ON g.id = t.group_id WHERE ${where.join(' AND ')} ORDER BY t.created_at, t.id`,
    params,
  );
  return rows.map(tokenFrom);
}

/**
 * Marks a live token revoked at `at`; authentication refuses it from then on.
 * @returns false when it was already revoked (or does not exist)
 */
export async function revokeToken(x: SqlExecutor, id: string, at: string): Promise<boolean> {
  return (await x.run('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])) === 1;
}

// ---- apps -------------------------------------------------------------------

const APP_COLUMNS =
  'a.seq, a.id, a.tenant_id, a.group_id, a.client_id, a.name, a.description, a.callback_urls, a.scope, a.grant_types, ' +
  'a.public_client, a.require_pkce, a.enabled, a.secret_version, a.created_at, a.updated_at, a.version';

function appFrom(r: Row): App {
  return {
    seq: num(r.seq),
    id: str(r.id),
    tenant_id: str(r.tenant_id),
    group_id: str(r.group_id),
    client_id: str(r.client_id),
    name: str(r.name),
    description: strOrNull(r.description),
    callback_urls: JSON.parse(str(r.callback_urls)) as string[],
    scope: str(r.scope) as Scope,
    grant_types: JSON.parse(str(r.grant_types)) as GrantType[],
    public_client: bool(r.public_client),
    require_pkce: bool(r.require_pkce),
    enabled: bool(r.enabled),
    secret_version: num(r.secret_version),
    created_at: str(r.created_at),
    updated_at: str(r.updated_at),
    version: num(r.version),
  };
}

/** An app of a tenant by id; `lock` holds the row until the transaction ends. */
export async function getApp(x: SqlExecutor, tenantId: string, id: string, lock = false): Promise<App | undefined> {
  const r = await x.get<Row>(
    `SELECT ${APP_COLUMNS} FROM apps a WHERE a.tenant_id = ? AND a.id = ?${lock ? x.dialect.forUpdate : ''}`,
    [tenantId, id],
  );
  return r ? appFrom(r) : undefined;
}

/** Stores a new app; `secretHash` is null for public clients. */
export async function insertApp(x: Transaction, a: Omit<App, 'seq'>, secretHash: string | null): Promise<void> {
  requireOrdered(x, a.tenant_id, 'apps');
  await x.run(
    'INSERT INTO apps (id, tenant_id, group_id, client_id, name, description, callback_urls, scope, grant_types, ' +
      'public_client, require_pkce, enabled, secret_hash, secret_version, created_at, updated_at, version) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      a.id,
      a.tenant_id,
      a.group_id,
      a.client_id,
      a.name,
      a.description,
      JSON.stringify(a.callback_urls),
      a.scope,
      JSON.stringify(a.grant_types),
      a.public_client,
      a.require_pkce,
      a.enabled,
      secretHash,
      a.secret_version,
      a.created_at,
      a.updated_at,
      a.version,
    ],
  );
}

/**
 * Writes the mutable fields of an app, only if it is still at
 * `expectedVersion` (so of two concurrent writers exactly one wins).
 * @param secretHash a new secret hash (rotation), or undefined to keep the stored one
 * @returns false when the app changed in between (or is gone)
 */
export async function updateApp(x: SqlExecutor, a: App, expectedVersion: number, secretHash?: string): Promise<boolean> {
  const sets = [
    'name = ?',
    'description = ?',
    'callback_urls = ?',
    'grant_types = ?',
    'require_pkce = ?',
    'enabled = ?',
    'secret_version = ?',
    'updated_at = ?',
    'version = ?',
  ];
  const params: SqlValue[] = [
    a.name,
    a.description,
    JSON.stringify(a.callback_urls),
    JSON.stringify(a.grant_types),
    a.require_pkce,
    a.enabled,
    a.secret_version,
    a.updated_at,
    a.version,
  ];
  if (secretHash !== undefined) {
    sets.push('secret_hash = ?');
    params.push(secretHash);
  }
  params.push(a.id, expectedVersion);
  return (await x.run(`UPDATE apps SET ${sets.join(', ')} WHERE id = ? AND version = ?`, params)) === 1;
}

/** Removes an app row (its consents must be removed first, for the audit trail). */
export async function deleteApp(x: SqlExecutor, id: string): Promise<void> {
  await x.run('DELETE FROM apps WHERE id = ?', [id]);
}

/** Filters of the app list. */
export interface AppFilter {
  tenantId: string;
  /**
   * When set, only apps of these groups, and organization-scoped ones when
   * the list is not empty (what a group admin, or a person with these
   * groups, may see). An empty list shows nothing.
   */
  visibleToGroups?: readonly string[];
  groupId?: string;
  scope?: Scope;
  name?: string;
}

/** A page of apps in creation order. */
export async function listApps(x: SqlExecutor, f: AppFilter & PageQuery): Promise<App[]> {
  const where = ['a.tenant_id = ?', 'a.seq > ?'];
  const params: SqlValue[] = [f.tenantId, f.after];
  if (f.visibleToGroups !== undefined) {
    // Organization-scoped apps are seen from a group: someone in no group sees none.
    where.push(f.visibleToGroups.length === 0 ? '1 = 0' : `(${inList('a.group_id', f.visibleToGroups, params)} OR a.scope = 'organization')`);
  }
  if (f.groupId !== undefined) {
    where.push('a.group_id = ?');
    params.push(f.groupId);
  }
  if (f.scope !== undefined) {
    where.push('a.scope = ?');
    params.push(f.scope);
  }
  if (f.name !== undefined) {
    where.push('a.name = ?');
    params.push(f.name);
  }
  params.push(f.limit);
  const rows = await x.all<Row>(`SELECT ${APP_COLUMNS} FROM apps a WHERE ${where.join(' AND ')} ORDER BY a.seq LIMIT ?`, params);
  return rows.map(appFrom);
}

/**
 * A page of the browse list of `groupId`: organization-scoped apps of other
 * groups, each with whether `groupId` has consented to it.
 */
export async function listBrowse(
  x: SqlExecutor,
  f: { tenantId: string; groupId: string; name?: string } & PageQuery,
): Promise<Array<{ app: App; consented: boolean }>> {
  const where = ['a.tenant_id = ?', "a.scope = 'organization'", 'a.group_id <> ?', 'a.seq > ?'];
  const params: SqlValue[] = [f.groupId, f.tenantId, f.groupId, f.after];
  if (f.name !== undefined) {
    where.push('a.name = ?');
    params.push(f.name);
  }
  params.push(f.limit);
  const rows = await x.all<Row>(
    `SELECT ${APP_COLUMNS}, c.seq AS consent_seq FROM apps a ` +
      'LEFT JOIN consents c ON c.app_id = a.id AND c.group_id = ? ' +
      `WHERE ${where.join(' AND ')} ORDER BY a.seq LIMIT ?`,
    params,
  );
  return rows.map((r) => ({ app: appFrom(r), consented: r.consent_seq !== null && r.consent_seq !== undefined }));
}

// ---- consents ---------------------------------------------------------------

function consentFrom(r: Row): Consent {
  return {
    seq: num(r.seq),
    tenant_id: str(r.tenant_id),
    group_id: str(r.group_id),
    app_id: str(r.app_id),
    created_at: str(r.created_at),
  };
}

/** One consent, if it exists. */
export async function getConsent(x: SqlExecutor, tenantId: string, groupId: string, appId: string): Promise<Consent | undefined> {
  const r = await x.get<Row>('SELECT * FROM consents WHERE tenant_id = ? AND group_id = ? AND app_id = ?', [
    tenantId,
    groupId,
    appId,
  ]);
  return r ? consentFrom(r) : undefined;
}

/** Stores a consent unless it exists. @returns true when it was new */
export async function insertConsent(x: Transaction, c: Omit<Consent, 'seq'>): Promise<boolean> {
  requireOrdered(x, c.tenant_id, 'consents');
  const changed = await x.run(
    'INSERT INTO consents (tenant_id, group_id, app_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (group_id, app_id) DO NOTHING',
    [c.tenant_id, c.group_id, c.app_id, c.created_at],
  );
  return changed === 1;
}

/** Removes one consent. @returns true when it existed */
export async function deleteConsent(x: SqlExecutor, groupId: string, appId: string): Promise<boolean> {
  return (await x.run('DELETE FROM consents WHERE group_id = ? AND app_id = ?', [groupId, appId])) === 1;
}

/** All consents to one app. */
export async function consentsOfApp(x: SqlExecutor, appId: string): Promise<Consent[]> {
  const rows = await x.all<Row>('SELECT * FROM consents WHERE app_id = ? ORDER BY seq', [appId]);
  return rows.map(consentFrom);
}

/** A page of consents of a tenant, optionally of one group, of some groups (those the caller sees), and/or of one app. */
export async function listConsents(
  x: SqlExecutor,
  f: { tenantId: string; groupId?: string; groupIds?: readonly string[]; appId?: string } & PageQuery,
): Promise<Consent[]> {
  const where = ['tenant_id = ?', 'seq > ?'];
  const params: SqlValue[] = [f.tenantId, f.after];
  if (f.groupId !== undefined) {
    where.push('group_id = ?');
    params.push(f.groupId);
  }
  if (f.groupIds !== undefined) where.push(inList('group_id', f.groupIds, params));
  if (f.appId !== undefined) {
    where.push('app_id = ?');
    params.push(f.appId);
  }
  params.push(f.limit);
  const rows = await x.all<Row>(`SELECT * FROM consents WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`, params);
  return rows.map(consentFrom);
}

// ---- audit ------------------------------------------------------------------

/** Appends an audit event. */
export async function insertAudit(x: Transaction, e: Omit<AuditEvent, 'seq'>): Promise<void> {
  requireOrdered(x, e.tenant_id, 'audit_events');
  await x.run(
    'INSERT INTO audit_events (id, tenant_id, at, actor, action, target_type, target_id, before_state, after_state) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      e.id,
      e.tenant_id,
      e.at,
      JSON.stringify(e.actor),
      e.action,
      e.target_type,
      e.target_id,
      e.before === null || e.before === undefined ? null : JSON.stringify(e.before),
      e.after === null || e.after === undefined ? null : JSON.stringify(e.after),
    ],
  );
}

function auditFrom(r: Row): AuditEvent {
  return {
    seq: num(r.seq),
    id: str(r.id),
    tenant_id: str(r.tenant_id),
    at: str(r.at),
    actor: JSON.parse(str(r.actor)) as AuditActor,
    action: str(r.action),
    target_type: str(r.target_type),
    target_id: str(r.target_id),
    before: r.before_state === null ? null : JSON.parse(str(r.before_state)),
    after: r.after_state === null ? null : JSON.parse(str(r.after_state)),
  };
}

/** A page of a tenant's audit events, oldest first. */
export async function listAudit(x: SqlExecutor, f: { tenantId: string } & PageQuery): Promise<AuditEvent[]> {
  const rows = await x.all<Row>('SELECT * FROM audit_events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?', [
    f.tenantId,
    f.after,
    f.limit,
  ]);
  return rows.map(auditFrom);
}

// ---- idempotency ------------------------------------------------------------

/** A stored first answer to a POST with an Idempotency-Key. */
export interface IdempotencyRecord {
  key_hash: string;
  token_id: string;
  fingerprint: string;
  /** The sealed response; null only inside the transaction that is producing it. */
  response: string | null;
  created_at: string;
  expires_at: string;
  /**
   * The app the stored answer is about, and the secret version it shows: a
   * replay is sent only while that app exists with that secret version.
   */
  target_app_id: string | null;
  target_secret_version: number | null;
}

/** The record of a key hash, if any (expired ones included; the caller decides). */
export async function getIdempotency(x: SqlExecutor, keyHash: string): Promise<IdempotencyRecord | undefined> {
  const r = await x.get<Row>('SELECT * FROM idempotency_keys WHERE key_hash = ?', [keyHash]);
  if (!r) return undefined;
  return {
    key_hash: str(r.key_hash),
    token_id: str(r.token_id),
    fingerprint: str(r.fingerprint),
    response: strOrNull(r.response),
    created_at: str(r.created_at),
    expires_at: str(r.expires_at),
    target_app_id: strOrNull(r.target_app_id),
    target_secret_version: r.target_secret_version === null || r.target_secret_version === undefined ? null : num(r.target_secret_version),
  };
}

/**
 * Claims a key: inserts its record without a response. A concurrent claim of
 * the same key waits for this transaction and then fails with a unique violation.
 */
export async function claimIdempotency(x: SqlExecutor, r: IdempotencyRecord): Promise<void> {
  await x.run(
    'INSERT INTO idempotency_keys (key_hash, token_id, fingerprint, response, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    [r.key_hash, r.token_id, r.fingerprint, r.response, r.created_at, r.expires_at],
  );
}

/** Stores the sealed response of a claimed key. */
export async function completeIdempotency(
  x: SqlExecutor,
  keyHash: string,
  sealed: string,
  target: { app_id: string; secret_version: number } | undefined,
): Promise<void> {
  await x.run('UPDATE idempotency_keys SET response = ?, target_app_id = ?, target_secret_version = ? WHERE key_hash = ?', [
    sealed,
    target?.app_id ?? null,
    target?.secret_version ?? null,
    keyHash,
  ]);
}

/** Deletes one key record (an expired one about to be reused). */
export async function deleteIdempotency(x: SqlExecutor, keyHash: string): Promise<void> {
  await x.run('DELETE FROM idempotency_keys WHERE key_hash = ?', [keyHash]);
}

/** Deletes records that expired before `at`. */
export async function purgeIdempotency(x: SqlExecutor, at: string): Promise<number> {
  return x.run('DELETE FROM idempotency_keys WHERE expires_at < ?', [at]);
}

// ---- server keys --------------------------------------------------------------

/** A key the service made once and keeps (base64 material), or undefined when not made yet. */
export async function getServerKey(x: SqlExecutor, name: string): Promise<string | undefined> {
  const r = await x.get<Row>('SELECT material FROM server_keys WHERE name = ?', [name]);
  return r ? str(r.material) : undefined;
}

/**
 * Stores a new key unless one of that name exists (another instance may
 * have made it first); a unique violation is the caller's to handle.
 */
export async function insertServerKey(x: SqlExecutor, name: string, material: string, at: string): Promise<void> {
  await x.run('INSERT INTO server_keys (name, material, created_at) VALUES (?, ?, ?)', [name, material, at]);
}

// ---- people -----------------------------------------------------------------

export type { GroupRole } from '../model';

/** A person of a tenant, without the password hash (see {@link getUserLogin}). */
export interface UserRecord {
  id: string;
  tenant_id: string;
  username: string;
  security_admin: boolean;
  created_at: string;
  /** Groups in the order they were created, with the person's role in each. */
  groups: Array<{ id: string; name: string; role: GroupRole }>;
}

/** The key usernames are unique by, and found by at sign-in: the username in lower case. */
export function usernameKey(username: string): string {
  return username.normalize('NFC').toLowerCase();
}

/** Stores a new person and their groups. */
export async function insertUser(
  x: Transaction,
  u: { id: string; tenant_id: string; username: string; password_hash: string; security_admin: boolean; created_at: string },
  groups: ReadonlyArray<{ group_id: string; role: GroupRole }>,
): Promise<void> {
  requireOrdered(x, u.tenant_id, 'users');
  await x.run(
    'INSERT INTO users (id, tenant_id, username, username_key, password_hash, security_admin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [u.id, u.tenant_id, u.username, usernameKey(u.username), u.password_hash, u.security_admin, u.created_at],
  );
  for (const g of groups) {
    await x.run('INSERT INTO user_groups (user_id, group_id, role) VALUES (?, ?, ?)', [u.id, g.group_id, g.role]);
  }
}

/** The people of a tenant, oldest first, each with their groups; only person `onlyId` when given. */
export async function listUsers(x: SqlExecutor, tenantId: string, onlyId?: string): Promise<UserRecord[]> {
  const only = onlyId === undefined ? '' : ' AND u.id = ?';
  const params: SqlValue[] = onlyId === undefined ? [tenantId] : [tenantId, onlyId];
  const users = await x.all<Row>(
    `SELECT u.id, u.tenant_id, u.username, u.security_admin, u.created_at FROM users u WHERE u.tenant_id = ?${only} ORDER BY u.seq`,
    params,
  );
  const memberships = await x.all<Row>(
    'SELECT ug.user_id, ug.role, g.id, g.name FROM user_groups ug JOIN users u ON u.id = ug.user_id ' +
      `JOIN app_groups g ON g.id = ug.group_id WHERE u.tenant_id = ?${only} ORDER BY g.seq`,
    params,
  );
  const byUser = new Map<string, UserRecord['groups']>();
  for (const m of memberships) {
    const list = byUser.get(str(m.user_id)) ?? [];
    list.push({ id: str(m.id), name: str(m.name), role: str(m.role) as GroupRole });
    byUser.set(str(m.user_id), list);
  }
  return users.map((u) => ({
    id: str(u.id),
    tenant_id: str(u.tenant_id),
    username: str(u.username),
    security_admin: bool(u.security_admin),
    created_at: str(u.created_at),
    groups: byUser.get(str(u.id)) ?? [],
  }));
}

/**
 * One person of a tenant by id, with their groups, or undefined. Read on
 * every request of a person (http/auth.ts), so it is the two indexed
 * queries of {@link listUsers} for one id, no more.
 */
export async function getUser(x: SqlExecutor, tenantId: string, id: string): Promise<UserRecord | undefined> {
  return (await listUsers(x, tenantId, id))[0];
}

/** A person by username (any case), with the password hash: for sign-in and operator commands only. */
export async function getUserLogin(
  x: SqlExecutor,
  tenantId: string,
  username: string,
): Promise<{ id: string; username: string; password_hash: string } | undefined> {
  const r = await x.get<Row>('SELECT id, username, password_hash FROM users WHERE tenant_id = ? AND username_key = ?', [
    tenantId,
    usernameKey(username),
  ]);
  return r ? { id: str(r.id), username: str(r.username), password_hash: str(r.password_hash) } : undefined;
}

/** Deletes a person and their group memberships. @returns whether a row was deleted */
export async function deleteUser(x: Transaction, tenantId: string, id: string): Promise<boolean> {
  // Memberships first: the cascade needs SQLite's foreign keys on, and this does not depend on it.
  await x.run('DELETE FROM user_groups WHERE user_id = ?', [id]);
  return (await x.run('DELETE FROM users WHERE tenant_id = ? AND id = ?', [tenantId, id])) === 1;
}
