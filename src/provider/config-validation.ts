/**
 * Plan-time and configure-time checks of the provider block: the endpoint
 * (http only to a loopback host unless allowed), the token, and the
 * environment variable `allow_insecure_http` falls back to.
 */
import { attributeError as error, knownString, type ConfigObject } from '../framework/validate';
import { isUnknown, type Diagnostic } from '../tfplugin/types';

/** The environment variable `allow_insecure_http` falls back to. */
export const ALLOW_INSECURE_HTTP_ENV = 'APPREG_ALLOW_INSECURE_HTTP';

/** The environment the provider configuration falls back to (only the variables named here are read). */
export type ProviderEnv = { readonly [name: string]: string | undefined };

/**
 * Whether a URL's hostname, as `new URL()` gives it, is a loopback host:
 * `localhost`, `127.0.0.0/8` or `[::1]`. The URL parser has already turned
 * every IPv4 spelling (`127.1`, `0x7f.0.0.1`) and IPv6 spelling
 * (`[0:0:0:0:0:0:0:1]`) into its canonical form, and refused octets over 255.
 */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Reads `APPREG_ALLOW_INSECURE_HTTP`: `true` or `1` allow, unset, empty,
 * `false` or `0` do not (any case, surrounding spaces ignored); anything else
 * is undefined, which the caller reports rather than guessing.
 */
export function parseAllowInsecureHttpEnv(raw: string | undefined): boolean | undefined {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === '' || v === 'false' || v === '0') return false;
  return undefined;
}

/**
 * `allow_insecure_http` as the provider will use it: the attribute when set,
 * else the environment variable, else false. `unknown` while Terraform does
 * not know the attribute yet. An environment value that is neither yes nor no
 * counts as no and comes with an error diagnostic.
 */
export function resolveAllowInsecureHttp(config: ConfigObject, env: ProviderEnv): { allow: boolean | 'unknown'; diagnostics: Diagnostic[] } {
  const v = config.allow_insecure_http;
  if (isUnknown(v)) return { allow: 'unknown', diagnostics: [] };
  if (typeof v === 'boolean') return { allow: v, diagnostics: [] };
  const raw = env[ALLOW_INSECURE_HTTP_ENV];
  const parsed = parseAllowInsecureHttpEnv(raw);
  if (parsed !== undefined) return { allow: parsed, diagnostics: [] };
  return {
    allow: false,
    diagnostics: [error(
      `Invalid ${ALLOW_INSECURE_HTTP_ENV}`,
      `The ${ALLOW_INSECURE_HTTP_ENV} environment variable must be true, 1, false, 0 or empty (got ${JSON.stringify(raw)}); it stands in for allow_insecure_http when the provider block does not set it.`,
      ['allow_insecure_http'],
    )],
  };
}

/**
 * Checks one endpoint: an absolute http or https URL, and plain http only on a
 * loopback host unless `allowInsecureHttp`. Over plain http to another host the
 * bearer token (every request) and client secrets (create and rotate
 * responses) would cross the network unencrypted. Diagnostics are at path
 * `endpoint`, also when the value came from `APPREG_ENDPOINT`.
 * @param origin what to call the value in messages
 */
export function checkProviderEndpoint(endpoint: string, allowInsecureHttp: boolean, origin = 'endpoint'): Diagnostic[] {
  const u = URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    return [error('Invalid provider endpoint', `${origin} must be an http or https URL such as https://appreg.example.com (got ${JSON.stringify(endpoint)}).`, ['endpoint'])];
  }
  if (u.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHostname(u.hostname)) {
    return [error(
      'Insecure provider endpoint',
      `${origin} ${JSON.stringify(endpoint)} uses plain http to ${u.hostname}, which is not a loopback host (localhost, 127.0.0.0/8, [::1]): ` +
        'the API token and client secrets would cross the network unencrypted. ' +
        `Use an https:// endpoint (https://${u.host}), or, only on a trusted private network or in a test, ` +
        `set allow_insecure_http = true in the appreg provider block (or ${ALLOW_INSECURE_HTTP_ENV}=true).`,
      ['endpoint'],
    )];
  }
  return [];
}

/**
 * Provider configuration: `endpoint`, when the configuration gives it, is an
 * http(s) URL and plain http only on a loopback host or with
 * `allow_insecure_http` (which falls back to `env`); `token` is not empty.
 * An endpoint from `APPREG_ENDPOINT` is checked when the provider is configured.
 */
export function validateProviderConfig(config: ConfigObject, env: ProviderEnv = {}): Diagnostic[] {
  const { allow, diagnostics: out } = resolveAllowInsecureHttp(config, env);
  const endpoint = config.endpoint;
  if (knownString(endpoint)) {
    // While allow_insecure_http is unknown only the URL form is checked here; ConfigureProvider refuses unknowns.
    out.push(...checkProviderEndpoint(endpoint, allow === 'unknown' ? true : allow));
  }
  if (knownString(config.token) && config.token.trim() === '') {
    out.push(error('Empty provider token', 'token is set but empty; set it to an appreg API token or remove it to use APPREG_TOKEN.', ['token']));
  }
  return out;
}
