/**
 * The `tfplugin6.Provider` service as plain async functions from request
 * message to response message, on top of a {@link ProviderServer}.
 *
 * Kept apart from gRPC so it can be tested in-process; `serve.ts` wires it
 * into `@grpc/grpc-js`. Nothing the implementation does can fail an RPC:
 * exceptions, and values that do not fit the implementation's own schema,
 * become an error diagnostic that says it is a provider bug.
 */
import { decodeDynamicValue, encodeDynamicValue } from './codec';
import { bugDiagnostic, diagnosticToWire, pathToWire } from './diagnostics';
import type { Logger } from './log';
import { blockType, providerSchemaToWire } from './schema';
import type { Diagnostic, ProviderSchemaJson, ProviderServer, TfType } from './types';
import type { GetProviderSchemaResponse, ProviderRpcName, ProviderRpcs, WireDiagnostic, WireServerCapabilities } from './wire';

/** One handler per RPC. */
export type ProviderHandlers = { [K in ProviderRpcName]: (req: ProviderRpcs[K]['req']) => Promise<ProviderRpcs[K]['res']> };

/**
 * What this server tells Terraform it supports:
 * - no `plan_destroy`: Terraform destroys with ApplyResourceChange alone
 *   (planned state null) and never asks the implementation to plan a destroy;
 * - `get_provider_schema_optional`: the schema never changes within a
 *   release, so Terraform may reuse what one instance served for the other
 *   instances it starts in the same command, saving a round trip each.
 */
export const SERVER_CAPABILITIES: WireServerCapabilities = {
  plan_destroy: false,
  get_provider_schema_optional: true,
  move_resource_state: false,
};

/** A diagnostic about a type name the schema does not have (Terraform only sends those it knows, so this is rare). */
class UnknownTypeError extends Error {
  constructor(
    readonly kind: string,
    readonly typeName: string,
  ) {
    super(`The provider has no ${kind} type ${JSON.stringify(typeName)}.`);
  }
}

interface SchemaCache {
  json: ProviderSchemaJson;
  wire: GetProviderSchemaResponse;
  provider: TfType;
  resources: Map<string, TfType>;
  dataSources: Map<string, TfType>;
}

const emptyToUndefined = (b: Uint8Array | undefined): Uint8Array | undefined => (b && b.length ? b : undefined);

/** Builds the handlers. The schema is read from the implementation on first use and then kept. */
export function providerHandlers(impl: ProviderServer, log: Logger): ProviderHandlers {
  let cache: SchemaCache | undefined;

  function schema(): SchemaCache {
    if (cache) return cache;
    const json = impl.schema();
    const wire = providerSchemaToWire(json);
    const types = (schemas: { [t: string]: { block: ProviderSchemaJson['provider']['block'] } }): Map<string, TfType> =>
      new Map(Object.entries(schemas).map(([t, s]) => [t, blockType(s.block)]));
    cache = {
      json,
      wire: { ...wire, diagnostics: [], server_capabilities: SERVER_CAPABILITIES, functions: {} },
      provider: blockType(json.provider.block),
      resources: types(json.resource_schemas),
      dataSources: types(json.data_source_schemas),
    };
    return cache;
  }

  const resourceType = (typeName: string): TfType => {
    const t = schema().resources.get(typeName);
    if (!t) throw new UnknownTypeError('resource', typeName);
    return t;
  };
  const dataSourceType = (typeName: string): TfType => {
    const t = schema().dataSources.get(typeName);
    if (!t) throw new UnknownTypeError('data source', typeName);
    return t;
  };

  /**
   * Runs one RPC. On any exception, answers `fail(diagnostics)` instead: a
   * response with no value, only the error, which is how Terraform expects
   * a provider to report failure.
   */
  async function guard<K extends ProviderRpcName>(
    rpc: K,
    typeName: string | undefined,
    run: () => Promise<ProviderRpcs[K]['res']>,
    fail: (diags: WireDiagnostic[]) => ProviderRpcs[K]['res'],
  ): Promise<ProviderRpcs[K]['res']> {
    const started = Date.now();
    const label = typeName ? `${rpc} ${typeName}` : rpc;
    log.trace(`${label}: start`);
    try {
      const res = await run();
      log.trace(`${label}: done in ${Date.now() - started} ms`);
      return res;
    } catch (err) {
      if (err instanceof UnknownTypeError) {
        return fail([diagnosticToWire({ severity: 'error', summary: `Unknown ${err.kind} type`, detail: err.message })]);
      }
      log.error(`${label} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return fail([diagnosticToWire(bugDiagnostic(rpc, typeName, err))]);
    }
  }

  const diags = (ds: Diagnostic[]): WireDiagnostic[] => (ds ?? []).map(diagnosticToWire);

  return {
    async GetMetadata() {
      return guard(
        'GetMetadata',
        undefined,
        async () => {
          const s = schema().json;
          return {
            server_capabilities: SERVER_CAPABILITIES,
            diagnostics: [],
            resources: Object.keys(s.resource_schemas).map((type_name) => ({ type_name })),
            data_sources: Object.keys(s.data_source_schemas).map((type_name) => ({ type_name })),
          };
        },
        (diagnostics) => ({ server_capabilities: SERVER_CAPABILITIES, diagnostics, resources: [], data_sources: [] }),
      );
    },

    async GetProviderSchema() {
      return guard(
        'GetProviderSchema',
        undefined,
        async () => schema().wire,
        (diagnostics) => ({ resource_schemas: {}, data_source_schemas: {}, diagnostics, server_capabilities: SERVER_CAPABILITIES }),
      );
    },

    async ValidateProviderConfig(req) {
      return guard(
        'ValidateProviderConfig',
        undefined,
        async () => ({ diagnostics: diags(await impl.validateProviderConfig(decodeDynamicValue(req.config, schema().provider))) }),
        (diagnostics) => ({ diagnostics }),
      );
    },

    async ValidateResourceConfig(req) {
      return guard(
        'ValidateResourceConfig',
        req.type_name,
        async () => {
          const config = decodeDynamicValue(req.config, resourceType(req.type_name));
          return { diagnostics: diags(await impl.validateResourceConfig(req.type_name, config)) };
        },
        (diagnostics) => ({ diagnostics }),
      );
    },

    async ValidateDataResourceConfig(req) {
      return guard(
        'ValidateDataResourceConfig',
        req.type_name,
        async () => {
          const config = decodeDynamicValue(req.config, dataSourceType(req.type_name));
          return { diagnostics: diags(await impl.validateDataResourceConfig(req.type_name, config)) };
        },
        (diagnostics) => ({ diagnostics }),
      );
    },

    async UpgradeResourceState(req) {
      return guard(
        'UpgradeResourceState',
        req.type_name,
        async () => {
          const type = resourceType(req.type_name);
          const json = req.raw_state?.json;
          if (!json || json.length === 0) {
            const flatmap = req.raw_state?.flatmap && Object.keys(req.raw_state.flatmap).length > 0;
            return {
              diagnostics: [
                diagnosticToWire({
                  severity: 'error',
                  summary: 'Unsupported state format',
                  detail: flatmap
                    ? `The stored state of this ${req.type_name} is in the flatmap format of Terraform 0.11 and older, which this provider never wrote. Remove it from the state (terraform state rm) and import it again.`
                    : `Terraform sent no stored state to upgrade for this ${req.type_name}.`,
                }),
              ],
            };
          }
          const res = await impl.upgradeResourceState(req.type_name, req.version, Buffer.from(json).toString('utf8'));
          const d = diags(res.diagnostics);
          return { upgraded_state: encodeDynamicValue(res.state, type), diagnostics: d };
        },
        (diagnostics) => ({ diagnostics }),
      );
    },

    async ConfigureProvider(req) {
      return guard(
        'ConfigureProvider',
        undefined,
        async () => ({
          diagnostics: diags(await impl.configureProvider(decodeDynamicValue(req.config, schema().provider), req.terraform_version)),
        }),
        (diagnostics) => ({ diagnostics }),
      );
    },

    async ReadResource(req) {
      return guard(
        'ReadResource',
        req.type_name,
        async () => {
          const type = resourceType(req.type_name);
          const res = await impl.readResource(req.type_name, decodeDynamicValue(req.current_state, type), emptyToUndefined(req.private));
          return {
            new_state: encodeDynamicValue(res.newState, type),
            diagnostics: diags(res.diagnostics),
            ...(res.private ? { private: res.private } : {}),
          };
        },
        (diagnostics) => ({ diagnostics }),
      );
    },

    async PlanResourceChange(req) {
      return guard(
        'PlanResourceChange',
        req.type_name,
        async () => {
          const type = resourceType(req.type_name);
          const res = await impl.planResourceChange(
            req.type_name,
            decodeDynamicValue(req.prior_state, type),
            decodeDynamicValue(req.proposed_new_state, type),
            decodeDynamicValue(req.config, type),
            emptyToUndefined(req.prior_private),
          );
          return {
            planned_state: encodeDynamicValue(res.plannedState, type),
            requires_replace: (res.requiresReplace ?? []).map(pathToWire),
            diagnostics: diags(res.diagnostics),
            ...(res.plannedPrivate ? { planned_private: res.plannedPrivate } : {}),
          };
        },
        (diagnostics) => ({ requires_replace: [], diagnostics }),
      );
    },

    async ApplyResourceChange(req) {
      return guard(
        'ApplyResourceChange',
        req.type_name,
        async () => {
          const type = resourceType(req.type_name);
          const res = await impl.applyResourceChange(
            req.type_name,
            decodeDynamicValue(req.prior_state, type),
            decodeDynamicValue(req.planned_state, type),
            decodeDynamicValue(req.config, type),
            emptyToUndefined(req.planned_private),
          );
          return {
            new_state: encodeDynamicValue(res.newState, type),
            diagnostics: diags(res.diagnostics),
            ...(res.private ? { private: res.private } : {}),
          };
        },
        (diagnostics) => ({ diagnostics }),
      );
    },

    async ImportResourceState(req) {
      return guard(
        'ImportResourceState',
        req.type_name,
        async () => {
          resourceType(req.type_name);
          const res = await impl.importResourceState(req.type_name, req.id);
          return {
            imported_resources: res.imported.map((r) => ({
              type_name: r.typeName,
              state: encodeDynamicValue(r.state, resourceType(r.typeName)),
              ...(r.private ? { private: r.private } : {}),
            })),
            diagnostics: diags(res.diagnostics),
          };
        },
        (diagnostics) => ({ imported_resources: [], diagnostics }),
      );
    },

    async MoveResourceState(req) {
      return {
        diagnostics: [
          diagnosticToWire({
            severity: 'error',
            summary: 'Moving resources between types is not supported',
            detail: `This provider cannot move ${req.source_type_name} (from ${req.source_provider_address}) to ${req.target_type_name}. Remove the moved block, and import the object under its new address instead.`,
          }),
        ],
      };
    },

    async ReadDataSource(req) {
      return guard(
        'ReadDataSource',
        req.type_name,
        async () => {
          const type = dataSourceType(req.type_name);
          const res = await impl.readDataSource(req.type_name, decodeDynamicValue(req.config, type));
          return { state: encodeDynamicValue(res.state, type), diagnostics: diags(res.diagnostics) };
        },
        (diagnostics) => ({ diagnostics }),
      );
    },

    async GetFunctions() {
      return { functions: {}, diagnostics: [] };
    },

    async StopProvider() {
      log.debug('StopProvider: stopping in-flight work');
      try {
        await impl.stop();
        return {};
      } catch (err) {
        log.error(`StopProvider failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        return { Error: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}
