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
 * The stored answer may hold a client secret. It is sealed with AES-256-GCM
 * under a key derived (HKDF) from the Idempotency-Key, and the key itself is
 * stored only as a hash, so the database alone cannot reveal the secret.
 * Keys are per token: another caller's identical key is a different record.
 */
import type { FastifyRequest } from 'fastify';
import { open, seal, sha256 } from '../crypto';
import type { Principal } from '../model';
import { now } from '../model';
import { tenantTransaction, type Database, type SqlExecutor, type Transaction } from '../storage/database';
import {
  claimIdempotency,
  completeIdempotency,
  deleteIdempotency,
  getIdempotency,
  purgeIdempotency,
} from '../storage/repo';
import { ProblemError } from './problem';

/** How long an answer is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** An answer as stored for replay. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** An answer, and whether it is a replay of an earlier one. */
export interface Outcome extends StoredResponse {
  replayed: boolean;
}

/** The key of one request, resolved. */
export interface IdempotencyContext {
  key: string;
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
  return {
    key,
    keyHash: sha256(`${p.token_id}\n${key}`),
    tokenId: p.token_id,
    // The bytes as sent: a retry sends the same ones, and hashing them cannot
    // fail the way re-serializing a pathologically nested body could.
    fingerprint: sha256(`${req.method} ${req.url}\n${req.rawBody ?? ''}`),
  };
}

/** Thrown inside a transaction that lost the race to claim a key; the caller retries. */
class ClaimLost extends Error {}

async function replay(tx: SqlExecutor, ctx: IdempotencyContext, t: string): Promise<Outcome | undefined> {
  const rec = await getIdempotency(tx, ctx.keyHash);
  if (!rec) return undefined;
  if (rec.expires_at <= t) {
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
  const stored = JSON.parse(open(ctx.key, ctx.keyHash, rec.response)) as StoredResponse;
  return { ...stored, replayed: true };
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
  work: (tx: Transaction) => Promise<StoredResponse>,
): Promise<Outcome> {
  if (!ctx) {
    const out = await tenantTransaction(db, tenantId, work);
    return { ...out, replayed: false };
  }
  for (let attempt = 0; ; attempt++) {
    try {
      return await tenantTransaction(db, tenantId, async (tx) => {
        const t = now();
        const earlier = await replay(tx, ctx, t);
        if (earlier) return earlier;
        try {
          await claimIdempotency(tx, {
            key_hash: ctx.keyHash,
            token_id: ctx.tokenId,
            fingerprint: ctx.fingerprint,
            response: null,
            created_at: t,
            expires_at: new Date(Date.parse(t) + IDEMPOTENCY_TTL_MS).toISOString(),
          });
        } catch (err) {
          if (tx.dialect.isUniqueViolation(err)) throw new ClaimLost();
          throw err;
        }
        const out = await work(tx);
        await completeIdempotency(tx, ctx.keyHash, seal(ctx.key, ctx.keyHash, JSON.stringify(out)));
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
