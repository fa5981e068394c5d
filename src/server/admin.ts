/**
 * Operator commands (`appreg admin ...`): work on the database directly,
 * outside the HTTP API's roles, and are audited as the `operator` actor.
 * Each opens the database (migrating it), does one transaction, and closes it.
 */
import { ROLES, type Role } from '../rules';
import { operator, recordAudit } from './audit';
import { hashCredential, newId, newToken } from './crypto';
import { hashPassword, passwordProblem } from './passwords';
import { groupJson, now, settingsJson, type Tenant } from './model';
import { type Database, openDatabase, type SqlExecutor, type Transaction } from './storage/database';
import {
  getGroupByName,
  getTenant,
  getTenantByName,
  insertGroup,
  insertTenant,
  insertToken,
  listGroups,
  listTokens,
  revokeToken,
  getToken,
  type TokenRecord,
  updateTenantSettings,
  deleteUser,
  getUserLogin,
  insertUser,
  listUsers,
  type GroupRole,
  type UserRecord,
} from './storage/repo';

/** An operator mistake (unknown tenant, duplicate name, ...): the CLI prints the message and exits 1. */
export class AdminError extends Error {}

async function withDb<T>(db: string, fn: (d: Database) => Promise<T>): Promise<T> {
  const d = await openDatabase(db);
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

async function tenantNamed(x: SqlExecutor, name: string): Promise<Tenant> {
  const t = await getTenantByName(x, name);
  if (!t) throw new AdminError(`tenant ${JSON.stringify(name)} does not exist; create it with "appreg admin init --tenant ${name}"`);
  return t;
}

function checkLabel(kind: string, name: string): void {
  if (name.trim() !== name || name.length === 0 || name.length > 100 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new AdminError(`${kind} name must be 1 to 100 characters without control characters or surrounding spaces (got ${JSON.stringify(name)})`);
  }
}

/**
 * Creates a tenant (OAuth off, SSO as given) and a `tenant_security_admin`
 * token for it. The token is returned once and stored only as a hash.
 */
export async function adminInit(db: string, o: { tenant: string; sso?: boolean }): Promise<{ tenant_id: string; token: string }> {
  checkLabel('tenant', o.tenant);
  return withDb(db, (d) =>
    d.transaction(async (tx) => {
      if (await getTenantByName(tx, o.tenant)) {
        throw new AdminError(`tenant ${JSON.stringify(o.tenant)} already exists; create more tokens with "appreg admin token create"`);
      }
      const t = now();
      const tenant: Tenant = {
        id: newId('ten'),
        name: o.tenant,
        oauth_enabled: false,
        sso_enabled: o.sso ?? false,
        settings_version: 1,
        created_at: t,
        updated_at: t,
      };
      await tx.orderWrites(tenant.id);
      try {
        await insertTenant(tx, tenant);
      } catch (err) {
        if (tx.dialect.isUniqueViolation(err)) throw new AdminError(`tenant ${JSON.stringify(o.tenant)} already exists`);
        throw err;
      }
      const actor = operator('admin init');
      await recordAudit(tx, {
        tenant_id: tenant.id,
        actor,
        action: 'tenant.create',
        target_type: 'tenant',
        target_id: tenant.id,
        before: null,
        after: { name: tenant.name, ...settingsJson(tenant) },
      });
      const { token } = await issueToken(tx, tenant, 'tenant_security_admin', null, actor);
      return { tenant_id: tenant.id, token };
    }),
  );
}

async function issueToken(
  tx: Transaction,
  tenant: Tenant,
  role: Role,
  groupId: string | null,
  actor: ReturnType<typeof operator>,
): Promise<{ id: string; token: string }> {
  const token = newToken();
  const id = newId('tok');
  await insertToken(tx, { id, tenant_id: tenant.id, role, group_id: groupId, token_hash: hashCredential(token), created_at: now() });
  await recordAudit(tx, {
    tenant_id: tenant.id,
    actor,
    action: 'token.create',
    target_type: 'token',
    target_id: id,
    before: null,
    after: { token_id: id, role, group_id: groupId },
  });
  return { id, token };
}

/** Adds a group to a tenant. Group names are unique per tenant. */
export async function adminGroupAdd(db: string, o: { tenant: string; name: string }): Promise<{ group_id: string }> {
  checkLabel('group', o.name);
  return withDb(db, (d) =>
    d.transaction(async (tx) => {
      const tenant = await tenantNamed(tx, o.tenant);
      await tx.orderWrites(tenant.id);
      if (await getGroupByName(tx, tenant.id, o.name)) {
        throw new AdminError(`tenant ${JSON.stringify(o.tenant)} already has a group named ${JSON.stringify(o.name)}`);
      }
      const g = { id: newId('grp'), tenant_id: tenant.id, name: o.name, created_at: now() };
      try {
        await insertGroup(tx, g);
      } catch (err) {
        if (tx.dialect.isUniqueViolation(err)) throw new AdminError(`tenant ${JSON.stringify(o.tenant)} already has a group named ${JSON.stringify(o.name)}`);
        throw err;
      }
      await recordAudit(tx, {
        tenant_id: tenant.id,
        actor: operator('admin group add'),
        action: 'group.create',
        target_type: 'group',
        target_id: g.id,
        before: null,
        after: groupJson({ ...g, seq: 0 }),
      });
      return { group_id: g.id };
    }),
  );
}

function checkRole(role: string): void {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new AdminError(`role must be one of ${ROLES.join(', ')} (got ${JSON.stringify(role)})`);
  }
}

/**
 * Creates a token. A `group_admin` needs `group` (a group NAME); the other
 * roles are tenant-wide and take none. Returns the token (shown this once)
 * and its public id, which `token list` shows and `token revoke` takes.
 */
export async function adminTokenCreate(db: string, o: { tenant: string; role: Role; group?: string }): Promise<{ id: string; token: string }> {
  checkRole(o.role);
  if (o.role === 'group_admin' && (o.group === undefined || o.group === '')) {
    throw new AdminError('a group_admin token needs --group <group name>');
  }
  if (o.role !== 'group_admin' && o.group !== undefined) {
    throw new AdminError(`--group is only for group_admin tokens; a ${o.role} token covers the whole tenant`);
  }
  return withDb(db, (d) =>
    d.transaction(async (tx) => {
      const tenant = await tenantNamed(tx, o.tenant);
      await tx.orderWrites(tenant.id);
      let groupId: string | null = null;
      if (o.group !== undefined) {
        const g = await getGroupByName(tx, tenant.id, o.group);
        if (!g) {
          throw new AdminError(`tenant ${JSON.stringify(o.tenant)} has no group named ${JSON.stringify(o.group)}; add it with "appreg admin group add"`);
        }
        groupId = g.id;
      }
      return issueToken(tx, tenant, o.role, groupId, operator('admin token create'));
    }),
  );
}

/** Sets whether the tenant uses SSO (which disables the device grant for new registrations). */
export async function adminTenantSet(db: string, o: { tenant: string; sso: boolean }): Promise<{ tenant_id: string; sso_enabled: boolean }> {
  return withDb(db, (d) =>
    d.transaction(async (tx) => {
      const named = await tenantNamed(tx, o.tenant);
      await tx.orderWrites(named.id);
      // Read again in order: a settings change through the API may have committed
      // since, and the update below writes every setting.
      const tenant = (await getTenant(tx, named.id, true)) ?? named;
      if (tenant.sso_enabled !== o.sso) {
        const next = { ...tenant, sso_enabled: o.sso, settings_version: tenant.settings_version + 1, updated_at: now() };
        await updateTenantSettings(tx, next);
        await recordAudit(tx, {
          tenant_id: tenant.id,
          actor: operator('admin tenant set'),
          action: 'tenant.settings.update',
          target_type: 'tenant',
          target_id: tenant.id,
          before: settingsJson(tenant),
          after: settingsJson(next),
        });
      }
      return { tenant_id: tenant.id, sso_enabled: o.sso };
    }),
  );
}

/** A group as `appreg admin group list` prints it. */
export interface GroupListEntry {
  id: string;
  name: string;
  created_at: string;
}

/** The groups of one tenant, oldest first. */
export async function adminGroupList(db: string, o: { tenant: string }): Promise<{ groups: GroupListEntry[] }> {
  return withDb(db, async (d) => {
    const tenant = await tenantNamed(d, o.tenant);
    const groups: GroupListEntry[] = [];
    // Keyset pages, as the API walks them, so a tenant with many groups is not one giant read.
    for (let after = 0; ;) {
      const page = await listGroups(d, { tenantId: tenant.id, after, limit: 500 });
      for (const g of page) groups.push({ id: g.id, name: g.name, created_at: g.created_at });
      if (page.length < 500) break;
      after = page[page.length - 1]!.seq;
    }
    return { groups };
  });
}

/**
 * A token as `appreg admin token list` prints it: who it is, never what it
 * is (no token value, no hash).
 */
export interface TokenListEntry {
  id: string;
  role: Role;
  group_id: string | null;
  group_name: string | null;
  created_at: string;
  /** The last request it authenticated, to the minute; null when never used. */
  last_used_at: string | null;
  /** When it was revoked; null for a live token (revoked ones are listed only on request). */
  revoked_at: string | null;
}

function tokenEntry(t: TokenRecord): TokenListEntry {
  // Field by field, so nothing is added to the output by accident.
  return {
    id: t.id,
    role: t.role,
    group_id: t.group_id,
    group_name: t.group_name,
    created_at: t.created_at,
    last_used_at: t.last_used_at,
    revoked_at: t.revoked_at,
  };
}

/**
 * The tokens of one tenant, oldest first, optionally of one group (by NAME)
 * or one role. Revoked tokens are left out unless `includeRevoked`.
 */
export async function adminTokenList(
  db: string,
  o: { tenant: string; group?: string; role?: string; includeRevoked?: boolean },
): Promise<{ tokens: TokenListEntry[] }> {
  if (o.role !== undefined) checkRole(o.role);
  return withDb(db, async (d) => {
    const tenant = await tenantNamed(d, o.tenant);
    let groupId: string | undefined;
    if (o.group !== undefined) {
      const g = await getGroupByName(d, tenant.id, o.group);
      if (!g) {
        throw new AdminError(`tenant ${JSON.stringify(o.tenant)} has no group named ${JSON.stringify(o.group)}; "appreg admin group list" shows its groups`);
      }
      groupId = g.id;
    }
    const rows = await listTokens(d, {
      tenantId: tenant.id,
      ...(groupId !== undefined ? { groupId } : {}),
      ...(o.role !== undefined ? { role: o.role as Role } : {}),
      includeRevoked: o.includeRevoked === true,
    });
    return { tokens: rows.map(tokenEntry) };
  });
}

/**
 * Revokes a token by its public id. The row is kept, marked revoked, so the
 * audit events it wrote still name a known token; authentication refuses it
 * from the next request on, in every instance (tokens are not cached). The
 * revocation is itself an audit event of the `operator` actor.
 */
export async function adminTokenRevoke(db: string, o: { tenant: string; id: string }): Promise<{ revoked: string }> {
  return withDb(db, (d) =>
    d.transaction(async (tx) => {
      const tenant = await tenantNamed(tx, o.tenant);
      await tx.orderWrites(tenant.id);
      const before = await getToken(tx, tenant.id, o.id);
      if (!before) {
        throw new AdminError(`tenant ${JSON.stringify(o.tenant)} has no token with id ${JSON.stringify(o.id)}; "appreg admin token list" shows the ids`);
      }
      if (before.revoked_at !== null) {
        throw new AdminError(`token ${o.id} was already revoked at ${before.revoked_at}; nothing changed`);
      }
      const at = now();
      if (!(await revokeToken(tx, o.id, at))) {
        // Another operator revoked it between the read and the write (PostgreSQL; SQLite serializes both).
        throw new AdminError(`token ${o.id} was revoked by someone else just now; nothing changed`);
      }
      const state = (revokedAt: string | null): object => ({ token_id: before.id, role: before.role, group_id: before.group_id, revoked_at: revokedAt });
      await recordAudit(tx, {
        tenant_id: tenant.id,
        actor: operator('admin token revoke'),
        action: 'token.revoke',
        target_type: 'token',
        target_id: before.id,
        before: state(null),
        after: state(at),
      });
      return { revoked: before.id };
    }),
  );
}

// ---- people -----------------------------------------------------------------

/** Usernames: what a person types at sign-in, so nothing that could be mistaken or hidden. */
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** A person as `appreg admin user list` prints it: never the password or its hash. */
export interface UserListEntry {
  id: string;
  username: string;
  security_admin: boolean;
  groups: Array<{ id: string; name: string; role: GroupRole }>;
  created_at: string;
}

function userEntry(u: UserRecord): UserListEntry {
  // Field by field, so nothing is added to the output by accident.
  return { id: u.id, username: u.username, security_admin: u.security_admin, groups: u.groups.map((g) => ({ id: g.id, name: g.name, role: g.role })), created_at: u.created_at };
}

/** The audit form of a person: who, with which rights; never the password. */
function userAudit(u: { id: string; username: string; security_admin: boolean; groups: ReadonlyArray<{ id: string; role: GroupRole }> }): object {
  return { user_id: u.id, username: u.username, security_admin: u.security_admin, groups: u.groups.map((g) => ({ group_id: g.id, role: g.role })) };
}

/**
 * Adds a person to a tenant. `member` and `adminOf` are group NAMES; a group
 * in both is an admin group (an admin is a member). The password is stored
 * only as a scrypt hash; it is never printed, logged or audited.
 */
export async function adminUserAdd(
  db: string,
  o: { tenant: string; username: string; password: string; member?: readonly string[]; adminOf?: readonly string[]; securityAdmin?: boolean },
): Promise<{ user_id: string }> {
  if (!USERNAME.test(o.username)) {
    throw new AdminError(
      `username must be 1 to 64 characters: letters, digits, ".", "_", "@" and "-", starting with a letter or digit (got ${JSON.stringify(o.username)})`,
    );
  }
  const problem = passwordProblem(o.password);
  if (problem !== undefined) throw new AdminError(`${problem}; give it on standard input`);
  // Hashed before the transaction: it takes tens of milliseconds, and holds no lock meanwhile.
  const passwordHash = await hashPassword(o.password);
  const roles = new Map<string, GroupRole>();
  for (const name of o.member ?? []) roles.set(name, 'member');
  for (const name of o.adminOf ?? []) roles.set(name, 'admin');
  return withDb(db, (d) =>
    d.transaction(async (tx) => {
      const tenant = await tenantNamed(tx, o.tenant);
      await tx.orderWrites(tenant.id);
      const groups: Array<{ id: string; name: string; role: GroupRole }> = [];
      for (const [name, role] of roles) {
        const g = await getGroupByName(tx, tenant.id, name);
        if (!g) throw new AdminError(`tenant ${JSON.stringify(o.tenant)} has no group named ${JSON.stringify(name)}; "appreg admin group list" shows its groups`);
        groups.push({ id: g.id, name: g.name, role });
      }
      const existing = await getUserLogin(tx, tenant.id, o.username);
      if (existing) {
        throw new AdminError(`tenant ${JSON.stringify(o.tenant)} already has a person named ${JSON.stringify(existing.username)} (usernames are unique whatever their case)`);
      }
      const user = { id: newId('usr'), tenant_id: tenant.id, username: o.username, password_hash: passwordHash, security_admin: o.securityAdmin === true, created_at: now() };
      await insertUser(tx, user, groups.map((g) => ({ group_id: g.id, role: g.role })));
      await recordAudit(tx, {
        tenant_id: tenant.id,
        actor: operator('admin user add'),
        action: 'user.create',
        target_type: 'user',
        target_id: user.id,
        before: null,
        after: userAudit({ ...user, groups }),
      });
      return { user_id: user.id };
    }),
  );
}

/** The people of one tenant, oldest first, with their groups and roles. */
export async function adminUserList(db: string, o: { tenant: string }): Promise<{ users: UserListEntry[] }> {
  return withDb(db, async (d) => {
    const tenant = await tenantNamed(d, o.tenant);
    return { users: (await listUsers(d, tenant.id)).map(userEntry) };
  });
}

/** Removes a person (by username, any case) and their group memberships. */
export async function adminUserRemove(db: string, o: { tenant: string; username: string }): Promise<{ removed: string }> {
  return withDb(db, (d) =>
    d.transaction(async (tx) => {
      const tenant = await tenantNamed(tx, o.tenant);
      await tx.orderWrites(tenant.id);
      const login = await getUserLogin(tx, tenant.id, o.username);
      const before = login && (await listUsers(tx, tenant.id, login.id))[0];
      if (!login || !before) {
        throw new AdminError(`tenant ${JSON.stringify(o.tenant)} has no person named ${JSON.stringify(o.username)}; "appreg admin user list" shows them`);
      }
      if (!(await deleteUser(tx, tenant.id, login.id))) {
        throw new AdminError(`${JSON.stringify(o.username)} was removed by someone else just now; nothing changed`);
      }
      await recordAudit(tx, {
        tenant_id: tenant.id,
        actor: operator('admin user remove'),
        action: 'user.delete',
        target_type: 'user',
        target_id: login.id,
        before: userAudit(before),
        after: null,
      });
      return { removed: login.id };
    }),
  );
}
