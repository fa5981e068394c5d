/**
 * What the service needs to put the OpenID Connect provider in front of its
 * routes, without loading the provider (provider.ts loads `oidc-provider`
 * only when sign-in is on).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The paths the provider answers; everything else is the registration service's. */
export const OIDC_PREFIX = '/oauth/';
/** Where discovery is. */
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

/** The provider, ready to take requests. */
export interface SignIn {
  issuer: string;
  /** Whether a request path (without the query) belongs to the provider. */
  handles(path: string): boolean;
  /** Answers a request the provider {@link handles}. */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** Checks an `--issuer` value: an http(s) origin without path, query or fragment. @returns the normalised origin */
export function checkIssuer(issuer: string): string {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    throw new Error(`--issuer must be a URL such as https://login.example.com (got ${JSON.stringify(issuer)})`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`--issuer must be an http or https URL (got ${JSON.stringify(issuer)})`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
    throw new Error(
      `--issuer must be an origin without a path, query or user (got ${JSON.stringify(issuer)}): the provider answers at ` +
        `${DISCOVERY_PATH} and ${OIDC_PREFIX}... of that origin. Serve appreg at the root of its own host name.`,
    );
  }
  return u.origin;
}

