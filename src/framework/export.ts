/**
 * Derives Terraform's view of a provider's schema from its description: the
 * JSON shape of `terraform providers schema -json`. The protocol server
 * serves it unchanged and the cdktf generator reads it.
 */
import { PROVIDER_ADDRESS } from '../schema/address';
import type { AttributeSpec, ProviderSpec, TypeSpec } from '../schema/model';
import type { ProviderSchemaJson, SchemaAttributeJson, SchemaJson } from '../tfplugin/types';

function attributeJson(spec: AttributeSpec): SchemaAttributeJson {
  const out: SchemaAttributeJson = { type: spec.type, description: spec.description, description_kind: 'markdown' };
  if (spec.required) out.required = true;
  if (spec.optional) out.optional = true;
  if (spec.computed) out.computed = true;
  if (spec.sensitive) out.sensitive = true;
  return out;
}

function typeJson(spec: TypeSpec): SchemaJson {
  // Sorted names make the output, and so the generated bindings, deterministic.
  const attributes: { [name: string]: SchemaAttributeJson } = {};
  for (const name of Object.keys(spec.attributes).sort()) {
    attributes[name] = attributeJson(spec.attributes[name]!);
  }
  return { version: spec.version, block: { attributes, description: spec.description, description_kind: 'markdown' } };
}

/** The provider's entry of `terraform providers schema -json`. */
export function providerSchemaJson(spec: ProviderSpec): ProviderSchemaJson {
  const byName = (types: readonly TypeSpec[]): { [typeName: string]: SchemaJson } =>
    Object.fromEntries([...types].sort((a, b) => (a.typeName < b.typeName ? -1 : a.typeName > b.typeName ? 1 : 0)).map((t) => [t.typeName, typeJson(t)]));
  return {
    provider: typeJson(spec.provider),
    resource_schemas: byName(spec.resources),
    data_source_schemas: byName(spec.dataSources),
  };
}

/** The whole document `terraform providers schema -json` would print for a configuration using only appreg. */
export function terraformSchemaDocument(spec: ProviderSpec): {
  format_version: string;
  provider_schemas: { [address: string]: ProviderSchemaJson };
} {
  return { format_version: '1.0', provider_schemas: { [PROVIDER_ADDRESS]: providerSchemaJson(spec) } };
}
