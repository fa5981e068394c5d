/**
 * Plan-time validation of the appreg resources and data sources: the
 * attribute validators the schema declares, and the rules that need more than
 * one attribute or a fact from the service.
 */
import { checkAppShape, checkConsentTarget, type ConsentTargetApp, type RuleCode } from '../rules';
import { appConsent, groupData, oauthClient } from '../schema/definitions';
import { attributeError as error, fromViolation, knownString, knownStrings, validateAttributes, type ConfigObject } from '../framework/validate';
import type { Diagnostic } from '../tfplugin/types';

/** Facts from the service that some rules need; a rule whose fact is missing is skipped. */
export interface ValidationContext {
  /** False when the tenant uses SSO (no device grant). */
  deviceGrantAllowed?: boolean;
}

/** The summary of a diagnostic for a violation of the cross-field rules, by rule code. */
function shapeSummary(code: RuleCode): string {
  switch (code) {
    case 'require_pkce.public_client': return 'Public client requires PKCE';
    case 'grant_types.device_grant_disabled': return 'Device grant not allowed';
    default: return 'Invalid grant types';
  }
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
