/**
 * The registration service (`appreg serve`) and its operator commands
 * (`appreg admin ...`), as a programmatic API.
 *
 * Tests and other parts of appreg start a service on a free port with
 * `startService({ db, port: 0 })`, create a tenant and token with
 * {@link adminInit}, and talk HTTP to `url`.
 */
export { startService, DEFAULT_RATE_LIMIT } from './service';
export type { ServiceOptions, RunningService } from './service';
export { adminInit, adminGroupAdd, adminTokenCreate, adminTenantSet, AdminError } from './admin';
export type { Role } from '../rules';
