/**
 * The schema, as an ordered list of migrations that run on start.
 *
 * One schema serves both dialects: only the surrogate key type differs
 * (`{serial}`). Booleans are INTEGER 0/1, JSON is TEXT, timestamps are
 * RFC 3339 TEXT (which sort correctly as strings), so rows read back the same
 * on SQLite and PostgreSQL. Append migrations; never edit a released one.
 */
import type { Database } from './database';

const MIGRATIONS: readonly string[] = [
  // 1: the initial schema
  `
  CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    oauth_enabled INTEGER NOT NULL,
    sso_enabled INTEGER NOT NULL,
    settings_version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE app_groups (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, name)
  );
  CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    role TEXT NOT NULL,
    group_id TEXT REFERENCES app_groups(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );
  CREATE TABLE apps (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    group_id TEXT NOT NULL REFERENCES app_groups(id),
    client_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    callback_urls TEXT NOT NULL,
    scope TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    public_client INTEGER NOT NULL,
    require_pkce INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    secret_hash TEXT,
    secret_version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    UNIQUE (group_id, name)
  );
  CREATE INDEX apps_tenant_seq ON apps (tenant_id, seq);
  CREATE TABLE consents (
    seq {serial},
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    group_id TEXT NOT NULL REFERENCES app_groups(id),
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    UNIQUE (group_id, app_id)
  );
  CREATE INDEX consents_app ON consents (app_id);
  CREATE TABLE audit_events (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    before_state TEXT,
    after_state TEXT
  );
  CREATE INDEX audit_tenant_seq ON audit_events (tenant_id, seq);
  CREATE TABLE idempotency_keys (
    key_hash TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);
  `,
  // 2: keys the service makes once and keeps (the replay sealing key), and
  // what a stored replay is about, so a replay of an app that is gone, or of
  // a secret that was rotated since, is never sent
  `
  CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    material TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  ALTER TABLE idempotency_keys ADD COLUMN target_app_id TEXT;
  ALTER TABLE idempotency_keys ADD COLUMN target_secret_version INTEGER
  `,
  // 3: token bookkeeping for operators (`appreg admin token list/revoke`).
  // Tokens have had a stable public id (tokens.id, "tok_...") since 1, so
  // existing rows need none. last_used_at is written at most about once a
  // minute per token (see http/auth.ts); revoked_at marks a revoked token
  // instead of deleting it, so audit events that name it as their actor
  // still resolve to a role and group. Both start NULL for existing tokens.
  `
  ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
  ALTER TABLE tokens ADD COLUMN revoked_at TEXT
  `,
  // 4: people of a tenant (`appreg admin user ...`), who will sign in to the
  // registered apps. username_key is the username in lower case: usernames are
  // unique per tenant whatever their case, and sign-in finds them that way.
  // password_hash is scrypt with its parameters (see passwords.ts). A person's
  // groups carry a role: 'admin' (group_admin rights) or 'member' (read only).
  `
  CREATE TABLE users (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    username TEXT NOT NULL,
    username_key TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    security_admin INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, username_key)
  );
  CREATE TABLE user_groups (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES app_groups(id),
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, group_id)
  );
  CREATE INDEX user_groups_group ON user_groups (group_id)
  `,
  // 5: the OpenID Connect provider's state (oidc/store.ts). oidc_store keeps
  // what oidc-provider asks its adapter to keep: sessions, interactions,
  // grants, authorization and device codes, access and refresh tokens. Keys
  // are SHA-256 hashes of the ids (a token's id is the token), and each
  // payload is sealed with a key derived from the id (and, for lookups by
  // session uid or device user code, another copy sealed with that), so the
  // table alone gives nothing to sign in or call the API with. expires_at is
  // epoch seconds. oidc_grants remembers that a person allowed an app
  // ("asked once per person and app"); deleting the app or the person deletes it.
  `
  CREATE TABLE oidc_store (
    kind TEXT NOT NULL,
    id_hash TEXT NOT NULL,
    uid_hash TEXT,
    user_code_hash TEXT,
    grant_id TEXT,
    sealed TEXT NOT NULL,
    sealed_by_uid TEXT,
    sealed_by_user_code TEXT,
    consumed_at BIGINT,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id_hash)
  );
  CREATE INDEX oidc_store_uid ON oidc_store (uid_hash);
  CREATE INDEX oidc_store_user_code ON oidc_store (user_code_hash);
  CREATE INDEX oidc_store_grant ON oidc_store (grant_id);
  CREATE INDEX oidc_store_expires ON oidc_store (expires_at);
  CREATE TABLE oidc_grants (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, app_id)
  );
  CREATE INDEX oidc_grants_app ON oidc_grants (app_id)
  `,
];

/** Splits a migration into statements; none of ours contains a `;` inside a literal. */
function statements(sql: string): string[] {
  return sql.split(';').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Applies every migration the database has not seen yet, each in its own
 * transaction. Safe when several processes start at once: PostgreSQL takes
 * an advisory lock, SQLite's write transaction is exclusive.
 */
export async function migrate(db: Database): Promise<void> {
  await db.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)')
    .catch(async (err: unknown) => {
      // Two processes racing on CREATE TABLE IF NOT EXISTS can still collide
      // in PostgreSQL's catalog; the table exists either way.
      if (!db.dialect.isUniqueViolation(err)) throw err;
    });
  for (let i = 0; i < MIGRATIONS.length; i++) {
    const version = i + 1;
    await db.transaction(async (tx) => {
      if (db.dialect.name === 'postgres') {
        await tx.get('SELECT pg_advisory_xact_lock(4242001)');
      }
      const done = await tx.get('SELECT version FROM schema_migrations WHERE version = ?', [version]);
      if (done) return;
      const sql = MIGRATIONS[i]!.replace(/\{serial\}/g, db.dialect.serialPrimaryKey);
      for (const stmt of statements(sql)) await tx.run(stmt);
      await tx.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [version, new Date().toISOString()]);
    });
  }
}
