/**
 * Terraform types in their JSON syntax, and attribute paths as text.
 */
import { type AttributePath, type TfType, type TfValue, isUnknown } from './types';

/** A type or value that does not fit; `path` says where. */
export class CodecError extends Error {
  constructor(
    message: string,
    /** Where in the value the problem is (empty for the root). */
    readonly path: AttributePath = [],
  ) {
    super(path.length ? `${formatPath(path)}: ${message}` : message);
    this.name = 'CodecError';
  }
}

/** A path as Terraform prints it: `callback_urls[2]`, `tags["team"]`. */
export function formatPath(path: AttributePath): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'string') out += out ? `.${step}` : step;
    else if ('key' in step) out += `[${JSON.stringify(step.key)}]`;
    else out += `[${step.index}]`;
  }
  return out || '(root)';
}

function isPlainObject(v: unknown): v is { [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * Parses and checks a type in Terraform's JSON syntax (`"string"`,
 * `["list","string"]`, `["object",{"a":"bool"}]`, …). The optional-attribute
 * list some type constraints carry as a third element of `object` is ignored:
 * it never appears in a value's type.
 */
export function parseType(json: unknown): TfType {
  if (json === 'string' || json === 'number' || json === 'bool' || json === 'dynamic') return json;
  if (Array.isArray(json) && json.length >= 2) {
    const [kind, arg] = json as [unknown, unknown];
    switch (kind) {
      case 'list':
      case 'set':
      case 'map':
        if (json.length === 2) return [kind, parseType(arg)];
        break;
      case 'object':
        if (isPlainObject(arg) && json.length <= 3) {
          const attrs: { [name: string]: TfType } = {};
          for (const name of Object.keys(arg)) defineOwn(attrs, name, parseType(arg[name]));
          return ['object', attrs];
        }
        break;
      case 'tuple':
        if (Array.isArray(arg) && json.length === 2) return ['tuple', arg.map(parseType)];
        break;
    }
  }
  throw new CodecError(`not a Terraform type: ${JSON.stringify(json)}`);
}

/** The JSON text of a type, as Terraform writes it (e.g. in `Schema.Attribute.type`). */
export function typeToJson(type: TfType): string {
  return JSON.stringify(type);
}

/** Sets an own property even for names like `__proto__`, which plain assignment would not. */
export function defineOwn<T>(obj: { [k: string]: T }, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * The type a value has when nothing says otherwise: arrays are tuples and
 * plain objects are objects (what Terraform's `jsondecode` would make).
 * Used for values in `dynamic` attributes, whose type travels with the value
 * on the wire but is not kept in a {@link TfValue}.
 */
export function inferType(value: TfValue): TfType {
  if (value === null || isUnknown(value)) return 'dynamic';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
  }
  if (Array.isArray(value)) return ['tuple', value.map(inferType)];
  const attrs: { [name: string]: TfType } = {};
  for (const name of Object.keys(value)) defineOwn(attrs, name, inferType((value as { [k: string]: TfValue })[name]));
  return ['object', attrs];
}
