/**
 * Authentication: `Authorization: Bearer <token>` to a principal.
 *
 * Two kinds of bearer token reach the `/v1` API:
 * - service tokens (`art_…`, `appreg admin token create`), looked up by
 *   their SHA-256, so the stored form cannot be replayed;
 * - a person's access token, issued by the OpenID Connect provider to an app
 *   the person signed in to: anything else, handed to the provider's
 *   {@link PersonTokenResolver}. A service token never goes there, and the
 *   resolver's token never goes to the tokens table.
 *
 * There is deliberately no cache of tokens or of people: every request reads
 * its token's row (or asks the resolver) and, for a person, their record and
 * groups. So a token revoked by `appreg admin token revoke`, a person removed
 * by `appreg admin user remove`, or a membership taken away (from any
 * process, against any instance's database) applies to the very next request.
 */
import { hashCredential } from '../crypto';
import type { PersonPrincipal, Principal } from '../model';
import type { PersonToken, PersonTokenResolver } from '../oidc/access';
import type { SqlExecutor } from '../storage/database';
import { getUser, principalForTokenHash, touchToken, type UserRecord } from '../storage/repo';
import { ProblemError } from './problem';

/** How every service token begins (crypto.ts `newToken`); any other bearer token is a person's. */
export const SERVICE_TOKEN_PREFIX = 'art_';

/** What every service token looks like (crypto.ts newToken: the prefix and 32 random bytes in base64url). */
const SERVICE_TOKEN_SHAPE = /^art_[A-Za-z0-9_-]{43}$/;

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
 * The one answer to a bearer token this service does not accept, whatever
 * its kind and whatever the reason: a caller learns nothing from it about
 * which kind of token it guessed, or why it failed.
 */
function invalidToken(): ProblemError {
  return new ProblemError('unauthorized', 'The bearer token is not valid for this service.', {
    headers: { 'www-authenticate': 'Bearer realm="appreg", error="invalid_token"' },
  });
}

/** The principal of a person's access token, from the token and the person's current record. */
export function personPrincipal(t: PersonToken, u: UserRecord): PersonPrincipal {
  return {
    kind: 'person',
    token_id: t.token_ref,
    token_ref: t.token_ref,
    tenant_id: u.tenant_id,
    user_id: u.id,
    username: u.username,
    app_id: t.app_id,
    client_id: t.client_id,
    security_admin: u.security_admin,
    groups: u.groups.map((g) => ({ id: g.id, name: g.name, role: g.role })),
  };
}

/**
 * Resolves the caller of a request, or throws 401. For a service token,
 * records its last use when the stored time is older than
 * {@link LAST_USED_RESOLUTION_MS}. Any other token is a person's: resolved
 * by `personTokens`, then the person's security-admin flag and groups are
 * read from the database for this request.
 * @param onTouchError told when that bookkeeping write fails; the request
 *   goes on, since the token itself was valid
 * @param personTokens the OpenID Connect provider's access tokens; without
 *   it only service tokens are accepted
 */
export async function authenticate(
  db: SqlExecutor,
  authorization: string | undefined,
  onTouchError?: (err: unknown) => void,
  personTokens?: PersonTokenResolver,
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
  // By shape, not by prefix alone: a person's access token is 43 random base64url characters
  // and, once in 16.7 million, starts with "art_" too; a service token is "art_" and 43 more.
  if (!SERVICE_TOKEN_SHAPE.test(token)) return authenticatePerson(db, token, personTokens);
  const found = await principalForTokenHash(db, hashCredential(token));
  if (!found) throw invalidToken();
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

async function authenticatePerson(db: SqlExecutor, token: string, personTokens: PersonTokenResolver | undefined): Promise<PersonPrincipal> {
  if (personTokens === undefined) throw invalidToken();
  const resolved = await personTokens(token);
  if (resolved === undefined) throw invalidToken();
  // The rights come from the person's record now, not from when the token
  // was issued: the resolver vouches for the token, the database for the person.
  const user = await getUser(db, resolved.tenant_id, resolved.user_id);
  if (user === undefined) throw invalidToken();
  return personPrincipal(resolved, user);
}
