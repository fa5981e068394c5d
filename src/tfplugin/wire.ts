/**
 * TypeScript shapes of the protocol messages, as `proto.ts` hands them to
 * handlers and takes them back: field names as in the `.proto` files
 * (snake_case), enums as their names, int64 as number, bytes as Buffer.
 *
 * Only what `src/tfplugin` and the test harness touch is typed. On input
 * every field is present (proto3 defaults filled in); on output any may be
 * left out.
 */

/** `tfplugin6.DynamicValue`: a Terraform value, msgpack-encoded (or JSON in older clients). */
export interface DynamicValue {
  msgpack?: Uint8Array;
  json?: Uint8Array;
}

/** `tfplugin6.AttributePath.Step`: exactly one selector is set. */
export interface WireStep {
  attribute_name?: string;
  element_key_string?: string;
  element_key_int?: number;
  /** Which selector is set (filled on decode). */
  selector?: 'attribute_name' | 'element_key_string' | 'element_key_int';
}

/** `tfplugin6.AttributePath`. */
export interface WireAttributePath {
  steps: WireStep[];
}

/** `tfplugin6.Diagnostic`. */
export interface WireDiagnostic {
  severity: 'INVALID' | 'ERROR' | 'WARNING';
  summary: string;
  detail?: string;
  attribute?: WireAttributePath | null;
}

/** `tfplugin6.StringKind`. */
export type WireStringKind = 'PLAIN' | 'MARKDOWN';

/** `tfplugin6.Schema.Attribute`. */
export interface WireSchemaAttribute {
  name: string;
  /** The type in Terraform's JSON type syntax, as UTF-8. */
  type: Uint8Array;
  description?: string;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
  description_kind?: WireStringKind;
  deprecated?: boolean;
}

/** `tfplugin6.Schema.NestedBlock.NestingMode`. */
export type WireNestingMode = 'INVALID' | 'SINGLE' | 'LIST' | 'SET' | 'MAP' | 'GROUP';

/** `tfplugin6.Schema.NestedBlock`. */
export interface WireNestedBlock {
  type_name: string;
  block: WireSchemaBlock;
  nesting: WireNestingMode;
  min_items?: number;
  max_items?: number;
}

/** `tfplugin6.Schema.Block`. */
export interface WireSchemaBlock {
  version?: number;
  attributes: WireSchemaAttribute[];
  block_types: WireNestedBlock[];
  description?: string;
  description_kind?: WireStringKind;
  deprecated?: boolean;
}

/** `tfplugin6.Schema`. */
export interface WireSchema {
  version: number;
  block: WireSchemaBlock;
}

/** `tfplugin6.ServerCapabilities`. */
export interface WireServerCapabilities {
  plan_destroy?: boolean;
  get_provider_schema_optional?: boolean;
  move_resource_state?: boolean;
}

/** `tfplugin6.GetProviderSchema.Response`. */
export interface GetProviderSchemaResponse {
  provider?: WireSchema | null;
  resource_schemas: { [typeName: string]: WireSchema };
  data_source_schemas: { [typeName: string]: WireSchema };
  diagnostics: WireDiagnostic[];
  server_capabilities?: WireServerCapabilities | null;
  functions?: { [name: string]: object };
}

/** `tfplugin6.GetMetadata.Response`. */
export interface GetMetadataResponse {
  server_capabilities?: WireServerCapabilities | null;
  diagnostics: WireDiagnostic[];
  data_sources: { type_name: string }[];
  resources: { type_name: string }[];
}

/** `tfplugin6.RawState`. */
export interface WireRawState {
  json?: Uint8Array;
  flatmap?: { [key: string]: string };
}

/** Request and response of every RPC of `tfplugin6.Provider` that appreg serves. */
export interface ProviderRpcs {
  GetMetadata: { req: object; res: GetMetadataResponse };
  GetProviderSchema: { req: object; res: GetProviderSchemaResponse };
  ValidateProviderConfig: { req: { config?: DynamicValue | null }; res: { diagnostics: WireDiagnostic[] } };
  ValidateResourceConfig: { req: { type_name: string; config?: DynamicValue | null }; res: { diagnostics: WireDiagnostic[] } };
  ValidateDataResourceConfig: { req: { type_name: string; config?: DynamicValue | null }; res: { diagnostics: WireDiagnostic[] } };
  UpgradeResourceState: {
    req: { type_name: string; version: number; raw_state?: WireRawState | null };
    res: { upgraded_state?: DynamicValue | null; diagnostics: WireDiagnostic[] };
  };
  ConfigureProvider: { req: { terraform_version: string; config?: DynamicValue | null }; res: { diagnostics: WireDiagnostic[] } };
  ReadResource: {
    req: { type_name: string; current_state?: DynamicValue | null; private?: Uint8Array };
    res: { new_state?: DynamicValue | null; diagnostics: WireDiagnostic[]; private?: Uint8Array };
  };
  PlanResourceChange: {
    req: {
      type_name: string;
      prior_state?: DynamicValue | null;
      proposed_new_state?: DynamicValue | null;
      config?: DynamicValue | null;
      prior_private?: Uint8Array;
    };
    res: {
      planned_state?: DynamicValue | null;
      requires_replace: WireAttributePath[];
      planned_private?: Uint8Array;
      diagnostics: WireDiagnostic[];
    };
  };
  ApplyResourceChange: {
    req: {
      type_name: string;
      prior_state?: DynamicValue | null;
      planned_state?: DynamicValue | null;
      config?: DynamicValue | null;
      planned_private?: Uint8Array;
    };
    res: { new_state?: DynamicValue | null; private?: Uint8Array; diagnostics: WireDiagnostic[] };
  };
  ImportResourceState: {
    req: { type_name: string; id: string };
    res: {
      imported_resources: { type_name: string; state?: DynamicValue | null; private?: Uint8Array }[];
      diagnostics: WireDiagnostic[];
    };
  };
  MoveResourceState: {
    req: {
      source_provider_address: string;
      source_type_name: string;
      source_schema_version: number;
      source_state?: WireRawState | null;
      target_type_name: string;
      source_private?: Uint8Array;
    };
    res: { target_state?: DynamicValue | null; diagnostics: WireDiagnostic[]; target_private?: Uint8Array };
  };
  ReadDataSource: {
    req: { type_name: string; config?: DynamicValue | null };
    res: { state?: DynamicValue | null; diagnostics: WireDiagnostic[] };
  };
  GetFunctions: { req: object; res: { functions: { [name: string]: object }; diagnostics: WireDiagnostic[] } };
  StopProvider: { req: object; res: { Error?: string } };
}

/** The name of an RPC of `tfplugin6.Provider`. */
export type ProviderRpcName = keyof ProviderRpcs;

/** `grpc.health.v1.HealthCheckResponse`. */
export interface HealthCheckResponse {
  status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
}

/** `plugin.StdioData`. */
export interface StdioData {
  channel: 'INVALID' | 'STDOUT' | 'STDERR';
  data: Uint8Array;
}
