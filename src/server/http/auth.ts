/**
 * Authentication: `Authorization: Bearer <token>` to a principal. Tokens are
 * looked up by their SHA-256, so the stored form cannot be replayed.
 *
 * There is deliberately no cache of tokens: every request reads its token's
 * row, so a token revoked by `appreg admin token revoke` (from any process,
 * against any instance's database) is refused on its very next request.
 */
import { hashCredential } from '../crypto';
import type { Principal } from '../model';
import type { SqlExecutor } from '../storage/database';
import { principalForTokenHash, touchToken } from '../storage/repo';
import { ProblemError } from './problem';

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i;

/** The token of an `Authorization: Bearer <token>` header, or undefined when the header has another form. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
}

/**
 * How stale a token's `last_used_at` may get before a request writes it
 * again: it is recorded "to the minute". A write on every request would turn
 * every read into a write (and on SQLite, one that waits for the file's single
 * write lock), so a token used continuously costs one write a minute.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Resolves the caller of a request, or throws 401. Records the token's last
 * use when the stored time is older than {@link LAST_USED_RESOLUTION_MS}.
 * @param onTouchError told when that bookkeeping write fails; the request
 *   goes on, since the token itself was valid
 */
export async function authenticate(
  db: SqlExecutor,
  authorization: string | undefined,
  onTouchError?: (err: unknown) => void,
): Promise<Principal> {
  if (authorization === undefined || authorization.trim() === '') {
    throw new ProblemError('unauthorized', 'This route needs "Authorization: Bearer <token>"; an operator creates tokens with "appreg admin token create".', {
      headers: { 'www-authenticate': 'Bearer realm="appreg"' },
    });
  }
  const token = bearerToken(authorization);
  if (token === undefined) {
    throw new ProblemError('unauthorized', 'The Authorization header must have the form "Bearer <token>".', {
      headers: { 'www-authenticate': 'Bearer realm="appreg", error="invalid_request"' },
    });
  }
  const found = await principalForTokenHash(db, hashCredential(token));
  if (!found) {
    throw new ProblemError('unauthorized', 'The bearer token is not valid for this service.', {
      headers: { 'www-authenticate': 'Bearer realm="appreg", error="invalid_token"' },
    });
  }
  const at = Date.now();
  if (found.last_used_at === null || Date.parse(found.last_used_at) < at - LAST_USED_RESOLUTION_MS) {
    // Conditional in SQL as well (touchToken): several instances on one
    // database that all saw the stale value write it once between them.
    try {
      await touchToken(db, found.principal.token_id, new Date(at).toISOString(), new Date(at - LAST_USED_RESOLUTION_MS).toISOString());
    } catch (err) {
      onTouchError?.(err);
    }
  }
  return found.principal;
}
