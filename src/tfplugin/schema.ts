/**
 * Schemas: the `terraform providers schema -json` shape the implementation
 * declares, the protobuf `Schema` Terraform receives, and the value type a
 * block's objects have.
 */
import type { ProviderSchemaJson, SchemaAttributeJson, SchemaBlockJson, SchemaJson, TfType } from './types';
import { CodecError, defineOwn, parseType, typeToJson } from './tftype';
import type { WireNestedBlock, WireNestingMode, WireSchema, WireSchemaAttribute, WireSchemaBlock, WireStringKind } from './wire';

/** Nesting modes of a nested block, as `terraform providers schema -json` spells them. */
export type NestingModeJson = 'single' | 'group' | 'list' | 'set' | 'map';

/** A nested block in the `terraform providers schema -json` shape (`block_types` entries). */
export interface NestedBlockJson {
  nesting_mode: NestingModeJson;
  block: SchemaBlockJson;
  min_items?: number;
  max_items?: number;
}

const NESTING_TO_WIRE: { [k in NestingModeJson]: WireNestingMode } = {
  single: 'SINGLE',
  group: 'GROUP',
  list: 'LIST',
  set: 'SET',
  map: 'MAP',
};

function kindToWire(kind: 'plain' | 'markdown' | undefined): WireStringKind {
  return kind === 'markdown' ? 'MARKDOWN' : 'PLAIN';
}

function asNestedBlock(name: string, raw: unknown): NestedBlockJson {
  const nb = raw as Partial<NestedBlockJson> | null;
  if (!nb || typeof nb !== 'object' || !nb.nesting_mode || !(nb.nesting_mode in NESTING_TO_WIRE) || !nb.block) {
    throw new CodecError(`block type ${name}: expected {nesting_mode, block}`);
  }
  return nb as NestedBlockJson;
}

const byName = <T>(obj: { [name: string]: T } | undefined): [string, T][] =>
  Object.entries(obj ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Converts one attribute. */
export function attributeToWire(name: string, attr: SchemaAttributeJson): WireSchemaAttribute {
  // Parsing checks the type, so a typo fails here rather than inside Terraform.
  const type = parseType(attr.type);
  return {
    name,
    type: Buffer.from(typeToJson(type), 'utf8'),
    description: attr.description ?? '',
    description_kind: kindToWire(attr.description_kind),
    required: !!attr.required,
    optional: !!attr.optional,
    computed: !!attr.computed,
    sensitive: !!attr.sensitive,
    deprecated: !!attr.deprecated,
  };
}

/** Converts a block (attributes and nested blocks, sorted by name for a stable message). */
export function blockToWire(block: SchemaBlockJson, version = 0): WireSchemaBlock {
  return {
    version,
    attributes: byName(block.attributes).map(([name, attr]) => attributeToWire(name, attr)),
    block_types: byName(block.block_types).map(([name, raw]): WireNestedBlock => {
      const nb = asNestedBlock(name, raw);
      return {
        type_name: name,
        block: blockToWire(nb.block, version),
        nesting: NESTING_TO_WIRE[nb.nesting_mode],
        min_items: nb.min_items ?? 0,
        max_items: nb.max_items ?? 0,
      };
    }),
    description: block.description ?? '',
    description_kind: kindToWire(block.description_kind),
    deprecated: !!block.deprecated,
  };
}

/** Converts a provider, resource or data source schema to the protobuf `Schema`. */
export function schemaToWire(schema: SchemaJson): WireSchema {
  return { version: schema.version, block: blockToWire(schema.block, schema.version) };
}

/** The parts of `GetProviderSchema.Response` that come from the schema. */
export function providerSchemaToWire(ps: ProviderSchemaJson): {
  provider: WireSchema;
  resource_schemas: { [typeName: string]: WireSchema };
  data_source_schemas: { [typeName: string]: WireSchema };
} {
  const map = (schemas: { [t: string]: SchemaJson }): { [t: string]: WireSchema } => {
    const out: { [t: string]: WireSchema } = {};
    for (const [typeName, s] of byName(schemas)) {
      try {
        out[typeName] = schemaToWire(s);
      } catch (err) {
        throw new CodecError(`schema of ${typeName}: ${(err as Error).message}`);
      }
    }
    return out;
  };
  let provider: WireSchema;
  try {
    provider = schemaToWire(ps.provider);
  } catch (err) {
    throw new CodecError(`provider schema: ${(err as Error).message}`);
  }
  return { provider, resource_schemas: map(ps.resource_schemas), data_source_schemas: map(ps.data_source_schemas) };
}

const NESTING_FROM_WIRE: { [k in WireNestingMode]?: NestingModeJson } = {
  SINGLE: 'single',
  GROUP: 'group',
  LIST: 'list',
  SET: 'set',
  MAP: 'map',
};

function kindFromWire(kind: WireStringKind | undefined): 'plain' | 'markdown' {
  return kind === 'MARKDOWN' ? 'markdown' : 'plain';
}

/**
 * Converts a protobuf block back to the JSON shape, as `terraform providers
 * schema -json` would print it (false flags and empty descriptions left out).
 * The test harness uses it to type values by the schema a provider serves.
 */
export function blockFromWire(block: WireSchemaBlock): SchemaBlockJson {
  const out: SchemaBlockJson = {};
  if (block.attributes.length) {
    out.attributes = {};
    for (const a of block.attributes) {
      const attr: SchemaAttributeJson = { type: parseType(JSON.parse(Buffer.from(a.type).toString('utf8'))) };
      if (a.description) {
        attr.description = a.description;
        attr.description_kind = kindFromWire(a.description_kind);
      }
      if (a.required) attr.required = true;
      if (a.optional) attr.optional = true;
      if (a.computed) attr.computed = true;
      if (a.sensitive) attr.sensitive = true;
      if (a.deprecated) attr.deprecated = true;
      defineOwn(out.attributes, a.name, attr);
    }
  }
  if (block.block_types.length) {
    out.block_types = {};
    for (const nb of block.block_types) {
      const mode = NESTING_FROM_WIRE[nb.nesting];
      if (!mode) throw new CodecError(`block type ${nb.type_name}: invalid nesting ${nb.nesting}`);
      const json: NestedBlockJson = { nesting_mode: mode, block: blockFromWire(nb.block) };
      if (nb.min_items) json.min_items = nb.min_items;
      if (nb.max_items) json.max_items = nb.max_items;
      out.block_types[nb.type_name] = json;
    }
  }
  if (block.description) {
    out.description = block.description;
    out.description_kind = kindFromWire(block.description_kind);
  }
  if (block.deprecated) out.deprecated = true;
  return out;
}

/** Converts a protobuf `Schema` back to the JSON shape. */
export function schemaFromWire(schema: WireSchema): SchemaJson {
  return { version: schema.version, block: blockFromWire(schema.block) };
}

const blockTypes = new WeakMap<SchemaBlockJson, TfType>();

/**
 * The type of the objects a block describes: one attribute per attribute and
 * per nested block (a `single` or `group` block is an object, `list`/`set`
 * blocks are lists/sets of objects, a `map` block a map of objects).
 *
 * Worked out once per block object (a schema is data that never changes once
 * served; the provider asks again for every stored state it upgrades).
 */
export function blockType(block: SchemaBlockJson): TfType {
  let type = blockTypes.get(block);
  if (type === undefined) {
    type = computeBlockType(block);
    blockTypes.set(block, type);
  }
  return type;
}

function computeBlockType(block: SchemaBlockJson): TfType {
  const attrs: { [name: string]: TfType } = {};
  for (const [name, attr] of Object.entries(block.attributes ?? {})) defineOwn(attrs, name, parseType(attr.type));
  for (const [name, raw] of Object.entries(block.block_types ?? {})) {
    const nb = asNestedBlock(name, raw);
    const inner = blockType(nb.block);
    defineOwn(attrs, name, nb.nesting_mode === 'single' || nb.nesting_mode === 'group' ? inner : [nb.nesting_mode, inner]);
  }
  return ['object', attrs];
}
