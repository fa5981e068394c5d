/**
 * Plan-time validation as pure functions over a resource's configuration.
 *
 * Each function returns every problem it finds (a user fixes them all in one
 * pass), each as a diagnostic naming the attribute. Values Terraform does not
 * know yet (computed from another resource) are skipped: they are checked
 * again when they are known, at apply, by the service itself.
 */
import {
  checkAppShape,
  checkConsentTarget,
  quote,
  type ConsentTargetApp,
  type RuleCode,
  type RuleViolation,
} from '../rules';
import { isUnknown, type AttributePath, type Diagnostic, type TfValue } from '../tfplugin/types';
import { appConsent, groupData, oauthClient } from './definitions';
import type { TypeSpec } from './model';

/** A resource configuration: every attribute of the schema, null when unset. */
export type ConfigObject = { readonly [attribute: string]: TfValue };

/** Facts from the service that some rules need; a rule whose fact is missing is skipped. */
export interface ValidationContext {
  /** False when the tenant uses SSO (no device grant). */
  deviceGrantAllowed?: boolean;
}

const knownString = (v: TfValue | undefined): v is string => typeof v === 'string';

/** The known strings of a set or list, or undefined when the collection itself is null or unknown. */
function knownStrings(v: TfValue | undefined): { values: string[]; complete: boolean } | undefined {
  if (!Array.isArray(v)) return undefined;
  const values = v.filter(knownString);
  return { values, complete: values.length === v.length };
}

function error(summary: string, detail: string, attribute: AttributePath): Diagnostic {
  return { severity: 'error', summary, detail, attribute };
}

/**
 * Turns a rule violation into a diagnostic. Terraform paths cannot point
 * into a set element, so an element's problem is reported on the set
 * attribute with the offending value in the detail.
 */
function fromViolation(summary: string, v: Pick<RuleViolation, 'attribute' | 'index' | 'message'>, elements: readonly string[] = []): Diagnostic {
  const element = v.index === undefined ? undefined : elements[v.index];
  // quote() escapes CR, LF, U+2028, C1 controls and every other non-printable character, so a hostile value cannot break the message.
  const subject = element === undefined ? v.attribute : `${v.attribute} element ${quote(element)}`;
  return error(summary, `${subject} ${v.message}.`, [v.attribute]);
}

/**
 * Runs the validators the schema declares, attribute by attribute in schema
 * order, on every value that is known. A set or list with elements not yet
 * known is checked with the validator's stand-ins in their place, so its
 * size is still checked.
 */
export function validateAttributes(spec: TypeSpec, config: ConfigObject): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [name, attr] of Object.entries(spec.attributes)) {
    const value = config[name];
    for (const validator of attr.validators ?? []) {
      let checked: string | string[];
      if (knownString(value)) {
        checked = value;
      } else if (Array.isArray(value)) {
        const known = value.filter(knownString);
        const standIn = validator.standIn ?? ((i: number) => `unknown-${i}`);
        checked = [...known, ...Array.from({ length: value.length - known.length }, (_, i) => standIn(i))];
      } else {
        continue;
      }
      const elements = typeof checked === 'string' ? [] : checked;
      for (const p of validator.check(checked)) {
        out.push(fromViolation(validator.summary, p.index === undefined ? { attribute: name, message: p.message } : { attribute: name, index: p.index, message: p.message }, elements));
      }
    }
  }
  return out;
}

/** The summary of a diagnostic for a violation of the cross-field rules, by rule code. */
function shapeSummary(code: RuleCode): string {
  switch (code) {
    case 'require_pkce.public_client': return 'Public client requires PKCE';
    case 'grant_types.device_grant_disabled': return 'Device grant not allowed';
    default: return 'Invalid grant types';
  }
}

/**
 * Attributes only the provider sets (computed, neither required nor optional)
 * must not be configured: Terraform would accept the value and the provider
 * would silently ignore it, so say so at plan time instead.
 */
export function validateReadOnly(spec: TypeSpec, config: ConfigObject): Diagnostic[] {
  return Object.entries(spec.attributes)
    .filter(([name, a]) => a.computed && !a.optional && !a.required && config[name] !== null && config[name] !== undefined)
    .map(([name]) => error(
      'Invalid configuration for read-only attribute',
      `${name} is set by the provider and cannot be configured in ${spec.typeName}; remove it from the configuration.`,
      [name],
    ));
}

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

/** `appreg_oauth_client`: the name rule, callback URLs, scope, grant types, public implies PKCE, device grant. */
export function validateOauthClientConfig(config: ConfigObject, ctx: ValidationContext = {}): Diagnostic[] {
  const out: Diagnostic[] = [];

  out.push(...validateAttributes(oauthClient, config));
  out.push(...shapeDiagnostics(config, ctx.deviceGrantAllowed));
  return out;
}

/**
 * The cross-field rules run once over a shape in which every value that is
 * not known yet is replaced by one that cannot trigger a rule; null takes
 * the value the provider would plan for it.
 * @param only when given, just the violations of these rules
 */
function shapeDiagnostics(config: ConfigObject, deviceGrantAllowed: boolean | undefined, only?: readonly RuleCode[]): Diagnostic[] {
  const grants = knownStrings(config.grant_types);
  const shape = {
    public_client: config.public_client === true,
    require_pkce: config.require_pkce !== false,
    grant_types: config.grant_types === null || !grants || grants.values.length === 0 && !grants.complete
      ? ['authorization_code']
      : grants.values,
  };
  return checkAppShape(shape, deviceGrantAllowed)
    .filter((v) => only === undefined || only.includes(v.code))
    .map((v) => fromViolation(shapeSummary(v.code), v, shape.grant_types));
}

/**
 * `appreg_oauth_client`, the one rule that needs the tenant's settings: the
 * device grant only where the tenant allows it. The same diagnostic as
 * {@link validateOauthClientConfig} gives with that fact in its context.
 */
export function validateDeviceGrant(config: ConfigObject, deviceGrantAllowed: boolean): Diagnostic[] {
  return shapeDiagnostics(config, deviceGrantAllowed, ['grant_types.device_grant_disabled']);
}

/** `appreg_app_consent`: both ids given. Whether the app may be consented to is {@link consentTargetDiagnostics}. */
export function validateAppConsentConfig(config: ConfigObject): Diagnostic[] {
  return validateAttributes(appConsent, config);
}

/** The parts of an app that decide whether a group may consent to it. */
export interface ConsentTarget extends ConsentTargetApp {
  id: string;
}

/**
 * Consent only to an organization-scoped app owned by another group
 * ({@link checkConsentTarget} of src/rules, the rule the service applies too).
 * One diagnostic: the most telling of the rules the consent breaks.
 * @param app the app as the consenting group can see it; null when it cannot see it at all
 */
export function consentTargetDiagnostics(config: ConfigObject, app: ConsentTarget | null): Diagnostic[] {
  if (!knownString(config.app_id) || !knownString(config.group_id)) return [];
  if (app === null) {
    return [error('App not found', `app_id ${JSON.stringify(config.app_id)} is not an app this token can see; check the id (data.appreg_oauth_client finds organization-scoped apps by name).`, ['app_id'])];
  }
  const broken = checkConsentTarget(app, config.group_id);
  if (broken.includes('consent.own_app')) {
    return [error('Consent to own app', `app_id ${JSON.stringify(app.id)} is owned by group ${JSON.stringify(config.group_id)} itself; a group uses its own apps without consent. Consent to an organization-scoped app of another group.`, ['app_id'])];
  }
  if (broken.includes('consent.not_organization')) {
    return [error('App is not organization-scoped', `app_id ${JSON.stringify(app.id)} has scope ${JSON.stringify(app.scope)}; only organization-scoped apps can be consented to by other groups.`, ['app_id'])];
  }
  return [];
}

/** `appreg_group` and `appreg_oauth_client` data sources: the name is not empty. */
export function validateLookupConfig(config: ConfigObject): Diagnostic[] {
  // Both data sources declare the same validator on name.
  return validateAttributes(groupData, config);
}

/** Whether a value is unknown; re-exported for callers that only import validation. */
export { isUnknown };
