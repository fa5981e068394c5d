/**
 * The Provider service handlers in-process: values decoded and encoded with
 * the schema, and every failure of the implementation turned into a
 * diagnostic rather than a failed RPC.
 */
import { decodeMsgpack, encodeMsgpack, type ProviderSchemaJson, type ProviderServer, type TfValue, Unknown } from '../../src/tfplugin';
import type { Logger } from '../../src/tfplugin/log';
import { providerHandlers, SERVER_CAPABILITIES } from '../../src/tfplugin/server';

const schema: ProviderSchemaJson = {
  provider: { version: 0, block: { attributes: { endpoint: { type: 'string', optional: true } } } },
  resource_schemas: {
    t_thing: { version: 3, block: { attributes: { id: { type: 'string', computed: true }, name: { type: 'string', required: true } } } },
  },
  data_source_schemas: { t_look: { version: 0, block: { attributes: { name: { type: 'string', required: true } } } } },
};
const thing = ['object', { id: 'string', name: 'string' }] as const;

const silent: Logger = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** An implementation whose every method fails unless a test overrides it. */
function impl(overrides: Partial<ProviderServer>): ProviderServer {
  const no = (): never => {
    throw new Error('not expected');
  };
  return {
    schema: () => schema,
    validateProviderConfig: no,
    configureProvider: no,
    validateResourceConfig: no,
    validateDataResourceConfig: no,
    upgradeResourceState: no,
    readResource: no,
    planResourceChange: no,
    applyResourceChange: no,
    importResourceState: no,
    readDataSource: no,
    stop: no,
    ...overrides,
  };
}

const dv = (v: TfValue, t: Parameters<typeof encodeMsgpack>[1] = thing): { msgpack: Uint8Array } => ({ msgpack: encodeMsgpack(v, t) });

test('GetProviderSchema serves the schema with the capabilities, and reads it once', async () => {
  let calls = 0;
  const h = providerHandlers(impl({ schema: () => (calls++, schema) }), silent);
  const res = await h.GetProviderSchema({});
  await h.GetProviderSchema({});
  expect(calls).toBe(1);
  expect(Object.keys(res.resource_schemas)).toEqual(['t_thing']);
  expect(res.resource_schemas.t_thing.version).toBe(3);
  expect(res.server_capabilities).toEqual(SERVER_CAPABILITIES);
  expect(res.diagnostics).toEqual([]);
});

test('GetMetadata lists the type names', async () => {
  const res = await providerHandlers(impl({}), silent).GetMetadata({});
  expect(res.resources).toEqual([{ type_name: 't_thing' }]);
  expect(res.data_sources).toEqual([{ type_name: 't_look' }]);
});

test('a schema() that throws becomes a diagnostic of GetProviderSchema', async () => {
  const res = await providerHandlers(impl({ schema: () => { throw new Error('no schema'); } }), silent).GetProviderSchema({});
  expect(res.diagnostics[0]).toMatchObject({ severity: 'ERROR', summary: 'Internal error in the provider' });
  expect(res.diagnostics[0].detail).toMatch(/GetProviderSchema failed: no schema/);
});

test('PlanResourceChange decodes with the schema and encodes the answer', async () => {
  const h = providerHandlers(
    impl({
      planResourceChange: async (typeName, prior, proposed, config, priv) => {
        expect([typeName, prior, proposed, config, priv]).toEqual(['t_thing', null, { id: null, name: 'n' }, { id: null, name: 'n' }, undefined]);
        return { plannedState: { id: Unknown.value, name: 'n' }, requiresReplace: [['name']], plannedPrivate: Buffer.from('p'), diagnostics: [{ severity: 'warning', summary: 'w' }] };
      },
    }),
    silent,
  );
  const res = await h.PlanResourceChange({
    type_name: 't_thing',
    prior_state: dv(null),
    proposed_new_state: dv({ name: 'n' }),
    config: dv({ name: 'n' }),
    prior_private: Buffer.alloc(0),
  });
  expect(decodeMsgpack(res.planned_state!.msgpack!, thing)).toEqual({ id: Unknown.value, name: 'n' });
  expect(res.requires_replace).toEqual([{ steps: [{ attribute_name: 'name' }] }]);
  expect(Buffer.from(res.planned_private!).toString()).toBe('p');
  expect(res.diagnostics).toEqual([{ severity: 'WARNING', summary: 'w', detail: '' }]);
});

test('an exception in the implementation is an error diagnostic that says it is a bug', async () => {
  const h = providerHandlers(impl({ applyResourceChange: async () => { throw new TypeError("Cannot read properties of undefined (reading 'id')"); } }), silent);
  const res = await h.ApplyResourceChange({ type_name: 't_thing', prior_state: dv(null), planned_state: dv({ name: 'n' }), config: dv({ name: 'n' }) });
  expect(res.new_state).toBeUndefined();
  expect(res.diagnostics).toHaveLength(1);
  expect(res.diagnostics[0].severity).toBe('ERROR');
  expect(res.diagnostics[0].detail).toMatch(/ApplyResourceChange for t_thing failed: Cannot read properties of undefined/);
  expect(res.diagnostics[0].detail).toMatch(/bug in the provider/);
});

test('a returned value that does not fit the schema is a bug, with the attribute', async () => {
  const h = providerHandlers(impl({ readResource: async () => ({ newState: { id: 5, name: 'n' }, diagnostics: [] }) }), silent);
  const res = await h.ReadResource({ type_name: 't_thing', current_state: dv({ id: 'a', name: 'n' }) });
  expect(res.diagnostics[0].detail).toMatch(/ReadResource for t_thing failed: id: expected string, got number 5/);
  expect(res.diagnostics[0].attribute).toEqual({ steps: [{ attribute_name: 'id' }] });
});

test('an unknown type name is an error diagnostic, not a bug', async () => {
  const res = await providerHandlers(impl({}), silent).ValidateResourceConfig({ type_name: 't_nope', config: dv(null) });
  expect(res.diagnostics[0]).toMatchObject({ severity: 'ERROR', summary: 'Unknown resource type' });
});

test('UpgradeResourceState passes the JSON and version through', async () => {
  const h = providerHandlers(
    impl({
      upgradeResourceState: async (typeName, version, json) => {
        expect([typeName, version, json]).toEqual(['t_thing', 2, '{"id":"a","name":"n","old":1}']);
        return { state: { id: 'a', name: 'n' }, diagnostics: [] };
      },
    }),
    silent,
  );
  const res = await h.UpgradeResourceState({ type_name: 't_thing', version: 2, raw_state: { json: Buffer.from('{"id":"a","name":"n","old":1}') } });
  expect(decodeMsgpack(res.upgraded_state!.msgpack!, thing)).toEqual({ id: 'a', name: 'n' });
});

test('UpgradeResourceState of flatmap state says so', async () => {
  const res = await providerHandlers(impl({}), silent).UpgradeResourceState({ type_name: 't_thing', version: 0, raw_state: { json: Buffer.alloc(0), flatmap: { id: 'a' } } });
  expect(res.diagnostics[0].detail).toMatch(/flatmap format/);
});

test('ImportResourceState encodes each object with its own type', async () => {
  const h = providerHandlers(impl({ importResourceState: async (typeName, id) => ({ imported: [{ typeName, state: { id, name: 'n' } }], diagnostics: [] }) }), silent);
  const res = await h.ImportResourceState({ type_name: 't_thing', id: 'x1' });
  expect(res.imported_resources[0].type_name).toBe('t_thing');
  expect(decodeMsgpack(res.imported_resources[0].state!.msgpack!, thing)).toEqual({ id: 'x1', name: 'n' });
});

test('ConfigureProvider passes the Terraform version', async () => {
  const h = providerHandlers(
    impl({
      configureProvider: async (config, version) => {
        expect([config, version]).toEqual([{ endpoint: 'http://x' }, '1.11.4']);
        return [];
      },
    }),
    silent,
  );
  const res = await h.ConfigureProvider({ terraform_version: '1.11.4', config: dv({ endpoint: 'http://x' }, ['object', { endpoint: 'string' }]) });
  expect(res.diagnostics).toEqual([]);
});

test('StopProvider reports a failure of stop() in its Error field', async () => {
  expect(await providerHandlers(impl({ stop: async () => undefined }), silent).StopProvider({})).toEqual({});
  expect(await providerHandlers(impl({ stop: async () => { throw new Error('stuck'); } }), silent).StopProvider({})).toEqual({ Error: 'stuck' });
});

test('MoveResourceState is refused with a diagnostic', async () => {
  const res = await providerHandlers(impl({}), silent).MoveResourceState({
    source_provider_address: 'registry.terraform.io/x/y',
    source_type_name: 'y_a',
    source_schema_version: 0,
    target_type_name: 't_thing',
  });
  expect(res.diagnostics[0].summary).toMatch(/not supported/);
});
