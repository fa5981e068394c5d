/**
 * The contract of a resource and of a data source: a tiny core every
 * resource implements (create, read, delete) and abilities it opts into
 * (update, validate, modify plan, import, upgrade state), each a separate
 * interface so the compiler checks what a resource declares. A resource is
 * written against typed models ({@link ./model}); {@link defineResource}
 * turns it into the untyped handler the provider dispatches to, checking
 * each value against the schema on the way in.
 *
 * Generic over the context `Ctx` the configured provider hands over (the
 * HTTP client, for appreg), so this module knows nothing of OAuth.
 */
import type { InPlaceAttributes, TypeSpec } from '../schema/model';
import type { TfValue } from '../tfplugin/types';
import type { Diagnostic } from './diagnostics';
import { DiagnosticError } from './diagnostics';
import { asModel, type ConfigModel, type PlannedModel, type StateModel } from './model';
import type { PrivateData } from './private';
import type { State } from './state';

/** A state together with its private data, as create, read, update and import return it. */
export interface Stored<M> {
  state: M;
  private?: PrivateData;
}

/** What a resource plans with; `planned` may be changed in place. */
export interface PlanInput<S extends TypeSpec> {
  prior: StateModel<S> | null;
  planned: ConfigModel<S>;
  config: ConfigModel<S>;
  /** True when the plan replaces the object (some attribute requires replacement). */
  replacing: boolean;
}

/** The core every resource implements. */
export interface ResourceCore<S extends TypeSpec, Ctx> {
  readonly spec: S;
  /** What the resource is in words, for diagnostics: "Could not create <noun>" (e.g. "the OAuth client"). */
  readonly noun: string;
  create(ctx: Ctx, planned: PlannedModel<S>): Promise<Stored<StateModel<S>>>;
  /** The object as it is now, or null when it is gone. `current` carries what only state knows (a secret, triggers). */
  read(ctx: Ctx, current: StateModel<S>, priv: PrivateData): Promise<Stored<StateModel<S>> | null>;
  delete(ctx: Ctx, prior: StateModel<S>, priv: PrivateData): Promise<void>;
}

/** Changes an object in place. Required exactly when some configurable attribute does not force a replacement. */
export interface ResourceWithUpdate<S extends TypeSpec, Ctx> {
  update(ctx: Ctx, prior: StateModel<S>, planned: PlannedModel<S>, priv: PrivateData): Promise<Stored<StateModel<S>>>;
}

/** Plan-time rules that need no service call, beyond the schema's own. */
export interface ResourceWithValidate<S extends TypeSpec> {
  validate(config: ConfigModel<S>): Diagnostic[];
}

/**
 * Planning after the generic defaults: values that depend on other
 * attributes, checks that need the service (ctx is undefined until the
 * provider is configured), warnings.
 */
export interface ResourceWithModifyPlan<S extends TypeSpec, Ctx> {
  modifyPlan(ctx: Ctx | undefined, input: PlanInput<S>): Promise<Diagnostic[]>;
}

/** Adopts an existing object by its import id. */
export interface ResourceWithImport<S extends TypeSpec, Ctx> {
  importState(ctx: Ctx, id: string): Promise<Stored<StateModel<S>>>;
}

/**
 * Reads state written under an older schema version. Without it, state of
 * an older version is decoded with the current type (known attributes kept,
 * new ones null, removed ones dropped), which is right as long as no
 * attribute changes meaning.
 */
export interface ResourceWithUpgradeState {
  upgradeState(version: number, rawStateJson: string): { state: TfValue; diagnostics: Diagnostic[] };
}

/** Update is required when something can change in place, and has nothing to do otherwise. */
type UpdateAbility<S extends TypeSpec, Ctx> = [InPlaceAttributes<S>] extends [never]
  ? { update?: never }
  : ResourceWithUpdate<S, Ctx>;

/** A resource as its module writes it: the core, update when it needs one, and the abilities it opts into. */
export type ResourceDefinition<S extends TypeSpec, Ctx> = ResourceCore<S, Ctx>
  & UpdateAbility<S, Ctx>
  & Partial<ResourceWithValidate<S> & ResourceWithModifyPlan<S, Ctx> & ResourceWithImport<S, Ctx> & ResourceWithUpgradeState>;

/** A stored object with untyped state, as the provider passes it to the protocol. */
export interface StoredState {
  state: State;
  private?: PrivateData;
}

/** The untyped plan input the provider has. */
export interface PlanState {
  prior: State | null;
  planned: State;
  config: State;
  replacing: boolean;
}

/** A resource as the provider sees it: every ability present, each one checking its input against the schema. */
export interface ResourceHandler<Ctx> {
  readonly spec: TypeSpec;
  readonly noun: string;
  validate(config: State): Diagnostic[];
  modifyPlan(ctx: Ctx | undefined, input: PlanState): Promise<Diagnostic[]>;
  create(ctx: Ctx, planned: State): Promise<StoredState>;
  read(ctx: Ctx, current: State, priv: PrivateData): Promise<StoredState | null>;
  update(ctx: Ctx, prior: State, planned: State, priv: PrivateData): Promise<StoredState>;
  delete(ctx: Ctx, prior: State, priv: PrivateData): Promise<void>;
  importState(ctx: Ctx, id: string): Promise<StoredState>;
  /** Undefined when the resource keeps the generic upgrade. */
  readonly upgradeState: ResourceWithUpgradeState['upgradeState'] | undefined;
}

/**
 * The handler of a resource definition. `const S` keeps the literal types of
 * the schema, which the models are inferred from.
 */
export function defineResource<const S extends TypeSpec, Ctx>(def: ResourceDefinition<S, Ctx>): ResourceHandler<Ctx> {
  const { spec } = def;
  const state = (v: State): StateModel<S> => asModel(spec, v, 'state');
  const planned = (v: State): PlannedModel<S> => asModel(spec, v, 'planned');
  const config = (v: State): ConfigModel<S> => asModel(spec, v, 'config');
  return {
    spec,
    noun: def.noun,
    validate: (c) => def.validate?.(config(c)) ?? [],
    modifyPlan: async (ctx, input) => def.modifyPlan === undefined
      ? []
      : def.modifyPlan(ctx, { prior: input.prior === null ? null : state(input.prior), planned: config(input.planned), config: config(input.config), replacing: input.replacing }),
    create: (ctx, p) => def.create(ctx, planned(p)),
    read: (ctx, current, priv) => def.read(ctx, state(current), priv),
    update: async (ctx, prior, p, priv) => {
      if (def.update === undefined) {
        // Every configurable attribute forces a replacement, so Terraform never asks for this.
        throw new Error(`${spec.typeName} has no attribute that changes in place, yet an update was asked for`);
      }
      return def.update(ctx, state(prior), planned(p), priv);
    },
    delete: (ctx, prior, priv) => def.delete(ctx, state(prior), priv),
    importState: async (ctx, id) => {
      if (def.importState === undefined) {
        throw new DiagnosticError([{ severity: 'error', summary: 'Import not supported', detail: `${spec.typeName} cannot be imported.` }]);
      }
      return def.importState(ctx, id);
    },
    upgradeState: def.upgradeState?.bind(def),
  };
}

/** A data source as its module writes it. */
export interface DataSourceDefinition<S extends TypeSpec, Ctx> {
  readonly spec: S;
  /** What the data source reads, in words, for diagnostics: "Could not read <noun>". */
  readonly noun: string;
  validate?(config: ConfigModel<S>): Diagnostic[];
  /** Reads with a known configuration; the attributes only the data source sets are null in it. */
  read(ctx: Ctx, config: StateModel<S>): Promise<StateModel<S>>;
}

/** A data source as the provider sees it. */
export interface DataSourceHandler<Ctx> {
  readonly spec: TypeSpec;
  readonly noun: string;
  validate(config: State): Diagnostic[];
  read(ctx: Ctx, config: State): Promise<State>;
}

/** The handler of a data source definition. */
export function defineDataSource<const S extends TypeSpec, Ctx>(def: DataSourceDefinition<S, Ctx>): DataSourceHandler<Ctx> {
  return {
    spec: def.spec,
    noun: def.noun,
    validate: (c) => def.validate?.(asModel(def.spec, c, 'config')) ?? [],
    read: async (ctx, c) => def.read(ctx, asModel(def.spec, c, 'state')),
  };
}
