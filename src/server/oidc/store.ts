/**
 * Where the OpenID Connect provider keeps its state: the `oidc_store` table
 * of the service's own database, so that a restart or a second instance on
 * the same database sees the same sessions, codes and tokens.
 *
 * oidc-provider hands its adapter ids that are themselves credentials (an
 * opaque access token's id is the token; a session's id is its cookie; a
 * device's user code is what the person types). None of them is stored:
 * rows are found by the SHA-256 of the id, and the payload is sealed
 * (AES-256-GCM, see crypto.ts) with a key derived from the id, so the table
 * alone opens nothing. Lookups by a session's uid or a device's user code
 * get their own hash and their own sealed copy, opened with that value.
 *
 * This module does not import oidc-provider: the `/v1` API reads access
 * tokens through it (access.ts) without loading the provider.
 */
import { createHash } from 'node:crypto';
import { open, seal } from '../crypto';
import type { Database, SqlExecutor } from '../storage/database';

/** A payload as oidc-provider stores it (each model has its own fields). */
export type OidcPayload = Record<string, unknown> & {
  jti?: string;
  uid?: string;
  userCode?: string;
  grantId?: string;
  consumed?: number;
  exp?: number;
};

/** Models whose rows belong to a grant and go when it is revoked (as in oidc-provider's own memory adapter). */
const GRANTABLE = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'];

/** The stored key of `value` for model `kind`: a hash, never the value. */
function keyOf(kind: string, by: 'id' | 'uid' | 'user_code', value: string): string {
  return createHash('sha256').update(`appreg-oidc\0${kind}\0${by}\0${value}`, 'utf8').digest('hex');
}

function aad(kind: string, by: string): string {
  return `appreg oidc ${kind} by ${by}`;
}

/** Seconds since the epoch, as oidc-provider counts. */
export function epochSeconds(at = Date.now()): number {
  return Math.floor(at / 1000);
}

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  // PostgreSQL returns BIGINT as a string.
  return typeof v === 'number' ? v : Number(v);
}

interface StoreRow {
  sealed: string;
  sealed_by_uid: string | null;
  sealed_by_user_code: string | null;
  consumed_at: unknown;
  expires_at: unknown;
}

/** How long rows outlive their expiry before the sweep deletes them, and how often it runs. */
const SWEEP_EVERY_MS = 60_000;

/**
 * The storage of one model (`Session`, `AccessToken`, ...), with the
 * methods oidc-provider's adapter interface asks for.
 */
export class OidcStore {
  /** When this process last deleted expired rows (per database). */
  private static lastSweep = new WeakMap<SqlExecutor, number>();

  /**
   * @param db the service's database
   * @param kind the oidc-provider model name
   */
  constructor(
    private readonly db: Database,
    private readonly kind: string,
  ) {}

  /** Stores or replaces `id`'s payload, kept for `expiresIn` seconds. */
  async upsert(id: string, payload: OidcPayload, expiresIn: number | undefined): Promise<void> {
    const text = JSON.stringify(payload);
    const uid = typeof payload.uid === 'string' ? payload.uid : undefined;
    const userCode = typeof payload.userCode === 'string' ? payload.userCode : undefined;
    const grantId = typeof payload.grantId === 'string' ? payload.grantId : null;
    // Without an expiry oidc-provider means "as long as the session": a day at most here.
    const expiresAt = epochSeconds() + (typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : 24 * 3600);
    await this.db.run(
      'INSERT INTO oidc_store (kind, id_hash, uid_hash, user_code_hash, grant_id, sealed, sealed_by_uid, sealed_by_user_code, consumed_at, expires_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) ' +
        'ON CONFLICT (kind, id_hash) DO UPDATE SET uid_hash = excluded.uid_hash, user_code_hash = excluded.user_code_hash, ' +
        'grant_id = excluded.grant_id, sealed = excluded.sealed, sealed_by_uid = excluded.sealed_by_uid, ' +
        'sealed_by_user_code = excluded.sealed_by_user_code, expires_at = excluded.expires_at',
      [
        this.kind,
        keyOf(this.kind, 'id', id),
        uid === undefined ? null : keyOf(this.kind, 'uid', uid),
        userCode === undefined ? null : keyOf(this.kind, 'user_code', userCode),
        grantId,
        seal(id, aad(this.kind, 'id'), text),
        uid === undefined ? null : seal(uid, aad(this.kind, 'uid'), text),
        userCode === undefined ? null : seal(userCode, aad(this.kind, 'user_code'), text),
        expiresAt,
      ],
    );
    await this.sweep();
  }

  /** The payload of `id`, or undefined when unknown or expired. */
  async find(id: string): Promise<OidcPayload | undefined> {
    const r = await this.db.get<StoreRow>(
      'SELECT sealed, sealed_by_uid, sealed_by_user_code, consumed_at, expires_at FROM oidc_store WHERE kind = ? AND id_hash = ?',
      [this.kind, keyOf(this.kind, 'id', id)],
    );
    return this.opened(r, 'id', id, (row) => row.sealed);
  }

  /** The session whose uid is `uid`. */
  async findByUid(uid: string): Promise<OidcPayload | undefined> {
    const r = await this.db.get<StoreRow>(
      'SELECT sealed, sealed_by_uid, sealed_by_user_code, consumed_at, expires_at FROM oidc_store WHERE kind = ? AND uid_hash = ?',
      [this.kind, keyOf(this.kind, 'uid', uid)],
    );
    return this.opened(r, 'uid', uid, (row) => row.sealed_by_uid);
  }

  /** The device code whose user code is `userCode`. */
  async findByUserCode(userCode: string): Promise<OidcPayload | undefined> {
    const r = await this.db.get<StoreRow>(
      'SELECT sealed, sealed_by_uid, sealed_by_user_code, consumed_at, expires_at FROM oidc_store WHERE kind = ? AND user_code_hash = ?',
      [this.kind, keyOf(this.kind, 'user_code', userCode)],
    );
    return this.opened(r, 'user_code', userCode, (row) => row.sealed_by_user_code);
  }

  /** Marks `id` used (authorization and device codes, rotated refresh tokens). */
  async consume(id: string): Promise<void> {
    await this.db.run('UPDATE oidc_store SET consumed_at = ? WHERE kind = ? AND id_hash = ?', [epochSeconds(), this.kind, keyOf(this.kind, 'id', id)]);
  }

  /** Deletes `id`. */
  async destroy(id: string): Promise<void> {
    await this.db.run('DELETE FROM oidc_store WHERE kind = ? AND id_hash = ?', [this.kind, keyOf(this.kind, 'id', id)]);
  }

  /** Deletes every token and code of grant `grantId` (whatever this store's model). */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.run(`DELETE FROM oidc_store WHERE grant_id = ? AND kind IN (${GRANTABLE.map(() => '?').join(', ')})`, [grantId, ...GRANTABLE]);
  }

  private opened(
    r: StoreRow | undefined,
    by: 'id' | 'uid' | 'user_code',
    value: string,
    pick: (r: StoreRow) => string | null,
  ): OidcPayload | undefined {
    if (r === undefined) return undefined;
    const expiresAt = num(r.expires_at);
    if (expiresAt !== null && expiresAt <= epochSeconds()) return undefined;
    const sealed = pick(r);
    if (sealed === null) return undefined;
    let payload: OidcPayload;
    try {
      payload = JSON.parse(open(value, aad(this.kind, by), sealed)) as OidcPayload;
    } catch {
      // A hash match that does not open is not ours to trust (a damaged row): as if unknown.
      return undefined;
    }
    const consumed = num(r.consumed_at);
    return consumed === null ? payload : { ...payload, consumed };
  }

  /** Deletes expired rows, at most once a minute per process. */
  private async sweep(): Promise<void> {
    const at = Date.now();
    const last = OidcStore.lastSweep.get(this.db) ?? 0;
    if (at - last < SWEEP_EVERY_MS) return;
    OidcStore.lastSweep.set(this.db, at);
    await this.db.run('DELETE FROM oidc_store WHERE expires_at < ?', [epochSeconds(at) - 60]);
  }
}

/** Finds an access token for the `/v1` API: its payload, or undefined when unknown, expired or consumed. */
export async function findAccessToken(db: Database, token: string): Promise<OidcPayload | undefined> {
  const p = await new OidcStore(db, 'AccessToken').find(token);
  if (p === undefined || p.consumed !== undefined) return undefined;
  if (typeof p.exp === 'number' && p.exp <= epochSeconds()) return undefined;
  return p;
}
