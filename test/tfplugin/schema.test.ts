/** Schema conversion: the `providers schema -json` shape to protobuf and back, and the value type of a block. */
import { blockFromWire, blockToWire, blockType, providerSchemaToWire, schemaFromWire, schemaToWire, type SchemaBlockJson, type SchemaJson } from '../../src/tfplugin';
import { decodeMessage, encodeMessage } from '../../src/tfplugin/proto';
import type { WireSchema } from '../../src/tfplugin/wire';

const resource: SchemaJson = {
  version: 2,
  block: {
    description: 'An **app**.',
    description_kind: 'markdown',
    attributes: {
      name: { type: 'string', required: true, description: 'The name.', description_kind: 'plain' },
      id: { type: 'string', computed: true },
      secret: { type: 'string', computed: true, sensitive: true },
      urls: { type: ['set', 'string'], required: true },
      color: { type: 'string', optional: true, computed: true, deprecated: true },
    },
    block_types: {
      limits: { nesting_mode: 'list', max_items: 3, block: { attributes: { rps: { type: 'number', optional: true } } } },
    },
  },
};

describe('schema to protobuf', () => {
  const wire = schemaToWire(resource);

  test('attributes are sorted by name, with the type as JSON bytes and every flag', () => {
    expect(wire.version).toBe(2);
    expect(wire.block.attributes.map((a) => a.name)).toEqual(['color', 'id', 'name', 'secret', 'urls']);
    const byName = Object.fromEntries(wire.block.attributes.map((a) => [a.name, a]));
    expect(Buffer.from(byName.urls.type).toString()).toBe('["set","string"]');
    expect(Buffer.from(byName.name.type).toString()).toBe('"string"');
    expect(byName.name).toMatchObject({ required: true, optional: false, computed: false, description: 'The name.', description_kind: 'PLAIN' });
    expect(byName.secret).toMatchObject({ computed: true, sensitive: true });
    expect(byName.color).toMatchObject({ optional: true, computed: true, deprecated: true });
  });

  test('block description and kind', () => {
    expect(wire.block).toMatchObject({ description: 'An **app**.', description_kind: 'MARKDOWN' });
  });

  test('nested blocks', () => {
    expect(wire.block.block_types).toHaveLength(1);
    expect(wire.block.block_types[0]).toMatchObject({ type_name: 'limits', nesting: 'LIST', max_items: 3, min_items: 0 });
    expect(wire.block.block_types[0].block.attributes[0].name).toBe('rps');
  });

  test('survives protobuf encoding', () => {
    const back = decodeMessage('tfplugin6.Schema', encodeMessage('tfplugin6.Schema', wire)) as WireSchema;
    expect(schemaFromWire(back)).toEqual(resource);
  });

  test('converts back to the JSON shape unchanged', () => {
    expect(schemaFromWire(wire)).toEqual(resource);
  });

  test('a bad type is caught here, naming the resource', () => {
    expect(() =>
      providerSchemaToWire({
        provider: { version: 0, block: {} },
        resource_schemas: { x_thing: { version: 0, block: { attributes: { a: { type: ['lsit', 'string'] as never, optional: true } } } } },
        data_source_schemas: {},
      }),
    ).toThrow(/schema of x_thing: not a Terraform type: \["lsit","string"\]/);
  });

  test('an empty block', () => {
    expect(blockFromWire(blockToWire({}))).toEqual({});
  });
});

describe('block type', () => {
  test('attributes and nested blocks by nesting mode', () => {
    const block: SchemaBlockJson = {
      attributes: { a: { type: 'string', optional: true } },
      block_types: {
        one: { nesting_mode: 'single', block: { attributes: { x: { type: 'bool', optional: true } } } },
        many: { nesting_mode: 'set', block: { attributes: { y: { type: 'number', optional: true } } } },
        named: { nesting_mode: 'map', block: {} },
      },
    };
    expect(blockType(block)).toEqual([
      'object',
      { a: 'string', one: ['object', { x: 'bool' }], many: ['set', ['object', { y: 'number' }]], named: ['map', ['object', {}]] },
    ]);
  });
});
