/**
 * Where the console lives. Kept apart so that the OpenID Connect provider can
 * name the console's redirect URI without loading the console (and the other
 * way round).
 */

/** The console's prefix: everything under it is the console's. */
export const CONSOLE_PREFIX = '/console';

/** The console client's one redirect URI, relative to the issuer. */
export const CONSOLE_CALLBACK_PATH = '/console/callback';
