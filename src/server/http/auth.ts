/**
 * Authentication: `Authorization: Bearer <token>` to a principal. Tokens are
 * looked up by their SHA-256, so the stored form cannot be replayed.
 */
import { hashCredential } from '../crypto';
import type { Principal } from '../model';
import type { SqlExecutor } from '../storage/database';
import { principalForTokenHash } from '../storage/repo';
import { ProblemError } from './problem';

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i;

/** The token of an `Authorization: Bearer <token>` header, or undefined when the header has another form. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
}

/** Resolves the caller of a request, or throws 401. */
export async function authenticate(db: SqlExecutor, authorization: string | undefined): Promise<Principal> {
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
  const principal = await principalForTokenHash(db, hashCredential(token));
  if (!principal) {
    throw new ProblemError('unauthorized', 'The bearer token is not valid for this service.', {
      headers: { 'www-authenticate': 'Bearer realm="appreg", error="invalid_token"' },
    });
  }
  return principal;
}
