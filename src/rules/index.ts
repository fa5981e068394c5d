/**
 * The product rules of an app registration, as pure functions.
 *
 * Both the registration service (which must refuse bad input) and the
 * provider's plan-time validation (which must catch it before any call that
 * changes anything) use these, so the two can never disagree.
 */
import { checkCallbackUrl, quote } from './callback-url';

export { checkCallbackUrl, LOOPBACK_HOSTS, MAX_CALLBACK_URL_LENGTH, quote } from './callback-url';

/** The two scopes of an app. Scope is fixed at registration. */
export const SCOPES = ['group', 'organization'] as const;
/** An app's scope. */
export type Scope = (typeof SCOPES)[number];

/** Grant types an app may use. `device_code` is the OAuth 2.0 device authorization grant. */
export const GRANT_TYPES = ['authorization_code', 'device_code'] as const;
/** A grant type. */
export type GrantType = (typeof GRANT_TYPES)[number];

/** Roles a token may have. */
export const ROLES = ['tenant_security_admin', 'group_admin', 'auditor'] as const;
/** A token's role. */
export type Role = (typeof ROLES)[number];

/** Most callback URLs an app may have (product document 003). */
export const MAX_CALLBACK_URLS = 60;
/** Longest app name, in characters. */
export const MAX_NAME_LENGTH = 100;
/** Longest description, in characters. */
export const MAX_DESCRIPTION_LENGTH = 1000;

/**
 * Every rule that can fail, by code. Code decides what to do with a
 * violation (which summary a diagnostic gets, which violations a later check
 * keeps); the message is only ever shown, never matched.
 */
export const RULE_CODES = [
  'id.empty',
  'id.single',
  'name.invalid',
  'name.empty',
  'description.too_long',
  'scope.unknown',
  'callback_urls.rules',
  'callback_urls.missing',
  'callback_urls.too_many',
  'callback_urls.invalid',
  'callback_urls.duplicate',
  'require_pkce.public_client',
  'grant_types.missing',
  'grant_types.unknown',
  'grant_types.repeated',
  'grant_types.device_grant_disabled',
  'consent.own_app',
  'consent.not_organization',
] as const;
/** The code of a rule. */
export type RuleCode = (typeof RULE_CODES)[number];

/**
 * A rule violation, relative to the object checked: which rule, which
 * attribute (and element of a list, by index), and what is wrong. The path is
 * data; {@link violationPath} writes it the way the service's field errors do.
 */
export interface RuleViolation {
  /** Which rule failed. */
  code: RuleCode;
  /** The field. */
  attribute: string;
  /** The element of a list field, when the problem is in one element. */
  index?: number;
  /** What is wrong and what to do, as one sentence a user can act on. */
  message: string;
}

/** The path of a violation as text: `name`, `callback_urls[2]`. */
export function violationPath(v: Pick<RuleViolation, 'attribute' | 'index'>): string {
  return v.index === undefined ? v.attribute : `${v.attribute}[${v.index}]`;
}

const NAME_RE = /^[A-Za-z0-9?!]+( [A-Za-z0-9?!]+)*$/;

/**
 * Checks an app name: letters and digits, `?` and `!`, words separated by
 * single spaces, 1 to {@link MAX_NAME_LENGTH} characters.
 * @returns a message, or undefined when the name is valid
 */
export function checkName(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_NAME_LENGTH) {
    return `must be at most ${MAX_NAME_LENGTH} characters (got ${name.length})`;
  }
  if (!NAME_RE.test(name)) {
    return 'may contain only letters, digits, "?" and "!", with single spaces between words ' +
      `(got ${quote(name)})`;
  }
  return undefined;
}

/**
 * Checks a list of callback URLs: 1 to {@link MAX_CALLBACK_URLS}, each valid
 * under {@link checkCallbackUrl}, no duplicates (as exact strings, the way
 * they are stored and compared). Every problem is reported, each at its own path.
 * @param field the field name to use in paths, `callback_urls` by default
 */
export function checkCallbackUrls(urls: readonly string[], field = 'callback_urls'): RuleViolation[] {
  const out: RuleViolation[] = [];
  if (urls.length === 0) {
    out.push({ code: 'callback_urls.missing', attribute: field, message: 'at least one callback URL is required, even for device-grant clients' });
  }
  if (urls.length > MAX_CALLBACK_URLS) {
    out.push({ code: 'callback_urls.too_many', attribute: field, message: `at most ${MAX_CALLBACK_URLS} callback URLs are allowed (got ${urls.length})` });
  }
  const seen = new Map<string, number>();
  urls.forEach((u, i) => {
    const problem = checkCallbackUrl(u);
    if (problem) out.push({ code: 'callback_urls.invalid', attribute: field, index: i, message: problem });
    const first = seen.get(u);
    if (first !== undefined) {
      out.push({ code: 'callback_urls.duplicate', attribute: field, index: i, message: `duplicates ${field}[${first}] (${quote(u)})` });
    } else {
      seen.set(u, i);
    }
  });
  return out;
}

/** Checks a description: at most {@link MAX_DESCRIPTION_LENGTH} characters. */
export function checkDescription(description: string): string | undefined {
  return description.length > MAX_DESCRIPTION_LENGTH
    ? `must be at most ${MAX_DESCRIPTION_LENGTH} characters (got ${description.length})`
    : undefined;
}

/** The parts of an app that the cross-field rules look at. */
export interface AppShape {
  public_client: boolean;
  require_pkce: boolean;
  grant_types: readonly string[];
}

/**
 * The rules that tie fields together: a public client requires PKCE; grant
 * types are known and not repeated; device grant only where the tenant allows it.
 * @param deviceGrantAllowed false when the tenant uses SSO; undefined when not known (skips that rule)
 */
export function checkAppShape(app: AppShape, deviceGrantAllowed?: boolean): RuleViolation[] {
  const out: RuleViolation[] = [];
  if (app.public_client && !app.require_pkce) {
    out.push({
      code: 'require_pkce.public_client',
      attribute: 'require_pkce',
      message: 'a public client cannot keep a secret and must use PKCE: set require_pkce to true or leave it unset',
    });
  }
  if (app.grant_types.length === 0) {
    out.push({ code: 'grant_types.missing', attribute: 'grant_types', message: `at least one grant type is required (${GRANT_TYPES.join(' or ')})` });
  }
  const seen = new Set<string>();
  app.grant_types.forEach((g, i) => {
    if (!(GRANT_TYPES as readonly string[]).includes(g)) {
      out.push({ code: 'grant_types.unknown', attribute: 'grant_types', index: i, message: `must be one of ${GRANT_TYPES.join(', ')} (got ${JSON.stringify(g)})` });
    } else if (seen.has(g)) {
      out.push({ code: 'grant_types.repeated', attribute: 'grant_types', index: i, message: `${JSON.stringify(g)} is listed twice` });
    }
    seen.add(g);
  });
  if (deviceGrantAllowed === false && app.grant_types.includes('device_code')) {
    out.push({
      code: 'grant_types.device_grant_disabled',
      attribute: 'grant_types',
      message: 'the device grant is disabled because the tenant uses single sign-on (SSO); use authorization_code',
    });
  }
  return out;
}

/** The parts of an app that decide whether a group may consent to it. */
export interface ConsentTargetApp {
  scope: string;
  group_id: string;
}

/**
 * Consent only to an organization-scoped app owned by another group (DOMAIN.md).
 * The service refuses with every code that applies; the provider's plan
 * names the most telling one.
 * @param groupId the consenting group
 * @returns the codes of the rules the consent breaks, scope first
 */
export function checkConsentTarget(app: ConsentTargetApp, groupId: string): Array<'consent.not_organization' | 'consent.own_app'> {
  const out: Array<'consent.not_organization' | 'consent.own_app'> = [];
  if (app.scope !== 'organization') out.push('consent.not_organization');
  if (app.group_id === groupId) out.push('consent.own_app');
  return out;
}
