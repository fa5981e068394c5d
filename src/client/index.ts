/**
 * The typed HTTP client of the registration service, used by the provider
 * and the CLI. See {@link AppregClient}.
 */
export { AppregClient } from './client';
export type {
  AppQuery,
  AppregClientOptions,
  BrowseQuery,
  ConditionalCallOptions,
  ConsentQuery,
  ConsentResult,
  GroupQuery,
  CreateAppInput,
  IdempotentCallOptions,
  PageQuery,
  UpdateAppInput,
} from './client';
export {
  AbortedError,
  AppregError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
  ResponseValidationError,
  ServiceError,
  TimeoutError,
  TransportError,
  UnauthorizedError,
  UnprocessableError,
  asSentence,
  isNotFound,
  isPreconditionFailed,
} from './errors';
export type { CallInfo } from './errors';
export { collectPages, walkPages } from './pagination';
export type { PageFetcher } from './pagination';
export { DEFAULT_RETRY, backoffDelay, parseRetryAfter } from './retry';
export type { RetryEvent, RetryOptions } from './retry';
export {
  AppSchema,
  AuditActorSchema,
  AuditEventSchema,
  BrowseItemSchema,
  ConsentSchema,
  CreatedAppSchema,
  GroupSchema,
  HealthSchema,
  ProblemSchema,
  RotatedSecretSchema,
  TenantSettingsSchema,
  pageSchema,
} from './schemas';
export type {
  App,
  AuditActor,
  AuditEvent,
  BrowseItem,
  Consent,
  CreatedApp,
  FieldError,
  Group,
  Health,
  Page,
  ProblemDetails,
  RotatedSecret,
  TenantSettings,
} from './schemas';
export type { CallOptions, HttpMethod, Reply, RequestSpec } from './transport';
