/**
 * Keys the service makes once and keeps in its database, so that restarts
 * and several instances on one database agree on them.
 *
 * The first is the replay sealing key. Stored replays of answers that carry
 * a client secret are sealed with a key derived from this and from the
 * caller's Idempotency-Key: the provider derives its keys from what it is
 * about to do (so a retry from a new process is recognised), which makes
 * them guessable, and the Idempotency-Key alone must not open a replay.
 */
import { generateKeyPairSync, type JsonWebKey, randomBytes } from 'node:crypto';
import { now } from './model';
import type { Database } from './storage/database';
import { getServerKey, insertServerKey } from './storage/repo';

/** Name of the replay sealing key in `server_keys`. */
export const REPLAY_KEY = 'idempotency-replay-v1';

/** The OpenID Connect provider's signing keys (a JWKS of private keys, JSON) in `server_keys`. */
export const OIDC_SIGNING_KEYS = 'oidc-signing-jwks-v1';

/** The key that signs the OpenID Connect provider's cookies in `server_keys`. */
export const OIDC_COOKIE_KEY = 'oidc-cookie-v1';

/**
 * A new signing key set: RS256 (what OpenID Connect clients expect by
 * default) and ES256, as private JWKs with key ids.
 */
export function makeSigningKeys(): string {
  const jwk = (k: ReturnType<typeof generateKeyPairSync>['privateKey'], alg: string): JsonWebKey & { kid: string; alg: string; use: string } => ({
    ...k.export({ format: 'jwk' }),
    kid: randomBytes(12).toString('base64url'),
    alg,
    use: 'sig',
  });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return JSON.stringify({ keys: [jwk(rsa.privateKey, 'RS256'), jwk(ec.privateKey, 'ES256')] });
}

const cache = new WeakMap<Database, Map<string, Promise<string>>>();

async function loadOrMake(db: Database, name: string, make: () => string): Promise<string> {
  const existing = await getServerKey(db, name);
  if (existing !== undefined) return existing;
  try {
    await insertServerKey(db, name, make(), now());
  } catch (err) {
    // Another instance made it at the same moment; theirs is the one.
    if (!db.dialect.isUniqueViolation(err)) throw err;
  }
  const made = await getServerKey(db, name);
  if (made === undefined) throw new Error(`bug: server key ${name} missing right after it was stored`);
  return made;
}

/**
 * The key `name` of this database, made on first use by `make` (by default
 * 256 random bits, base64); when two instances make it at once, both end up
 * with the one stored first.
 * Read once per process: a key is never changed once made.
 */
export function serverKey(db: Database, name: string, make: () => string = () => randomBytes(32).toString('base64')): Promise<string> {
  let keys = cache.get(db);
  if (!keys) {
    keys = new Map();
    cache.set(db, keys);
  }
  let key = keys.get(name);
  if (!key) {
    key = loadOrMake(db, name, make);
    // A failed read (database down) must not stick: the next request tries again.
    key.catch(() => keys!.delete(name));
    keys.set(name, key);
  }
  return key;
}
