/**
 * Plan-time validation of the appreg resources and data sources: the
 * attribute validators the schema declares, and the rules that need more than
 * one attribute or a fact from the service.
 */
import { checkConsentTarget, type ConsentTargetApp } from '../rules';
import { appConsent, groupData, oauthClient } from '../schema/definitions';
import { attributeError as error, knownString, validateAttributes, validateConfig, validateResourceRules, type ConfigObject } from '../framework/validate';
import type { ValidationFacts } from '../schema/model';
import type { Diagnostic } from '../tfplugin/types';

/** Facts from the service that some rules need; a rule whose fact is missing is skipped. */
export type ValidationContext = ValidationFacts;

/** `appreg_oauth_client`: what its schema declares (name rule, callback URLs, scope, then grant types, public implies PKCE, device grant). */
export function validateOauthClientConfig(config: ConfigObject, ctx: ValidationContext = {}): Diagnostic[] {
  return validateConfig(oauthClient, config, ctx);
}

/**
 * `appreg_oauth_client`, the one rule that needs the tenant's settings: the
 * device grant only where the tenant allows it. The same diagnostic as
 * {@link validateOauthClientConfig} gives with that fact in its context.
 */
export function validateDeviceGrant(config: ConfigObject, deviceGrantAllowed: boolean): Diagnostic[] {
  return validateResourceRules(oauthClient, config, { deviceGrantAllowed }, ['grant_types.device_grant_disabled']);
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
