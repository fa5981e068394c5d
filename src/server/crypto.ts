/**
 * Identifiers, credentials and the hashing and encryption around them.
 *
 * Client secrets and tokens are 256-bit random values. Because they are
 * high-entropy, a single SHA-256 is a safe way to store them: there is
 * nothing to guess, so a slow password hash would only cost latency.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case: no i, l, o, u

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Prefixes of the service's opaque ids. */
export type IdPrefix = 'ten' | 'grp' | 'app' | 'tok' | 'evt' | 'usr';

/** A new opaque id such as `app_0f3k...` (26 base32 characters, 130 random bits). */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${base32(randomBytes(17)).slice(0, 26)}`;
}

/** True when `s` has the shape of an id with that prefix; anything else cannot exist. */
export function isId(prefix: IdPrefix, s: string): boolean {
  return s.length === prefix.length + 27 && s.startsWith(`${prefix}_`) && /^[0-9a-z]+$/.test(s.slice(prefix.length + 1));
}

/** A new public client id (not secret, but unguessable so it reveals nothing about other apps). */
export function newClientId(): string {
  return base32(randomBytes(20));
}

/** A new client secret, shown once. The prefix makes leaked secrets easy to scan for. */
export function newClientSecret(): string {
  return `ars_${randomBytes(32).toString('base64url')}`;
}

/** A new API token, shown once. */
export function newToken(): string {
  return `art_${randomBytes(32).toString('base64url')}`;
}

/** The stored form of a secret or token: hex SHA-256. */
export function hashCredential(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Hex SHA-256 of some text (fingerprints, lookup keys). */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** An AES-256-GCM envelope, all fields base64. */
interface Envelope {
  v: 1;
  salt: string;
  iv: string;
  tag: string;
  data: string;
}

const HKDF_INFO = Buffer.from('appreg idempotency replay v1');

function deriveKey(secretKeyMaterial: string, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secretKeyMaterial, 'utf8'), salt, HKDF_INFO, 32));
}

/**
 * Encrypts `plaintext` with a key derived (HKDF-SHA256, random salt) from
 * `keyMaterial`, bound to `aad`. Used for stored replays of responses that
 * carry a secret: only a caller who presents the same Idempotency-Key can
 * decrypt them, and the key itself is stored only as a hash.
 */
export function seal(keyMaterial: string, aad: string, plaintext: string): string {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(keyMaterial, salt), iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const env: Envelope = {
    v: 1,
    salt: salt.toString('base64'),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return JSON.stringify(env);
}

/** Reverses {@link seal}; throws when the key or the data is wrong. */
export function open(keyMaterial: string, aad: string, sealed: string): string {
  const env = JSON.parse(sealed) as Envelope;
  if (env.v !== 1) throw new Error(`unknown envelope version ${String(env.v)}`);
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(keyMaterial, Buffer.from(env.salt, 'base64')), Buffer.from(env.iv, 'base64'));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(Buffer.from(env.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(env.data, 'base64')), decipher.final()]).toString('utf8');
}
