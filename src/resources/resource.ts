/**
 * The small contract every appreg resource and data source implements. The
 * provider glue (`src/provider`) does the generic work: decoding, defaults,
 * unknown computed values, replacement, error mapping. A resource only says
 * what is particular to it.
 */
import type { AppregClient } from '../client';
import type { TypeSpec } from '../schema';
import type { Diagnostic, PrivateData, State } from '../framework';
import type { TenantView } from './tenant';


/** What a configured provider hands to resources. */
export interface ResourceContext {
  client: AppregClient;
  /** The tenant's settings, read once per provider process, and what this process has planned for them. */
  tenant: TenantView;
}

/** A state together with its private data, as create, read, update and import return it. */
export interface Stored {
  state: State;
  private?: PrivateData;
}

/** The values PlanResourceChange works with; `planned` may be changed in place by {@link Resource.modifyPlan}. */
export interface PlanInput {
  prior: State | null;
  planned: State;
  config: State;
  /** True when the plan replaces the object (some attribute requires replacement). */
  replacing: boolean;
}


/** A managed resource type. */
export interface Resource {
  readonly spec: TypeSpec;
  /** What the resource is in words, for diagnostics: "Could not create <noun>" (e.g. "the OAuth client"). */
  readonly noun: string;
  /** Plan-time rules that need no service call. */
  validate(config: State): Diagnostic[];
  /**
   * Resource-specific planning after the generic defaults: values that
   * depend on other attributes, checks that need the service (called only
   * when the provider is configured), warnings.
   */
  modifyPlan?(ctx: ResourceContext | undefined, input: PlanInput): Promise<Diagnostic[]>;
  create(ctx: ResourceContext, planned: State): Promise<Stored>;
  /** The object as it is now, or null when it is gone. `current` carries what only state knows (a secret, triggers). */
  read(ctx: ResourceContext, current: State, priv: PrivateData): Promise<Stored | null>;
  update(ctx: ResourceContext, prior: State, planned: State, priv: PrivateData): Promise<Stored>;
  delete(ctx: ResourceContext, prior: State, priv: PrivateData): Promise<void>;
  /** Adopts an existing object by its import id. */
  importState(ctx: ResourceContext, id: string): Promise<Stored>;
}

/** A data source type. */
export interface DataSource {
  readonly spec: TypeSpec;
  /** What the data source reads, in words, for diagnostics: "Could not read <noun>". */
  readonly noun: string;
  validate(config: State): Diagnostic[];
  read(ctx: ResourceContext, config: State): Promise<State>;
}
