/**
 * The registrations as the OpenID Connect provider sees them, read from the
 * service's own tables on every request (no cache), so a rotation, a
 * disable, a delete, a consent withdrawn or the tenant's OAuth or SSO switch
 * takes effect on the very next request. Also the rule of who may sign in.
 *
 * Plain SQL, no oidc-provider: the `/v1` API uses it too (access.ts).
 */
import type { SqlExecutor } from '../storage/database';
import type { GrantType, Scope } from '../../rules';

/** An app that may take part in sign-in right now, with what the provider needs to know. */
export interface SignInApp {
  id: string;
  tenant_id: string;
  group_id: string;
  group_name: string;
  client_id: string;
  name: string;
  callback_urls: string[];
  scope: Scope;
  grant_types: GrantType[];
  public_client: boolean;
  require_pkce: boolean;
  /** SHA-256 hex of the current secret; null for public clients (and imported apps never rotated). */
  secret_hash: string | null;
  /** The tenant uses single sign-on: no device grant. */
  sso_enabled: boolean;
  /**
   * Set only for the console client (`console.<tenant_id>`): the product's
   * own sign-in, which is not a row in apps (see {@link consoleClientId}).
   */
  console?: true;
}

/** What every console client id starts with; registered client ids are base32 and never hold a dot. */
export const CONSOLE_CLIENT_PREFIX = 'console.';

/** The name the console has on the sign-in screen and in the audit log. */
export const CONSOLE_CLIENT_NAME = 'appreg console';

/**
 * The client id of the console of a tenant. One client per tenant, so that
 * the sign-in screen knows the tenant (usernames are per tenant) before
 * anyone has signed in, and tokens issued to it are bound to that tenant.
 */
export function consoleClientId(tenantId: string): string {
  return `${CONSOLE_CLIENT_PREFIX}${tenantId}`;
}

/** The tenant id of a console client id, or undefined when `clientId` is not one (by shape only). */
export function consoleTenantOf(clientId: string): string | undefined {
  if (!clientId.startsWith(CONSOLE_CLIENT_PREFIX)) return undefined;
  const tenantId = clientId.slice(CONSOLE_CLIENT_PREFIX.length);
  // Tenant ids are `ten_` and 26 base32 characters (crypto.ts newId).
  return /^ten_[0-9a-z]{26}$/.test(tenantId) ? tenantId : undefined;
}

/**
 * The console client of a tenant, as a {@link SignInApp}, or undefined when
 * the tenant does not exist. Unlike a registered app it does not depend on
 * the tenant's OAuth switch: a security admin must be able to sign in to
 * the console to switch OAuth on. `callback_urls` is empty here (this module
 * does not know the issuer); the provider fills in `<issuer>/console/callback`.
 */
async function consoleApp(db: SqlExecutor, clientId: string, tenantId: string): Promise<SignInApp | undefined> {
  const t = await db.get<Record<string, unknown>>('SELECT id, sso_enabled FROM tenants WHERE id = ?', [tenantId]);
  if (t === undefined) return undefined;
  return {
    id: clientId,
    tenant_id: tenantId,
    group_id: '',
    group_name: '',
    client_id: clientId,
    name: CONSOLE_CLIENT_NAME,
    callback_urls: [],
    scope: 'organization',
    grant_types: ['authorization_code'],
    public_client: true,
    require_pkce: true,
    secret_hash: null,
    sso_enabled: bool(t.sso_enabled),
    console: true,
  };
}

function bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 't';
}

/**
 * The app with this client id if it may sign people in now: it exists, is
 * enabled, and its tenant has OAuth on. Anything else is undefined, which
 * the provider answers with `invalid_client`. A console client id
 * (`console.<tenant_id>`) gives that tenant's console client whenever the
 * tenant exists.
 */
export async function signInAppByClientId(db: SqlExecutor, clientId: string): Promise<SignInApp | undefined> {
  const consoleTenant = consoleTenantOf(clientId);
  if (consoleTenant !== undefined) return consoleApp(db, clientId, consoleTenant);
  // Client ids are 32 base32 characters; anything else cannot exist (and is not worth a query).
  if (!/^[a-z0-9]{16,64}$/.test(clientId)) return undefined;
  const r = await db.get<Record<string, unknown>>(
    'SELECT a.id, a.tenant_id, a.group_id, g.name AS group_name, a.client_id, a.name, a.callback_urls, a.scope, a.grant_types, ' +
      'a.public_client, a.require_pkce, a.enabled, a.secret_hash, t.oauth_enabled, t.sso_enabled ' +
      'FROM apps a JOIN tenants t ON t.id = a.tenant_id JOIN app_groups g ON g.id = a.group_id WHERE a.client_id = ?',
    [clientId],
  );
  if (r === undefined || !bool(r.enabled) || !bool(r.oauth_enabled)) return undefined;
  return {
    id: String(r.id),
    tenant_id: String(r.tenant_id),
    group_id: String(r.group_id),
    group_name: String(r.group_name),
    client_id: String(r.client_id),
    name: String(r.name),
    callback_urls: JSON.parse(String(r.callback_urls)) as string[],
    scope: String(r.scope) as Scope,
    grant_types: JSON.parse(String(r.grant_types)) as GrantType[],
    public_client: bool(r.public_client),
    require_pkce: bool(r.require_pkce) || bool(r.public_client),
    secret_hash: r.secret_hash === null || r.secret_hash === undefined ? null : String(r.secret_hash),
    sso_enabled: bool(r.sso_enabled),
  };
}

/** A person as sign-in needs them. */
export interface SignInPerson {
  id: string;
  tenant_id: string;
  username: string;
}

/** A person by id, or undefined when removed. */
export async function signInPerson(db: SqlExecutor, userId: string): Promise<SignInPerson | undefined> {
  const r = await db.get<Record<string, unknown>>('SELECT id, tenant_id, username FROM users WHERE id = ?', [userId]);
  return r === undefined ? undefined : { id: String(r.id), tenant_id: String(r.tenant_id), username: String(r.username) };
}

/**
 * Who may sign in to an app (DOMAIN.md): a person of the app's tenant who
 * belongs to the app's group, or, for an organization-scoped app, to a group
 * that has added consent to it. The role in the group does not matter.
 * The console is the product itself: any person of its tenant may use it
 * (what they may do there is the /v1 API's business, authz.ts).
 */
export async function mayUseApp(db: SqlExecutor, userId: string, app: Pick<SignInApp, 'id' | 'tenant_id' | 'group_id' | 'scope' | 'console'>): Promise<boolean> {
  if (app.console === true) {
    return (await db.get('SELECT 1 AS ok FROM users WHERE id = ? AND tenant_id = ?', [userId, app.tenant_id])) !== undefined;
  }
  const own = await db.get(
    'SELECT 1 AS ok FROM user_groups ug JOIN users u ON u.id = ug.user_id WHERE ug.user_id = ? AND u.tenant_id = ? AND ug.group_id = ?',
    [userId, app.tenant_id, app.group_id],
  );
  if (own !== undefined) return true;
  if (app.scope !== 'organization') return false;
  const consenting = await db.get(
    'SELECT 1 AS ok FROM user_groups ug JOIN users u ON u.id = ug.user_id JOIN consents c ON c.group_id = ug.group_id ' +
      'WHERE ug.user_id = ? AND u.tenant_id = ? AND c.app_id = ? AND c.tenant_id = ?',
    [userId, app.tenant_id, app.id, app.tenant_id],
  );
  return consenting !== undefined;
}

/** Remembers that a person allowed an app (the consent screen is asked once per person and app). */
export async function rememberAllowed(db: SqlExecutor, userId: string, appId: string, scope: string, at: string): Promise<void> {
  await db.run(
    'INSERT INTO oidc_grants (user_id, app_id, scope, created_at) VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT (user_id, app_id) DO UPDATE SET scope = excluded.scope',
    [userId, appId, scope, at],
  );
}

/** The scopes a person allowed an app before, or undefined when never asked (or the answer was Deny). */
export async function allowedBefore(db: SqlExecutor, userId: string, appId: string): Promise<string[] | undefined> {
  const r = await db.get<{ scope: string }>('SELECT scope FROM oidc_grants WHERE user_id = ? AND app_id = ?', [userId, appId]);
  return r === undefined ? undefined : r.scope.split(' ').filter((s) => s !== '');
}
