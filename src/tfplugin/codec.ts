/**
 * Terraform values on the wire: msgpack (what Terraform sends in every
 * `DynamicValue`) and JSON (how it stores state, e.g. `RawState.json`).
 *
 * Both directions are driven by the schema's type, as in Terraform itself:
 * the type says whether a msgpack map is a map or an object, whether an
 * array is a list, set or tuple, and which attributes an object must have.
 *
 * Wire rules (from Terraform's cty msgpack encoding):
 * - null is msgpack nil; an unknown value is extension type 0 (`d4 00 00`);
 *   Terraform ≥ 1.6 may send a *refined* unknown as extension type 12 whose
 *   payload describes what is known about it. Both decode to
 *   {@link Unknown.value}; the refinements are dropped, which only loses
 *   information Terraform uses for its own checks.
 * - numbers are ints when they fit int64, float64 otherwise, and a decimal
 *   string when neither holds them exactly (e.g. `0.1` from configuration).
 *   JavaScript numbers are float64, so very large or very precise numbers
 *   are rounded on the way in.
 * - lists, sets and tuples are arrays; maps and objects are maps with keys
 *   in sorted order; an object carries every attribute of its type.
 * - a `dynamic` value is a 2-array: the JSON of its real type (bytes), then
 *   the value encoded with that type.
 */
import type { ExtensionCodec as ExtensionCodecT } from '@msgpack/msgpack';
import { type AttributePath, type TfType, type TfValue, Unknown, isUnknown } from './types';
import { CodecError, defineOwn, inferType, parseType, typeToJson } from './tftype';
import { decodeTerraformMsgpack } from './msgpack-decode';
import type { DynamicValue } from './wire';

/** msgpack extension type Terraform uses for an unknown value. */
export const UNKNOWN_EXT = 0;
/** msgpack extension type Terraform uses for an unknown value with refinements. */
export const REFINED_UNKNOWN_EXT = 12;

type Msgpack = typeof import('@msgpack/msgpack');
let msgpack: { lib: Msgpack; codec: ExtensionCodecT } | undefined;

/**
 * The encoder, loaded on first use so that a provider start does not pay for
 * it before the handshake. Decoding is ours (msgpack-decode.ts): the
 * library's decoder refuses the map key `__proto__`, which Terraform may send.
 */
function lib(): { lib: Msgpack; codec: ExtensionCodecT } {
  if (!msgpack) {
    const m = require('@msgpack/msgpack') as Msgpack;
    const codec = new m.ExtensionCodec();
    codec.register({
      type: UNKNOWN_EXT,
      // cty writes the unknown value as a one-byte extension holding 0.
      encode: (input) => (isUnknown(input) ? new Uint8Array([0]) : null),
      decode: () => Unknown.value,
    });
    msgpack = { lib: m, codec };
  }
  return msgpack;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeExtension(type: number): unknown {
  if (type === UNKNOWN_EXT || type === REFINED_UNKNOWN_EXT) return Unknown.value;
  throw new Error(`unknown msgpack extension type ${type}`);
}

function describe(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'an array';
  if (raw instanceof Uint8Array) return 'bytes';
  if (typeof raw === 'object') return 'a map';
  return `${typeof raw} ${JSON.stringify(raw)}`;
}

function isMap(raw: unknown): raw is { [k: string]: unknown } {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && !(raw instanceof Uint8Array) && !isUnknown(raw);
}

const has = (obj: object, key: string): boolean => Object.prototype.hasOwnProperty.call(obj, key);

function parseNumber(text: string, path: AttributePath): number {
  const n = Number(text);
  if (text.trim() === '' || (Number.isNaN(n) && text !== 'NaN')) throw new CodecError(`expected a number, got string ${JSON.stringify(text)}`, path);
  return n;
}

/**
 * Turns what the msgpack or JSON decoder produced into a value of `type`.
 * `dynamic` values come as `[typeJson, value]` in msgpack and as
 * `{"value":…,"type":…}` in JSON, hence the `form` switch.
 */
function fromRaw(raw: unknown, type: TfType, path: AttributePath, form: 'msgpack' | 'json'): TfValue {
  if (raw === null || raw === undefined) return null;
  if (isUnknown(raw)) {
    if (form === 'json') throw new CodecError('unknown values cannot appear in JSON', path);
    return Unknown.value;
  }
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
        if (typeof raw === 'string') return raw;
        // Terraform's JSON state reader converts primitives to the attribute's type.
        if (form === 'json' && (typeof raw === 'number' || typeof raw === 'boolean')) return String(raw);
        break;
      case 'number':
        if (typeof raw === 'number') return raw;
        if (typeof raw === 'string') return parseNumber(raw, path);
        break;
      case 'bool':
        if (typeof raw === 'boolean') return raw;
        if (form === 'json' && (raw === 'true' || raw === 'false')) return raw === 'true';
        break;
      case 'dynamic':
        return fromRawDynamic(raw, path, form);
    }
    throw new CodecError(`expected ${type}, got ${describe(raw)}`, path);
  }
  const [kind, arg] = type;
  switch (kind) {
    case 'list':
    case 'set':
      if (!Array.isArray(raw)) break;
      return raw.map((el, index) => fromRaw(el, arg, [...path, { index }], form));
    case 'tuple':
      if (!Array.isArray(raw)) break;
      if (raw.length !== arg.length) throw new CodecError(`expected a tuple of ${arg.length} elements, got ${raw.length}`, path);
      return raw.map((el, index) => fromRaw(el, arg[index], [...path, { index }], form));
    case 'map': {
      if (!isMap(raw)) break;
      const out: { [k: string]: TfValue } = {};
      for (const key of Object.keys(raw)) defineOwn(out, key, fromRaw(raw[key], arg, [...path, { key }], form));
      return out;
    }
    case 'object': {
      if (!isMap(raw)) break;
      const out: { [k: string]: TfValue } = {};
      for (const name of Object.keys(arg)) defineOwn(out, name, has(raw, name) ? fromRaw(raw[name], arg[name], [...path, name], form) : null);
      // Terraform encodes with the schema we gave it, so in msgpack an extra
      // attribute means the two disagree. In stored JSON it is normal: an
      // attribute a later schema removed; it is dropped.
      if (form === 'msgpack') {
        const extra = Object.keys(raw).filter((k) => !has(arg, k));
        if (extra.length) throw new CodecError(`unexpected attribute(s) ${extra.join(', ')}`, path);
      }
      return out;
    }
  }
  throw new CodecError(`expected ${kind === 'object' || kind === 'map' ? 'a map' : 'an array'} for ${typeToJson(type)}, got ${describe(raw)}`, path);
}

function fromRawDynamic(raw: unknown, path: AttributePath, form: 'msgpack' | 'json'): TfValue {
  if (form === 'msgpack') {
    if (!Array.isArray(raw) || raw.length !== 2) throw new CodecError(`expected [type, value] for a dynamic value, got ${describe(raw)}`, path);
    const [typeBytes, inner] = raw as [unknown, unknown];
    let typeText: string;
    if (typeBytes instanceof Uint8Array) typeText = utf8.decode(typeBytes);
    else if (typeof typeBytes === 'string') typeText = typeBytes;
    else throw new CodecError(`expected the JSON type of a dynamic value, got ${describe(typeBytes)}`, path);
    return fromRaw(inner, parseType(JSON.parse(typeText)), path, form);
  }
  if (!isMap(raw) || !has(raw, 'type') || !has(raw, 'value')) {
    throw new CodecError(`expected {"value":…,"type":…} for a dynamic value, got ${describe(raw)}`, path);
  }
  return fromRaw(raw.value, parseType(raw.type), path, form);
}

/**
 * Checks a value against its type and turns it into what the msgpack or JSON
 * encoder takes. Object attributes left out of the value are encoded as null;
 * an attribute the type does not have is an error (usually a misspelling).
 */
function toRaw(value: TfValue | undefined, type: TfType, path: AttributePath, form: 'msgpack' | 'json'): unknown {
  if (value === null || value === undefined) return null;
  if (isUnknown(value)) {
    if (form === 'json') throw new CodecError('unknown values cannot be written as JSON', path);
    return value;
  }
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
        if (typeof value === 'string') return value;
        break;
      case 'number':
        if (typeof value === 'number') {
          if (Number.isNaN(value)) throw new CodecError('NaN is not a Terraform number', path);
          if (form === 'json' && !Number.isFinite(value)) throw new CodecError('an infinite number cannot be written as JSON', path);
          return value;
        }
        break;
      case 'bool':
        if (typeof value === 'boolean') return value;
        break;
      case 'dynamic': {
        const actual = inferType(value);
        const inner = toRaw(value, actual, path, form);
        return form === 'msgpack' ? [new TextEncoder().encode(typeToJson(actual)), inner] : { value: inner, type: actual };
      }
    }
    throw new CodecError(`expected ${type}, got ${describe(value)}`, path);
  }
  const [kind, arg] = type;
  switch (kind) {
    case 'list':
    case 'set':
      if (!Array.isArray(value)) break;
      return value.map((el, index) => toRaw(el, arg, [...path, { index }], form));
    case 'tuple':
      if (!Array.isArray(value)) break;
      if (value.length !== arg.length) throw new CodecError(`expected a tuple of ${arg.length} elements, got ${value.length}`, path);
      return value.map((el, index) => toRaw(el, arg[index], [...path, { index }], form));
    case 'map': {
      if (!isMap(value)) break;
      const out: { [k: string]: unknown } = {};
      for (const key of Object.keys(value)) defineOwn(out, key, toRaw(value[key], arg, [...path, { key }], form));
      return out;
    }
    case 'object': {
      if (!isMap(value)) break;
      const extra = Object.keys(value).filter((k) => !has(arg, k));
      if (extra.length) throw new CodecError(`the schema has no attribute(s) ${extra.join(', ')}`, path);
      const out: { [k: string]: unknown } = {};
      for (const name of Object.keys(arg)) defineOwn(out, name, toRaw(has(value, name) ? value[name] : null, arg[name], [...path, name], form));
      return out;
    }
  }
  throw new CodecError(`expected ${kind === 'object' || kind === 'map' ? 'an object' : 'an array'} for ${typeToJson(type)}, got ${describe(value)}`, path);
}

/** Decodes Terraform's msgpack encoding of a value of `type`. */
export function decodeMsgpack(bytes: Uint8Array, type: TfType): TfValue {
  let raw: unknown;
  try {
    raw = decodeTerraformMsgpack(bytes, decodeExtension);
  } catch (err) {
    throw new CodecError(`malformed msgpack: ${(err as Error).message}`);
  }
  return fromRaw(raw, type, [], 'msgpack');
}

/** Encodes a value of `type` the way Terraform expects it in a `DynamicValue`. */
export function encodeMsgpack(value: TfValue, type: TfType): Uint8Array {
  const { lib: m, codec } = lib();
  const raw = toRaw(value, type, [], 'msgpack');
  // Terraform writes map keys in sorted order. Building the object in sorted
  // order is not enough: JavaScript lists integer-like keys ("9", "10") first.
  return m.encode(raw, { extensionCodec: codec, sortKeys: true });
}

/**
 * Decodes a value of `type` from Terraform's JSON encoding (state files,
 * `RawState.json`). Attributes the type does not have are dropped, so state
 * written by an older schema decodes with the current one; give `type` of
 * the version the JSON was written with to see them.
 */
export function decodeJsonValue(json: string | Uint8Array, type: TfType): TfValue {
  const text = typeof json === 'string' ? json : utf8.decode(json);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CodecError(`malformed JSON: ${(err as Error).message}`);
  }
  return fromRaw(raw, type, [], 'json');
}

/** Encodes a value of `type` in Terraform's JSON encoding (as in a state file). */
export function encodeJsonValue(value: TfValue, type: TfType): string {
  return JSON.stringify(toRaw(value, type, [], 'json'));
}

/**
 * Decodes a `DynamicValue` from a request. A missing value (Terraform leaves
 * e.g. `prior_state` out on create in some versions) is null.
 */
export function decodeDynamicValue(dv: DynamicValue | null | undefined, type: TfType): TfValue {
  if (dv?.msgpack && dv.msgpack.length > 0) return decodeMsgpack(dv.msgpack, type);
  if (dv?.json && dv.json.length > 0) return decodeJsonValue(dv.json, type);
  return null;
}

/** Encodes a value as a `DynamicValue` for a response. */
export function encodeDynamicValue(value: TfValue, type: TfType): DynamicValue {
  return { msgpack: encodeMsgpack(value, type) };
}
