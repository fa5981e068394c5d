/**
 * The one description of every appreg attribute (DOMAIN.md, "The resource
 * model"). Change an attribute here and `npm run generate` carries it to the
 * cdktf bindings and the reference docs.
 */
import { GRANT_TYPES, SCOPES } from '../rules';
import { appDescription, appName, appShape, callbackUrls, groupIdNotEmpty, lookupName, scopeOneOf, singleId } from './validators';
import { createFields, updatableFields, type CreateFields, type CreateInputOf, type ProviderSpec, type TypeSpec, type UpdatableFields } from './model';

const quoteList = (xs: readonly string[]): string => xs.map((x) => `\`${x}\``).join(', ');

/** Provider configuration: where the registration service is and how to authenticate. */
export const providerConfig = {
  typeName: 'appreg',
  version: 0,
  description: 'The appreg provider manages OAuth 2.0 app registrations in an appreg registration service.',
  attributes: {
    endpoint: {
      type: 'string',
      optional: true,
      description: 'Base URL of the registration service, e.g. `https://appreg.example.com`. Falls back to the `APPREG_ENDPOINT` environment variable.',
    },
    token: {
      type: 'string',
      optional: true,
      sensitive: true,
      description: 'API token (`tenant_security_admin`, `group_admin`, or `auditor` for read-only drift checks). Falls back to the `APPREG_TOKEN` environment variable.',
    },
    allow_insecure_http: {
      type: 'bool',
      optional: true,
      description:
        'Allow a plain `http://` `endpoint` on a host other than `localhost`, `127.0.0.0/8` or `[::1]`. ' +
        'Without it the provider refuses such an endpoint, because the API token and the client secrets of new and rotated apps ' +
        'would cross the network unencrypted. Set it only on a trusted private network or in a test; use `https://` everywhere else. ' +
        'Falls back to the `APPREG_ALLOW_INSECURE_HTTP` environment variable (`true` or `1`; `false`, `0` or empty for no). Defaults to `false`.',
    },
  },
} satisfies TypeSpec;

/** `appreg_oauth_client`: an OAuth 2.0 app registration owned by a group. */
export const oauthClient = {
  typeName: 'appreg_oauth_client',
  version: 0,
  description:
    'An OAuth 2.0 app registration owned by a group. The client secret of a confidential client is ' +
    'shown once at creation (and after each rotation) and kept in state as a sensitive value. ' +
    'Changing `group_id`, `scope` or `public_client` replaces the registration: it gets a new client id and secret.',
  attributes: {
    id: { type: 'string', computed: true, neverNull: true, useStateForUnknown: true, description: 'The registration id (`app_…`). Use it to import: `terraform import appreg_oauth_client.x app_…`.' },
    group_id: { type: 'string', required: true, requiresReplace: true, inRequestPath: true, validators: [groupIdNotEmpty], description: 'Id of the group that owns the app (see the `appreg_group` data source).' },
    name: { type: 'string', required: true, validators: [appName], description: `Display name, unique in the group: ${appName.description}.` },
    description: { type: 'string', optional: true, validators: [appDescription], description: `Free text, ${appDescription.description}.` },
    callback_urls: {
      type: ['set', 'string'],
      required: true,
      validators: [callbackUrls],
      description: `Redirect URIs, ${callbackUrls.description}. Device-grant clients need one too.`,
    },
    scope: {
      type: 'string',
      values: SCOPES,
      required: true,
      requiresReplace: true,
      validators: [scopeOneOf],
      description: `Who may use the app: ${scopeOneOf.description}. \`group\` apps are used only in their own group; \`organization\` apps can be consented to by other groups. Scope is fixed at registration.`,
    },
    grant_types: {
      type: ['set', 'string'],
      values: GRANT_TYPES,
      optional: true,
      computed: true,
      default: ['authorization_code'],
      description: `OAuth grant types: ${quoteList(GRANT_TYPES)}. Defaults to \`["authorization_code"]\`. The device grant is not available when the tenant uses single sign-on.`,
    },
    public_client: {
      type: 'bool',
      optional: true,
      computed: true,
      requiresReplace: true,
      default: false,
      description: 'A public client (a CLI, a single-page or mobile app) cannot keep a secret: it gets no client secret and must use PKCE. Defaults to `false`.',
    },
    require_pkce: {
      type: 'bool',
      optional: true,
      computed: true,
      useStateForUnknown: true,
      description: 'Require PKCE on the authorization code flow. Always true for public clients; defaults to `public_client`.',
    },
    enabled: { type: 'bool', optional: true, computed: true, default: true, description: 'Whether the app may be used. Defaults to `true`.' },
    rotation_triggers: {
      type: ['map', 'string'],
      optional: true,
      stateOnly: true,
      description: 'Arbitrary values; any change rotates the client secret in place (the client id stays). For example `{ rotated = "2026-Q4" }`.',
    },
    client_id: { type: 'string', computed: true, neverNull: true, useStateForUnknown: true, description: 'The OAuth client id.' },
    client_secret: {
      type: 'string',
      computed: true,
      useStateForUnknown: true,
      stateOnly: true,
      sensitive: true,
      description: 'The OAuth client secret of a confidential client, from creation or the last rotation; null for public clients and for imported apps until their first rotation.',
    },
    secret_version: { type: 'number', computed: true, neverNull: true, useStateForUnknown: true, description: 'Increments on every secret rotation.' },
    created_at: { type: 'string', computed: true, neverNull: true, useStateForUnknown: true, description: 'When the app was registered (RFC 3339).' },
  },
  validators: [appShape],
} satisfies TypeSpec;

/** The fields of an app that PATCH may change: derived from `appreg_oauth_client`, in its order. */
export const UPDATABLE_APP_FIELDS = updatableFields(oauthClient);
/** One of {@link UPDATABLE_APP_FIELDS}. */
export type UpdatableAppField = UpdatableFields<typeof oauthClient>;

/** The fields of an app a registration (POST) carries: derived from `appreg_oauth_client`, in its order. */
export const CREATE_APP_FIELDS = createFields(oauthClient);
/** One of {@link CREATE_APP_FIELDS}. */
export type CreateAppField = CreateFields<typeof oauthClient>;
/** A registration's body as the service takes it: the required fields present, each typed from its attribute. */
export type CreateAppFields = CreateInputOf<typeof oauthClient>;

/** `appreg_app_consent`: a group's consent to use another group's organization-scoped app. */
export const appConsent = {
  typeName: 'appreg_app_consent',
  version: 0,
  description: 'Lets a group use an organization-scoped app owned by another group (the "add consent" action of the browse list). Import with `<group_id>/<app_id>`.',
  attributes: {
    id: { type: 'string', computed: true, neverNull: true, useStateForUnknown: true, description: '`<group_id>/<app_id>`.' },
    group_id: { type: 'string', required: true, requiresReplace: true, validators: [singleId('group id')], description: 'The consenting group.' },
    app_id: { type: 'string', required: true, requiresReplace: true, validators: [singleId('app id')], description: 'Id of an organization-scoped app owned by another group. When the app is replaced, the consent is replaced with it.' },
    created_at: { type: 'string', computed: true, neverNull: true, useStateForUnknown: true, description: 'When the consent was given (RFC 3339).' },
  },
} satisfies TypeSpec;

/** `appreg_tenant_oauth_setting`: the tenant-wide OAuth switch. */
export const tenantOauthSetting = {
  typeName: 'appreg_tenant_oauth_setting',
  version: 0,
  description: 'The tenant-wide OAuth switch. OAuth must be enabled before the first app is registered. Needs a `tenant_security_admin` token. Destroying this resource leaves the tenant as it is.',
  attributes: {
    id: { type: 'string', computed: true, neverNull: true, useStateForUnknown: true, description: 'The tenant id (`ten_…`); import with it.' },
    oauth_enabled: { type: 'bool', required: true, description: 'Whether apps may be registered and used in the tenant.' },
    sso_enabled: { type: 'bool', computed: true, neverNull: true, useStateForUnknown: true, description: 'Whether the tenant uses single sign-on (set by the operator).' },
    device_grant_allowed: { type: 'bool', computed: true, neverNull: true, useStateForUnknown: true, description: 'Whether apps may use the device grant (false while the tenant uses SSO).' },
  },
} satisfies TypeSpec;

/** Data source `appreg_group`: looks a group up by name. */
export const groupData = {
  typeName: 'appreg_group',
  version: 0,
  description: 'Looks up a group the token can see, by name.',
  attributes: {
    name: { type: 'string', required: true, validators: [lookupName], description: 'The group name.' },
    id: { type: 'string', computed: true, description: 'The group id (`grp_…`).' },
  },
} satisfies TypeSpec;

/** Data source `appreg_oauth_client`: an organization-scoped app as a group's browse list shows it. */
export const oauthClientData = {
  typeName: 'appreg_oauth_client',
  version: 0,
  description: 'Finds an organization-scoped app of another group by name, as the browse list of `group_id` shows it. Never returns a secret.',
  attributes: {
    group_id: { type: 'string', required: true, description: 'The browsing group (the one that would consent).' },
    name: { type: 'string', required: true, validators: [lookupName], description: 'The app name.' },
    id: { type: 'string', computed: true, description: 'The app id (`app_…`); use it as `app_id` of `appreg_app_consent`.' },
    client_id: { type: 'string', computed: true, description: 'The OAuth client id.' },
    owner_group_id: { type: 'string', computed: true, description: 'The group that owns the app.' },
    callback_urls: { type: ['set', 'string'], computed: true, description: 'The app\'s redirect URIs.' },
  },
} satisfies TypeSpec;

/** The whole appreg provider. */
export const appregProvider: ProviderSpec = {
  provider: providerConfig,
  resources: [oauthClient, appConsent, tenantOauthSetting],
  dataSources: [groupData, oauthClientData],
};
