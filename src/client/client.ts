/**
 * The typed client of the registration service: one method per route.
 *
 * What the provider relies on: every answer is parsed (a mismatch is a
 * {@link ResponseValidationError}); reads and idempotent writes are retried
 * on 429, 5xx and dropped connections; a create or rotate is retried only
 * with one Idempotency-Key for all its attempts, so a lost answer never
 * makes a second app; and no error ever carries the token or a secret.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { inspect } from 'node:util';
import type { Scope } from '../rules';
import type { CREATE_APP_FIELDS, CreateAppFields, UpdatableAppField, UPDATABLE_APP_FIELDS } from '../schema/definitions';
import { NotFoundError, PreconditionFailedError } from './errors';
import { collectPages, walkPages } from './pagination';
import { retryPolicy, type RetryOptions } from './retry';
import {
  type App,
  AppSchema,
  type AuditEvent,
  AuditEventSchema,
  type BrowseItem,
  BrowseItemSchema,
  type Consent,
  ConsentSchema,
  type CreatedApp,
  CreatedAppSchema,
  type Group,
  GroupSchema,
  type Health,
  HealthSchema,
  type Page,
  pageSchema,
  type RotatedSecret,
  RotatedSecretSchema,
  type TenantSettings,
  TenantSettingsSchema,
} from './schemas';
import { type CallOptions, type Reply, type RequestSpec, Transport } from './transport';
import { VERSION } from '../version';

/** How to reach the service. */
export interface AppregClientOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:8787`. */
  endpoint: string;
  /** Bearer token. Never appears in an error, a log line or `inspect(client)`. */
  token: string;
  /** Per-attempt timeout in milliseconds. Default 30 000. */
  timeoutMs?: number;
  /** Retry settings; see {@link RetryOptions}. */
  retry?: RetryOptions;
  /** Product token(s) put before the client's own, e.g. `terraform-provider-appreg/0.1.0`. */
  userAgent?: string;
  /** Aborting it cancels every call of this client, like {@link AppregClient.cancel}. */
  signal?: AbortSignal;
}

/**
 * Fields of a new app: the create fields of the app schema ({@link CREATE_APP_FIELDS}),
 * required where the attribute is, typed from it. Defaults are the service's:
 * authorization code, confidential, enabled.
 */
// Mapped once more so editors show the fields rather than the intersection the schema builds.
export type CreateAppInput = { [K in keyof CreateAppFields]: CreateAppFields[K] };

/**
 * Fields a PATCH may change: the updatable fields of the app schema
 * ({@link UPDATABLE_APP_FIELDS}). Scope, public_client and group_id are fixed at registration.
 */
export type UpdateAppInput = Partial<Pick<CreateAppInput, UpdatableAppField>>;

/** Options of a create or rotate. */
export interface IdempotentCallOptions extends CallOptions {
  /**
   * The Idempotency-Key of this logical operation; a random UUID when absent.
   * Pass one to make a create safe across process restarts too.
   */
  idempotencyKey?: string;
}

/** Options of an update or delete. */
export interface ConditionalCallOptions extends CallOptions {
  /** The app `version` the change is based on; sent as `If-Match`, a mismatch is a {@link PreconditionFailedError}. */
  ifMatch?: number;
}

/** Paging of a list route. */
export interface PageQuery {
  /** Most items per page. */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/** Filters of the group list. */
export interface GroupQuery extends PageQuery {
  /** Only the group of this exact name. */
  name?: string;
}

/** Filters of the app list. */
export interface AppQuery extends PageQuery {
  group_id?: string;
  scope?: Scope;
  /** Only apps of this exact name. */
  name?: string;
}

/** Filters of the browse list. */
export interface BrowseQuery extends PageQuery {
  /**
   * The browsing group: the list shows other groups' organization-scoped
   * apps, with this group's consent. The service defaults it to the group
   * of a group_admin token.
   */
  group_id?: string;
  /** Only apps of this exact name. */
  name?: string;
}

/** Filters of the consent list. */
export interface ConsentQuery extends PageQuery {
  group_id?: string;
  app_id?: string;
}

/** The answer to a consent PUT. */
export interface ConsentResult {
  consent: Consent;
  /**
   * True when this call made the consent (201), false when it existed (200).
   * A PUT retried after a lost answer sees its own consent and says false.
   */
  created: boolean;
}

const e = encodeURIComponent;
const AppPage = pageSchema(AppSchema);
const GroupPage = pageSchema(GroupSchema);
const BrowsePage = pageSchema(BrowseItemSchema);
const ConsentPage = pageSchema(ConsentSchema);
const AuditPage = pageSchema(AuditEventSchema);

/**
 * A client of the registration service, one per endpoint and token. Safe to
 * share between concurrent calls. Call {@link close} when done with it.
 *
 * @example
 * const client = new AppregClient({ endpoint: 'http://127.0.0.1:8787', token });
 * const app = await client.createApp(groupId, { name: 'Billing', callback_urls: ['https://b.example.com/cb'], scope: 'group' });
 */
export class AppregClient {
  /** The endpoint, without a trailing slash. */
  readonly endpoint: string;
  /** The User-Agent sent with every request. */
  readonly userAgent: string;
  readonly #transport: Transport;
  readonly #cancel = new AbortController();

  constructor(options: AppregClientOptions) {
    let url: URL;
    try {
      url = new URL(options.endpoint);
    } catch {
      throw new TypeError(`endpoint must be an absolute http(s) URL such as http://127.0.0.1:8787 (got ${JSON.stringify(options.endpoint)})`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`endpoint must use http or https (got ${JSON.stringify(options.endpoint)})`);
    }
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      // User info would be a credential in every error message that names the URL.
      throw new TypeError('endpoint must not contain user info, a query or a fragment; pass the token separately');
    }
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive number (got ${timeoutMs})`);
    this.endpoint = url.toString().replace(/\/+$/, '');
    this.userAgent = [options.userAgent, `appreg-client/${VERSION}`].filter(Boolean).join(' ');
    const signal = options.signal ? AbortSignal.any([options.signal, this.#cancel.signal]) : this.#cancel.signal;
    // Each call in flight listens on this one signal until it ends (and then stops listening), so
    // more than ten concurrent calls are normal, not the leak Node's default warning is about.
    setMaxListeners(0, signal);
    this.#transport = new Transport({
      endpoint: this.endpoint,
      token: options.token,
      timeoutMs,
      retry: retryPolicy(options.retry),
      userAgent: this.userAgent,
      signal,
    });
  }

  /**
   * Cancels every call in flight, and every later one, with an
   * {@link AbortedError}. For Terraform's StopProvider: the provider is about
   * to be killed, and should stop waiting on the network or on backoff.
   */
  cancel(): void {
    this.#cancel.abort();
  }

  /** Closes idle keep-alive connections. The client still works afterwards (it opens new ones). */
  close(): void {
    this.#transport.close();
  }

  /**
   * Sends any request through the client's retry and parsing rules: the
   * escape hatch for a route without a method here. A POST is retried after
   * an unknown outcome only when `headers` has an `Idempotency-Key`, a PATCH
   * only with `If-Match`.
   */
  request<T>(spec: RequestSpec<T>, options?: CallOptions): Promise<Reply<T>> {
    return this.#transport.request(spec, options);
  }

  // ---- service -----------------------------------------------------------

  /** `GET /healthz`: whether the service is up (no token needed). */
  async health(options?: CallOptions): Promise<Health> {
    return this.data({ method: 'GET', path: '/healthz', schema: HealthSchema }, options);
  }

  // ---- tenant ----------------------------------------------------------

  /** `GET /v1/tenant/oauth-settings`: the caller's tenant settings. */
  async getTenantSettings(options?: CallOptions): Promise<TenantSettings> {
    return this.data({ method: 'GET', path: '/v1/tenant/oauth-settings', schema: TenantSettingsSchema }, options);
  }

  /** `PUT /v1/tenant/oauth-settings`: turns OAuth on or off for the tenant (tenant security admin only). */
  async putTenantSettings(input: { oauth_enabled: boolean }, options?: CallOptions): Promise<TenantSettings> {
    return this.data(
      { method: 'PUT', path: '/v1/tenant/oauth-settings', body: { oauth_enabled: input.oauth_enabled }, schema: TenantSettingsSchema },
      options,
    );
  }

  // ---- groups ----------------------------------------------------------

  /** `GET /v1/groups`: one page of the groups the caller may see. */
  async listGroups(query: GroupQuery = {}, options?: CallOptions): Promise<Page<Group>> {
    return this.data({ method: 'GET', path: '/v1/groups', query: { ...query }, schema: GroupPage }, options);
  }

  /** Every group the caller may see, across all pages. */
  iterateGroups(query: Omit<GroupQuery, 'cursor'> = {}, options?: CallOptions): AsyncGenerator<Group, void, undefined> {
    return walkPages((cursor) => this.listGroups({ ...query, cursor }, options));
  }

  /** Every group the caller may see, collected. */
  listAllGroups(query: Omit<GroupQuery, 'cursor'> = {}, options?: CallOptions): Promise<Group[]> {
    return collectPages((cursor) => this.listGroups({ ...query, cursor }, options));
  }

  // ---- apps ------------------------------------------------------------

  /**
   * `POST /v1/groups/{group_id}/apps`: registers an app. The answer holds
   * the client secret (confidential clients only), which the service shows
   * this once. Retried with the same Idempotency-Key, so a lost answer is
   * replayed by the service rather than making a second app.
   */
  async createApp(groupId: string, input: CreateAppInput, options: IdempotentCallOptions = {}): Promise<CreatedApp> {
    const { idempotencyKey = randomUUID(), ...call } = options;
    return this.data(
      {
        method: 'POST',
        path: `/v1/groups/${e(groupId)}/apps`,
        body: input,
        headers: { 'Idempotency-Key': idempotencyKey },
        schema: CreatedAppSchema,
      },
      call,
    );
  }

  /** `GET /v1/apps/{id}`: one app (never its secret). A {@link NotFoundError} when it is gone. */
  async getApp(id: string, options?: CallOptions): Promise<App> {
    return this.data({ method: 'GET', path: `/v1/apps/${e(id)}`, schema: AppSchema }, options);
  }

  /** `GET /v1/apps`: one page of the apps the caller may see. */
  async listApps(query: AppQuery = {}, options?: CallOptions): Promise<Page<App>> {
    return this.data({ method: 'GET', path: '/v1/apps', query: { ...query }, schema: AppPage }, options);
  }

  /** Every app matching the filters, page by page as the iteration goes. */
  iterateApps(query: Omit<AppQuery, 'cursor'> = {}, options?: CallOptions): AsyncGenerator<App, void, undefined> {
    return walkPages((cursor) => this.listApps({ ...query, cursor }, options));
  }

  /** Every app matching the filters, collected. */
  listAllApps(query: Omit<AppQuery, 'cursor'> = {}, options?: CallOptions): Promise<App[]> {
    return collectPages((cursor) => this.listApps({ ...query, cursor }, options));
  }

  /**
   * `PATCH /v1/apps/{id}`: changes the given fields. With `ifMatch` the
   * change applies only to that version (else a
   * {@link PreconditionFailedError}), and is retried after a lost answer;
   * without it, a lost answer is not retried.
   */
  async updateApp(id: string, patch: UpdateAppInput, options: ConditionalCallOptions = {}): Promise<App> {
    const { ifMatch, ...call } = options;
    const spec: RequestSpec<App> = {
      method: 'PATCH',
      path: `/v1/apps/${e(id)}`,
      body: patch,
      headers: ifMatch === undefined ? {} : { 'If-Match': etag(ifMatch) },
      schema: AppSchema,
    };
    const out = await this.#transport.requestWithOutcome(spec, call);
    if (out.reply) return out.reply.data;
    // A retried PATCH whose first attempt was applied unseen meets its own
    // new version: 412. If the app is exactly one version on and holds what
    // we sent, that write was ours (or one identical to it) and succeeded.
    if (out.error instanceof PreconditionFailedError && out.uncertain && ifMatch !== undefined) {
      const now = await this.getApp(id, call);
      if (now.version === ifMatch + 1 && holds(now, patch)) return now;
    }
    throw out.error;
  }

  /**
   * `DELETE /v1/apps/{id}`: deletes the app and its consents. A 404 is a
   * {@link NotFoundError}, except after a retry whose earlier attempt may
   * have deleted it unseen: then the app is gone as asked, and this resolves.
   */
  async deleteApp(id: string, options: ConditionalCallOptions = {}): Promise<void> {
    const { ifMatch, ...call } = options;
    await this.deleteIdempotent(
      { method: 'DELETE', path: `/v1/apps/${e(id)}`, headers: ifMatch === undefined ? {} : { 'If-Match': etag(ifMatch) } },
      call,
    );
  }

  /**
   * `POST /v1/apps/{id}/rotate-secret`: issues a new secret, shown this once.
   * Retried with one Idempotency-Key, so a lost answer never rotates twice.
   * A public client has no secret: {@link ConflictError}. A rotation bumps
   * the app's `version`; with `ifMatch` it applies only to that version.
   */
  async rotateSecret(id: string, options: IdempotentCallOptions & ConditionalCallOptions = {}): Promise<RotatedSecret> {
    const { idempotencyKey = randomUUID(), ifMatch, ...call } = options;
    return this.data(
      {
        method: 'POST',
        path: `/v1/apps/${e(id)}/rotate-secret`,
        headers: { 'Idempotency-Key': idempotencyKey, ...(ifMatch === undefined ? {} : { 'If-Match': etag(ifMatch) }) },
        schema: RotatedSecretSchema,
      },
      call,
    );
  }

  // ---- browse and consents ----------------------------------------------

  /** `GET /v1/browse`: one page of other groups' organization-scoped apps, with this group's consent. */
  async browse(query: BrowseQuery = {}, options?: CallOptions): Promise<Page<BrowseItem>> {
    return this.data({ method: 'GET', path: '/v1/browse', query: { ...query }, schema: BrowsePage }, options);
  }

  /** Every browse entry of the group, page by page as the iteration goes. */
  iterateBrowse(query: Omit<BrowseQuery, 'cursor'> = {}, options?: CallOptions): AsyncGenerator<BrowseItem, void, undefined> {
    return walkPages((cursor) => this.browse({ ...query, cursor }, options));
  }

  /** Every browse entry of the group, collected. */
  browseAll(query: Omit<BrowseQuery, 'cursor'> = {}, options?: CallOptions): Promise<BrowseItem[]> {
    return collectPages((cursor) => this.browse({ ...query, cursor }, options));
  }

  /** `PUT /v1/groups/{group_id}/consents/{app_id}`: adds (or confirms) the group's consent to an app. */
  async putConsent(groupId: string, appId: string, options?: CallOptions): Promise<ConsentResult> {
    const reply = await this.#transport.request(
      { method: 'PUT', path: consentPath(groupId, appId), schema: ConsentSchema },
      options,
    );
    return { consent: reply.data, created: reply.status === 201 };
  }

  /** `GET /v1/groups/{group_id}/consents/{app_id}`: one consent; a {@link NotFoundError} when there is none. */
  async getConsent(groupId: string, appId: string, options?: CallOptions): Promise<Consent> {
    return this.data({ method: 'GET', path: consentPath(groupId, appId), schema: ConsentSchema }, options);
  }

  /** `DELETE /v1/groups/{group_id}/consents/{app_id}`: withdraws a consent (404 handling as {@link deleteApp}). */
  async deleteConsent(groupId: string, appId: string, options?: CallOptions): Promise<void> {
    await this.deleteIdempotent({ method: 'DELETE', path: consentPath(groupId, appId) }, options);
  }

  /** `GET /v1/consents`: one page of consents. */
  async listConsents(query: ConsentQuery = {}, options?: CallOptions): Promise<Page<Consent>> {
    return this.data({ method: 'GET', path: '/v1/consents', query: { ...query }, schema: ConsentPage }, options);
  }

  /** Every consent matching the filter, page by page as the iteration goes. */
  iterateConsents(query: Omit<ConsentQuery, 'cursor'> = {}, options?: CallOptions): AsyncGenerator<Consent, void, undefined> {
    return walkPages((cursor) => this.listConsents({ ...query, cursor }, options));
  }

  /** Every consent matching the filter, collected. */
  listAllConsents(query: Omit<ConsentQuery, 'cursor'> = {}, options?: CallOptions): Promise<Consent[]> {
    return collectPages((cursor) => this.listConsents({ ...query, cursor }, options));
  }

  // ---- audit -------------------------------------------------------------

  /** `GET /v1/audit`: one page of audit events (tenant security admin and auditor). */
  async listAudit(query: PageQuery = {}, options?: CallOptions): Promise<Page<AuditEvent>> {
    return this.data({ method: 'GET', path: '/v1/audit', query: { ...query }, schema: AuditPage }, options);
  }

  /** Every audit event, page by page as the iteration goes. */
  iterateAudit(query: Omit<PageQuery, 'cursor'> = {}, options?: CallOptions): AsyncGenerator<AuditEvent, void, undefined> {
    return walkPages((cursor) => this.listAudit({ ...query, cursor }, options));
  }

  /** Every audit event, collected. */
  listAllAudit(query: Omit<PageQuery, 'cursor'> = {}, options?: CallOptions): Promise<AuditEvent[]> {
    return collectPages((cursor) => this.listAudit({ ...query, cursor }, options));
  }

  // ---- helpers -----------------------------------------------------------

  /** Keeps the token out of `console.log(client)` and `util.inspect`. */
  [inspect.custom](): string {
    return `AppregClient { endpoint: ${JSON.stringify(this.endpoint)} }`;
  }

  /** Keeps the token out of `JSON.stringify(client)`. */
  toJSON(): Record<string, string> {
    return { endpoint: this.endpoint, userAgent: this.userAgent };
  }

  private async data<T>(spec: RequestSpec<T>, options?: CallOptions): Promise<T> {
    return (await this.#transport.request(spec, options)).data;
  }

  private async deleteIdempotent(spec: RequestSpec<void>, options?: CallOptions): Promise<void> {
    const out = await this.#transport.requestWithOutcome(spec, options);
    if (out.reply || (out.error instanceof NotFoundError && out.uncertain)) return;
    throw out.error;
  }
}

function consentPath(groupId: string, appId: string): string {
  return `/v1/groups/${e(groupId)}/consents/${e(appId)}`;
}

/** The `If-Match` value for an app version (the service's ETag is the quoted version). */
function etag(version: number): string {
  return `"${version}"`;
}

/** True when every field of the patch has that value in the app (lists compared as sets, as Terraform does). */
function holds(app: App, patch: UpdateAppInput): boolean {
  return Object.entries(patch).every(([k, want]) => {
    if (want === undefined) return true;
    const have: unknown = (app as Record<string, unknown>)[k];
    if (Array.isArray(want) && Array.isArray(have)) {
      return want.length === have.length && [...want].sort().join('\n') === [...have].sort().join('\n');
    }
    return have === want;
  });
}
