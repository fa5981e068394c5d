/**
 * What appreg's resources share beyond the framework: the context a
 * configured provider hands them (the HTTP client and the tenant view). The
 * contract itself (a small core, opt-in abilities, typed models) is the
 * framework's ({@link ResourceDefinition}); this module fixes its context.
 */
import type { AppregClient } from '../client';
import type { DataSourceHandler, ResourceHandler } from '../framework';
import type { ReadSnapshot } from './snapshot';
import type { TenantView } from './tenant';

/** What a configured provider hands to resources. */
export interface ResourceContext {
  client: AppregClient;
  /** The tenant's settings, read once per provider process, and what this process has planned for them. */
  tenant: TenantView;
  /** Apps and consents listed once per group, for batched refresh; see {@link ReadSnapshot}. */
  snapshot: ReadSnapshot;
}

/** A managed resource type, as the provider dispatches to it. */
export type Resource = ResourceHandler<ResourceContext>;

/** A data source type, as the provider dispatches to it. */
export type DataSource = DataSourceHandler<ResourceContext>;
