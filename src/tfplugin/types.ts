/**
 * The provider-facing model of Terraform plugin protocol v6, free of gRPC and
 * msgpack: what a provider implementation sees and returns.
 *
 * `src/tfplugin` turns wire messages into these values and back; the
 * resources in `src/resources` implement {@link ProviderServer} and never see
 * protocol buffers. Nothing here knows about OAuth.
 */

/**
 * A Terraform type, in the JSON form Terraform itself uses (the `type` of an
 * attribute in `terraform providers schema -json`, and the bytes of
 * `Schema.Attribute.type` on the wire).
 */
export type TfType =
  | 'string'
  | 'number'
  | 'bool'
  | 'dynamic'
  | readonly ['list', TfType]
  | readonly ['set', TfType]
  | readonly ['map', TfType]
  | readonly ['object', { readonly [name: string]: TfType }]
  | readonly ['tuple', readonly TfType[]];

/** A value Terraform does not know yet (it is known after apply). */
export class Unknown {
  /** The single unknown value. Refinements Terraform sends (e.g. "not null") are dropped by the codec: appreg never needs them. */
  static readonly value = new Unknown();
  /** A brand: without a member of its own the class would match every object type and break narrowing. */
  readonly unknownBrand = true as const;
  private constructor() {}
}

/**
 * A Terraform value. Lists, sets and tuples are arrays; maps and objects are
 * plain objects; `null` is null; an unknown value is {@link Unknown.value}.
 * Every attribute of an object is present (null when unset).
 */
export type TfValue = null | Unknown | string | number | boolean | TfValue[] | { [key: string]: TfValue };

/** True when a value is unknown. */
export function isUnknown(v: unknown): v is Unknown {
  return v instanceof Unknown;
}

/** One step of an attribute path: an attribute name, a map key, or a list/set element index. */
export type PathStep = string | { key: string } | { index: number };
/** A path to an attribute, e.g. `['callback_urls', { index: 2 }]`. */
export type AttributePath = PathStep[];

/** Diagnostic severity. */
export type Severity = 'error' | 'warning';

/** A diagnostic, as Terraform shows it: a short summary, a detail that says what to do, and the attribute it is about. */
export interface Diagnostic {
  severity: Severity;
  summary: string;
  detail?: string;
  attribute?: AttributePath;
}

/** One attribute in the `terraform providers schema -json` shape. */
export interface SchemaAttributeJson {
  type: TfType;
  description?: string;
  description_kind?: 'plain' | 'markdown';
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
  deprecated?: boolean;
}

/** A block in the `terraform providers schema -json` shape (appreg uses no nested blocks). */
export interface SchemaBlockJson {
  attributes?: { [name: string]: SchemaAttributeJson };
  block_types?: { [name: string]: unknown };
  description?: string;
  description_kind?: 'plain' | 'markdown';
  deprecated?: boolean;
}

/** A resource, data source or provider schema in the `terraform providers schema -json` shape. */
export interface SchemaJson {
  version: number;
  block: SchemaBlockJson;
}

/** One provider's entry of `terraform providers schema -json` (`provider_schemas["registry.terraform.io/appreg/appreg"]`). */
export interface ProviderSchemaJson {
  provider: SchemaJson;
  resource_schemas: { [typeName: string]: SchemaJson };
  data_source_schemas: { [typeName: string]: SchemaJson };
}

/** What a provider answers to ReadResource. */
export interface ReadResult {
  /** The state now; null when the object is gone (Terraform then plans to create it). */
  newState: TfValue;
  private?: Uint8Array;
  diagnostics: Diagnostic[];
}

/** What a provider answers to PlanResourceChange. */
export interface PlanResult {
  plannedState: TfValue;
  /** Attributes whose change forces a replacement. */
  requiresReplace: AttributePath[];
  plannedPrivate?: Uint8Array;
  diagnostics: Diagnostic[];
}

/** What a provider answers to ApplyResourceChange. */
export interface ApplyResult {
  /** The new state; null after a destroy. */
  newState: TfValue;
  private?: Uint8Array;
  diagnostics: Diagnostic[];
}

/** One object that ImportResourceState adopts. */
export interface ImportedResource {
  typeName: string;
  state: TfValue;
  private?: Uint8Array;
}

/**
 * What the protocol server calls. Values are decoded with the schema the
 * implementation returned from {@link ProviderServer.schema}; every method
 * reports problems as diagnostics rather than by throwing (a throw becomes an
 * error diagnostic that says it is a bug).
 */
export interface ProviderServer {
  /** The schema, served unchanged by GetProviderSchema. */
  schema(): ProviderSchemaJson;
  validateProviderConfig(config: TfValue): Promise<Diagnostic[]>;
  configureProvider(config: TfValue, terraformVersion: string): Promise<Diagnostic[]>;
  validateResourceConfig(typeName: string, config: TfValue): Promise<Diagnostic[]>;
  validateDataResourceConfig(typeName: string, config: TfValue): Promise<Diagnostic[]>;
  /** Upgrades state stored by an older schema version; `rawStateJson` is the state as JSON text. */
  upgradeResourceState(typeName: string, version: number, rawStateJson: string): Promise<{ state: TfValue; diagnostics: Diagnostic[] }>;
  readResource(typeName: string, currentState: TfValue, priv: Uint8Array | undefined): Promise<ReadResult>;
  planResourceChange(
    typeName: string,
    priorState: TfValue,
    proposedNewState: TfValue,
    config: TfValue,
    priorPrivate: Uint8Array | undefined,
  ): Promise<PlanResult>;
  applyResourceChange(
    typeName: string,
    priorState: TfValue,
    plannedState: TfValue,
    config: TfValue,
    plannedPrivate: Uint8Array | undefined,
  ): Promise<ApplyResult>;
  importResourceState(typeName: string, id: string): Promise<{ imported: ImportedResource[]; diagnostics: Diagnostic[] }>;
  readDataSource(typeName: string, config: TfValue): Promise<{ state: TfValue; diagnostics: Diagnostic[] }>;
  /** Terraform asks the provider to stop (Ctrl-C); cancel in-flight work. */
  stop(): Promise<void>;
}
