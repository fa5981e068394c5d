/**
 * The registration service (`appreg serve`) and its operator commands
 * (`appreg admin ...`), as a programmatic API.
 *
 * Tests and other parts of appreg start a service on a free port with
 * `startService({ db, port: 0 })`, create a tenant and token with
 * {@link adminInit}, and talk HTTP to `url`.
 */
export {
  startService,
  DEFAULT_RATE_LIMIT,
  DEFAULT_AUTH_FAILURE_LIMIT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
} from './service';
export type { ServiceOptions, RunningService } from './service';
export {
  adminInit,
  adminGroupAdd,
  adminGroupList,
  adminTokenCreate,
  adminTokenList,
  adminTokenRevoke,
  adminTenantSet,
  AdminError,
} from './admin';
export type { GroupListEntry, TokenListEntry } from './admin';
export type { Role } from '../rules';
