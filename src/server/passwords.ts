/**
 * People's passwords: stored with scrypt, a slow, memory-hard hash, because
 * unlike tokens and client secrets a password is chosen by a person and can
 * be guessed. The parameters are written into each stored hash, so they can
 * be raised later without breaking the hashes already stored.
 *
 * Stored form: `scrypt$<log2 N>$<r>$<p>$<salt, base64url>$<hash, base64url>`.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Cost of new hashes: N = 2^15, r = 8, p = 1 (32 MiB, tens of milliseconds; OWASP's minimum for scrypt is N = 2^17 with r = 8, p = 1 at 128 MiB, or this shape with more memory). */
const LOG2_N = 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** The shortest password a person may set. */
export const MIN_PASSWORD_LENGTH = 8;
/** The longest: the hash reads it all, so an unbounded one is a way to burn CPU. */
export const MAX_PASSWORD_LENGTH = 1024;

function derive(password: string, salt: Buffer, log2n: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** log2n;
  // scrypt needs 128·N·r bytes; Node refuses more than maxmem, whose default is exactly 32 MiB.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * Why `password` may not be set, or undefined when it may. Length only:
 * NIST SP 800-63B advises against composition rules.
 */
export function passwordProblem(password: string): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `the password must have at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `the password must have at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}

/** The stored form of a new password (a fresh salt each time). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, LOG2_N, R, P);
  return ['scrypt', LOG2_N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/**
 * Whether `password` matches the stored hash, compared in constant time. A
 * malformed stored value matches nothing. The stored value itself, offered
 * as a password, does not match (it is hashed like any other input).
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Bounds keep a damaged row from asking for gigabytes.
  if (![log2n, r, p].every(Number.isInteger) || log2n < 10 || log2n > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const want = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || want.length !== KEY_BYTES) return false;
  const got = await derive(password, salt, log2n, r, p);
  return timingSafeEqual(got, want);
}
