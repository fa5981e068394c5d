/**
 * Attribute validators, each built from a rule of src/rules: the rule's
 * check, the diagnostic summary, and the rule in words for the docs. The
 * schema attaches them to attributes; plan-time validation runs them
 * (src/framework/validate.ts) and the descriptions are written into the attribute
 * descriptions, so the docs say exactly what is checked.
 */
import {
  checkCallbackUrls,
  checkDescription,
  checkName,
  MAX_CALLBACK_URL_LENGTH,
  MAX_CALLBACK_URLS,
  MAX_DESCRIPTION_LENGTH,
  MAX_NAME_LENGTH,
  SCOPES,
  checkAppShape,
  type RuleCode,
} from '../rules';
import type { AttributeValidator, ResourceValidator, ValidatorProblem } from './model';

/** A validator of single strings; a collection value is no concern of it. */
function ofString(check: (s: string) => string | undefined): AttributeValidator['check'] {
  return (value): ValidatorProblem[] => {
    if (typeof value !== 'string') return [];
    const message = check(value);
    return message === undefined ? [] : [{ message }];
  };
}

/** `group_id` of an app: an id, not empty. */
export const groupIdNotEmpty: AttributeValidator = {
  code: 'id.empty',
  summary: 'Invalid group id',
  description: 'not empty',
  check: ofString((s) => (s.trim() === '' ? 'must not be empty; use the id of a group, e.g. from data.appreg_group' : undefined)),
};

/** An app name (product document 003). */
export const appName: AttributeValidator = {
  code: 'name.invalid',
  summary: 'Invalid app name',
  description: `letters, digits, \`?\` and \`!\`, words separated by single spaces, at most ${MAX_NAME_LENGTH} characters`,
  check: ofString(checkName),
};

/** An app description. */
export const appDescription: AttributeValidator = {
  code: 'description.too_long',
  summary: 'Invalid description',
  description: `at most ${MAX_DESCRIPTION_LENGTH} characters`,
  check: ofString(checkDescription),
};

/**
 * {@link checkCallbackUrls} remembered by the list it checked. Terraform has
 * every configuration validated twice (ValidateResourceConfig, then again when
 * PlanResourceChange validates with the values known by then), and this rule
 * is most of the cost of validation; it is a pure function of the list, so the
 * second check is a lookup. Bounded: the memory is dropped when full.
 */
const checkedUrlLists = new Map<string, ReturnType<typeof checkCallbackUrls>>();
const MAX_CHECKED_URL_LISTS = 4096;

function checkCallbackUrlsOnce(urls: readonly string[]): ReturnType<typeof checkCallbackUrls> {
  const key = JSON.stringify(urls);
  let violations = checkedUrlLists.get(key);
  if (violations === undefined) {
    violations = checkCallbackUrls(urls);
    if (checkedUrlLists.size >= MAX_CHECKED_URL_LISTS) checkedUrlLists.clear();
    checkedUrlLists.set(key, violations);
  }
  return violations;
}

/** The callback URLs of an app: 1 to 60 unique URLs, each valid. */
export const callbackUrls: AttributeValidator = {
  code: 'callback_urls.rules',
  summary: 'Invalid callback URLs',
  description:
    `1 to ${MAX_CALLBACK_URLS}, each stored and compared exactly as written: it starts with lower-case \`https://\` (\`http://\` only for \`localhost\`, \`127.0.0.1\` and \`[::1]\`), then a host (a DNS name, with international names in their \`xn--\` form; an IPv4 address; or a bracketed IPv6 address) and an optional port 1-65535; no user info, wildcard, fragment, backslash, whitespace or control characters; ASCII only, other characters in the path or query percent-encoded; at most ${MAX_CALLBACK_URL_LENGTH} characters each`,
  check: (value) => (typeof value === 'string' ? [] : checkCallbackUrlsOnce(value).map((v) => (v.index === undefined ? { message: v.message } : { message: v.message, index: v.index }))),
  // Distinct valid URLs: they count towards 1..60 but never fail a rule.
  standIn: (i) => `https://unknown-${i}.invalid/`,
};

/** An app's scope, one of {@link SCOPES}. */
export const scopeOneOf: AttributeValidator = {
  code: 'scope.unknown',
  summary: 'Invalid scope',
  description: SCOPES.map((x) => `\`${x}\``).join(', '),
  check: ofString((s) => ((SCOPES as readonly string[]).includes(s) ? undefined : `must be one of ${SCOPES.map((x) => `"${x}"`).join(', ')} (got ${JSON.stringify(s)})`)),
};

/** An id in a consent: one id, no "/" (the import id joins two with it). */
export function singleId(words: string): AttributeValidator {
  return {
    code: 'id.single',
    summary: `Invalid ${words}`,
    description: 'a single id without `/`',
    check: ofString((s) => (s.trim() === '' || s.includes('/') ? `must be a single id without "/" (got ${JSON.stringify(s)})` : undefined)),
  };
}

/** A name to look up: not empty. */
export const lookupName: AttributeValidator = {
  code: 'name.empty',
  summary: 'Invalid name',
  description: 'not empty',
  check: ofString((s) => (s.trim() === '' ? 'must not be empty' : undefined)),
};

/** The strings of a set or list that are known, and whether that is all of them; undefined when the value is no list. */
function knownStrings(v: unknown): { values: string[]; complete: boolean } | undefined {
  if (!Array.isArray(v)) return undefined;
  const values = v.filter((x): x is string => typeof x === 'string');
  return { values, complete: values.length === v.length };
}

/**
 * `appreg_oauth_client` across attributes ({@link checkAppShape} of
 * src/rules, the rules the service applies too): a public client requires
 * PKCE; grant types known, not repeated, at least one; the device grant only
 * where the tenant allows it (needs `deviceGrantAllowed`).
 *
 * The rules run once over a shape in which every value not known yet is
 * replaced by one that cannot trigger a rule, and null takes the value the
 * provider would plan for it.
 */
export const appShape: ResourceValidator = {
  codes: ['require_pkce.public_client', 'grant_types.missing', 'grant_types.unknown', 'grant_types.repeated', 'grant_types.device_grant_disabled'],
  summary(code: RuleCode): string {
    switch (code) {
      case 'require_pkce.public_client': return 'Public client requires PKCE';
      case 'grant_types.device_grant_disabled': return 'Device grant not allowed';
      default: return 'Invalid grant types';
    }
  },
  check(config, facts) {
    const grants = knownStrings(config.grant_types);
    const shape = {
      public_client: config.public_client === true,
      require_pkce: config.require_pkce !== false,
      grant_types: config.grant_types === null || !grants || grants.values.length === 0 && !grants.complete
        ? ['authorization_code']
        : grants.values,
    };
    return checkAppShape(shape, facts.deviceGrantAllowed).map((v) => {
      const element = v.index === undefined ? undefined : shape.grant_types[v.index];
      return element === undefined
        ? { code: v.code, attribute: v.attribute, message: v.message }
        : { code: v.code, attribute: v.attribute, message: v.message, element };
    });
  },
};
