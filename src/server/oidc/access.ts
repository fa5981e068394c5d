/**
 * What the `/v1` API needs from the OpenID Connect provider: who a person's
 * access token belongs to. Kept apart from the provider itself so that the
 * API's authentication does not load `oidc-provider`.
 */
import { createHash } from 'node:crypto';
import type { Database } from '../storage/database';
import { mayUseApp, signInAppByClientId, signInPerson } from './apps';
import { findAccessToken } from './store';

/** A valid access token issued to a person, as the `/v1` API sees it. Never the token itself. */
export interface PersonToken {
  /** The person (`usr_…`). */
  user_id: string;
  /** The person's tenant (also the tenant of the app the token was issued to). */
  tenant_id: string;
  /** The app the token was issued to (`app_…`) and its client id. */
  app_id: string;
  client_id: string;
  /**
   * A non-secret reference to the token for logs, audit and rate limits:
   * `pat_` and the first 16 hex characters of the SHA-256 of the token.
   */
  token_ref: string;
}

/**
 * Resolves a bearer token that is not a service token (`art_…`) to the
 * person it was issued to, or undefined when it is not a valid access token
 * right now: unknown, expired, revoked, issued to an app that has since been
 * disabled or deleted, in a tenant with OAuth off, or to a person removed
 * since. Checked on every request, so each of these takes effect at once.
 */
export type PersonTokenResolver = (token: string) => Promise<PersonToken | undefined>;

/**
 * The resolver of the service's database: the access token must be stored
 * (issued by this service's OpenID Connect provider, on any instance),
 * unexpired and not revoked; its app must still sign people in (enabled,
 * tenant OAuth on); its person must still exist and still be allowed to use
 * the app (member of its group, or of a group that consented).
 */
export function personTokenResolver(db: Database): PersonTokenResolver {
  return async (token) => {
    // Opaque access tokens are 43 base64url characters (256 bits); anything else is not one of ours.
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const p = await findAccessToken(db, token);
    if (p === undefined || typeof p.accountId !== 'string' || typeof p.clientId !== 'string') return undefined;
    const app = await signInAppByClientId(db, p.clientId);
    if (app === undefined) return undefined;
    const person = await signInPerson(db, p.accountId);
    if (person === undefined || person.tenant_id !== app.tenant_id) return undefined;
    if (!(await mayUseApp(db, person.id, app))) return undefined;
    return {
      user_id: person.id,
      tenant_id: person.tenant_id,
      app_id: app.id,
      client_id: app.client_id,
      token_ref: tokenRef(token),
    };
  };
}

/** The non-secret reference of a person's access token (see {@link PersonToken.token_ref}). */
export function tokenRef(token: string): string {
  return `pat_${createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16)}`;
}
