/**
 * `Idempotency-Key` on POST: the first successful answer is kept for 24
 * hours and replayed to every retry with the same key, and the work is never
 * done twice.
 *
 * How concurrent retries are kept from creating twice: the first thing a
 * request does in its transaction is to claim the key (insert its row). A
 * second request with the same key blocks on that row (PostgreSQL) or waits
 * for the transaction queue (SQLite), and then finds the stored answer
 * instead of doing the work. Only successful answers are kept: a failed
 * request rolls its claim back, so a retry after fixing the cause runs anew.
 *
 * A replay is only sent while it is still true: an answer about an app
 * (a create, a rotation) records the app and the secret version it shows,
 * and once that app is gone or its secret was rotated since, the key runs
 * anew instead. So a provider that derives its key from the intent ("make
 * this app", "rotate to these triggers") adopts its own lost create, yet a
 * create after the app was deleted makes a new app, never a dead one.
 *
 * The stored answer may hold a client secret. It is sealed with AES-256-GCM
 * under a key derived (HKDF) from the Idempotency-Key, the caller's bearer
 * token and the service's replay key (made once, kept in the database; see
 * keys.ts); the Idempotency-Key is stored only as a hash, the token only as
 * the hash it is looked up by. Keys derived from an intent are guessable
 * from the app's own row, so neither the key alone nor a copy of the
 * database opens a replay: that takes the token the caller holds.
 * Keys are per token: another caller's identical key is a different record.
 */
import type { FastifyRequest } from 'fastify';
import { open, seal, sha256 } from '../crypto';
import { REPLAY_KEY, serverKey } from '../keys';
import { type App, appJson, now, type Principal } from '../model';
import { tenantTransaction, type Database, type SqlExecutor, type Transaction } from '../storage/database';
import {
  claimIdempotency,
  completeIdempotency,
  deleteIdempotency,
  getApp,
  getIdempotency,
  purgeIdempotency,
} from '../storage/repo';
import { etag } from './context';
import { bearerToken } from './auth';
import { ProblemError } from './problem';

/** How long an answer is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** An answer as stored for replay. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** What an answer is about: the app, and the secret version the answer shows (0 for none). */
export interface ReplayTarget {
  app_id: string;
  secret_version: number;
}

/** What the work of an idempotent request produces: its answer, and what that answer is about. */
export interface WorkResult extends StoredResponse {
  /** Set when the answer shows an app (and maybe its secret): a replay is sent only while it is still current. */
  target?: ReplayTarget;
}

/** An answer, and whether it is a replay of an earlier one. */
export interface Outcome extends StoredResponse {
  replayed: boolean;
}

/** The key of one request, resolved. */
export interface IdempotencyContext {
  key: string;
  /** The caller's bearer token: part of the sealing material, never stored or logged. */
  bearer: string;
  keyHash: string;
  tokenId: string;
  fingerprint: string;
}

const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

/**
 * Reads `Idempotency-Key` from a request, or undefined when there is none.
 * Throws 400 for a malformed key.
 */
export function idempotencyContext(req: FastifyRequest, p: Principal): IdempotencyContext | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw.join(',') : raw;
  if (!KEY_SHAPE.test(key)) {
    throw new ProblemError('bad-request', 'Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID; send one header only.');
  }
  const bearer = bearerToken(req.headers.authorization);
  if (bearer === undefined) throw new Error('bug: idempotent request without a bearer token');
  return {
    key,
    bearer,
    keyHash: sha256(`${p.token_id}\n${key}`),
    tokenId: p.token_id,
    // The bytes as sent: a retry sends the same ones, and hashing them cannot
    // fail the way re-serializing a pathologically nested body could.
    fingerprint: sha256(`${req.method} ${req.url}\n${req.rawBody ?? ''}`),
  };
}

/** Thrown inside a transaction that lost the race to claim a key; the caller retries. */
class ClaimLost extends Error {}

/**
 * The material a replay is sealed under: the service's replay key, the
 * caller's bearer token and its Idempotency-Key. The database holds the
 * first, only a hash of the token, and (for keys derived from an intent)
 * everything needed to guess the last; without the token a copy of the
 * database opens no replay.
 */
function sealingMaterial(replayKey: string, ctx: IdempotencyContext): string {
  return `${replayKey}\n${ctx.bearer}\n${ctx.key}`;
}

async function replay(tx: SqlExecutor, ctx: IdempotencyContext, t: string, tenantId: string, replayKey: string): Promise<Outcome | undefined> {
  const rec = await getIdempotency(tx, ctx.keyHash);
  if (!rec) return undefined;
  const current = rec.expires_at <= t ? undefined : await currentTarget(tx, tenantId, rec);
  if (current === undefined) {
    // Expired, or about an app that is gone or a secret rotated since: the request runs anew.
    await deleteIdempotency(tx, ctx.keyHash);
    return undefined;
  }
  if (rec.fingerprint !== ctx.fingerprint) {
    throw new ProblemError(
      'invalid-request',
      'This Idempotency-Key was already used for a different request (another path or body); use a new key for a new request.',
    );
  }
  if (rec.response === null) throw new Error('idempotency record without a response outside its transaction');
  let text: string;
  try {
    text = open(sealingMaterial(replayKey, ctx), ctx.keyHash, rec.response);
  } catch {
    // Sealed under another replay key (a record older than the key): it cannot be replayed, so run anew.
    await deleteIdempotency(tx, ctx.keyHash);
    return undefined;
  }
  const stored = JSON.parse(text) as StoredResponse;
  if (current === null) return { ...stored, replayed: true };
  // The app as it is now, with the secret of the first answer (still the current one, checked
  // above): a caller adopting its lost answer gets the app's present fields and version, not
  // those of a day ago, so its next conditional write does not fail on a stale ETag.
  return {
    status: stored.status,
    headers: { ...stored.headers, etag: etag(current.version) },
    body: { ...(stored.body as object), ...appJson(current) },
    replayed: true,
  };
}

/**
 * The app a stored answer shows, if it still exists with the secret version
 * the answer shows; null for an answer about no app; undefined when the
 * answer is no longer true and must not be replayed.
 */
async function currentTarget(
  tx: SqlExecutor,
  tenantId: string,
  rec: { target_app_id: string | null; target_secret_version: number | null },
): Promise<App | null | undefined> {
  if (rec.target_app_id === null) return null;
  const app = await getApp(tx, tenantId, rec.target_app_id);
  return app !== undefined && app.secret_version === rec.target_secret_version ? app : undefined;
}

/**
 * Runs `work` in a transaction, honouring an Idempotency-Key when `ctx` is
 * given. `work` returns the answer on success and throws (a ProblemError)
 * otherwise.
 */
export async function runIdempotent(
  db: Database,
  tenantId: string,
  ctx: IdempotencyContext | undefined,
  work: (tx: Transaction) => Promise<WorkResult>,
): Promise<Outcome> {
  if (!ctx) {
    const { target: _target, ...out } = await tenantTransaction(db, tenantId, work);
    return { ...out, replayed: false };
  }
  const replayKey = await serverKey(db, REPLAY_KEY);
  for (let attempt = 0; ; attempt++) {
    try {
      return await tenantTransaction(db, tenantId, async (tx) => {
        const t = now();
        const earlier = await replay(tx, ctx, t, tenantId, replayKey);
        if (earlier) return earlier;
        try {
          await claimIdempotency(tx, {
            key_hash: ctx.keyHash,
            token_id: ctx.tokenId,
            fingerprint: ctx.fingerprint,
            response: null,
            created_at: t,
            expires_at: new Date(Date.parse(t) + IDEMPOTENCY_TTL_MS).toISOString(),
            target_app_id: null,
            target_secret_version: null,
          });
        } catch (err) {
          if (tx.dialect.isUniqueViolation(err)) throw new ClaimLost();
          throw err;
        }
        const { target, ...out } = await work(tx);
        await completeIdempotency(tx, ctx.keyHash, seal(sealingMaterial(replayKey, ctx), ctx.keyHash, JSON.stringify(out)), target);
        await purgeIdempotency(tx, t);
        return { ...out, replayed: false };
      });
    } catch (err) {
      // The winner has committed by now; the next attempt replays its answer.
      if (err instanceof ClaimLost && attempt < 5) continue;
      throw err;
    }
  }
}
