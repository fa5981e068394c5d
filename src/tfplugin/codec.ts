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
 * The library encoder, loaded only when {@link encodeMsgpackGeneral} runs: a
 * value that does not fit its type, whose error it reports as it always has.
 * Values that fit are written by {@link writeValue}, byte for byte the same.
 * Decoding is ours (msgpack-decode.ts): the library's decoder refuses the map
 * key `__proto__`, which Terraform may send.
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

/**
 * Thrown by the fast paths below when a value does not fit its type. It
 * carries nothing: the caller then runs the general path on the same input,
 * which throws the error with its message and path (a value that does not
 * fit is a provider bug, so that second pass costs nothing that matters).
 */
const MISMATCH = new Error('value does not fit its type');

/** The msgpack library's nesting limit, kept so that the same values are refused as before. */
const MAX_ENCODE_DEPTH = 100;

/** Sorted attribute names of an object type, each with its msgpack str encoding. */
interface ObjectLayout {
  names: string[];
  keys: Uint8Array[];
}

const layouts = new WeakMap<object, ObjectLayout>();
const declared = new WeakMap<object, string[]>();

/** An object type's attribute names in its own order (what `Object.keys` gives), worked out once per type. */
function objectNames(attrs: { readonly [name: string]: TfType }): string[] {
  let names = declared.get(attrs);
  if (!names) {
    names = Object.keys(attrs);
    declared.set(attrs, names);
  }
  return names;
}

function objectLayout(attrs: { readonly [name: string]: TfType }): ObjectLayout {
  let layout = layouts.get(attrs);
  if (!layout) {
    // The order the library's `sortKeys` gave: JavaScript's default sort of the names.
    const names = Object.keys(attrs).sort();
    const w = new Writer();
    const keys = names.map((name) => {
      const at = w.pos;
      w.str(name);
      return w.bytes.slice(at, w.pos);
    });
    layout = { names, keys };
    layouts.set(attrs, layout);
  }
  return layout;
}

const textEncoder = new TextEncoder();

/**
 * A growable msgpack output buffer. It writes exactly what `@msgpack/msgpack`
 * 3.x wrote for the same values (smallest int format for safe integers,
 * float64 otherwise, fixstr/str8/16/32, bin8/16/32, fix/16/32 array and map
 * headers, its UTF-8 encoding of strings): tests compare the two byte by byte.
 */
class Writer {
  bytes = new Uint8Array(1024);
  view = new DataView(this.bytes.buffer);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.pos + n));
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  u8(b: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = b;
  }

  head(tag: number, n: number, bytes: 1 | 2 | 4): void {
    this.ensure(1 + bytes);
    this.bytes[this.pos++] = tag;
    if (bytes === 1) this.bytes[this.pos] = n;
    else if (bytes === 2) this.view.setUint16(this.pos, n);
    else this.view.setUint32(this.pos, n);
    this.pos += bytes;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  number(n: number): void {
    if (!Number.isSafeInteger(n)) {
      this.ensure(9);
      this.bytes[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, n);
      this.pos += 8;
    } else if (n >= 0) {
      if (n < 0x80) this.u8(n);
      else if (n < 0x100) this.head(0xcc, n, 1);
      else if (n < 0x10000) this.head(0xcd, n, 2);
      else if (n < 0x100000000) this.head(0xce, n, 4);
      else this.int64(0xcf, n / 4294967296, n);
    } else {
      if (n >= -0x20) this.u8(0xe0 | (n + 0x20));
      else if (n >= -0x80) this.head(0xd0, n & 0xff, 1);
      else if (n >= -0x8000) this.head(0xd1, n & 0xffff, 2);
      else if (n >= -0x80000000) this.head(0xd2, n >>> 0, 4);
      else this.int64(0xd3, Math.floor(n / 4294967296), n);
    }
  }

  /** 64-bit integers as the library wrote them: both halves through DataView's uint32 conversion. */
  private int64(tag: number, high: number, low: number): void {
    this.ensure(9);
    this.bytes[this.pos++] = tag;
    this.view.setUint32(this.pos, high);
    this.view.setUint32(this.pos + 4, low);
    this.pos += 8;
  }

  str(s: string): void {
    const len = s.length;
    let ascii = true;
    for (let i = 0; i < len; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    const byteLength = ascii ? len : utf8Count(s);
    if (byteLength < 32) this.u8(0xa0 + byteLength);
    else if (byteLength < 0x100) this.head(0xd9, byteLength, 1);
    else if (byteLength < 0x10000) this.head(0xda, byteLength, 2);
    else this.head(0xdb, byteLength, 4);
    this.ensure(byteLength);
    const out = this.bytes;
    let at = this.pos;
    if (ascii) {
      for (let i = 0; i < len; i++) out[at++] = s.charCodeAt(i);
    } else if (len > 50) {
      // The library's switch to TextEncoder for longer strings (it differs only for lone surrogates).
      textEncoder.encodeInto(s, out.subarray(at));
    } else {
      utf8EncodeJs(s, out, at);
    }
    this.pos += byteLength;
  }

  bin(b: Uint8Array): void {
    if (b.length < 0x100) this.head(0xc4, b.length, 1);
    else if (b.length < 0x10000) this.head(0xc5, b.length, 2);
    else this.head(0xc6, b.length, 4);
    this.raw(b);
  }

  arrayHead(n: number): void {
    if (n < 16) this.u8(0x90 + n);
    else if (n < 0x10000) this.head(0xdc, n, 2);
    else this.head(0xdd, n, 4);
  }

  mapHead(n: number): void {
    if (n < 16) this.u8(0x80 + n);
    else if (n < 0x10000) this.head(0xde, n, 2);
    else this.head(0xdf, n, 4);
  }
}

/** The UTF-8 length of a string as the library counted it (a lone surrogate counts 3 bytes). */
function utf8Count(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; ) {
    let c = s.charCodeAt(i++);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else {
      if (c >= 0xd800 && c <= 0xdbff && i < s.length && (s.charCodeAt(i) & 0xfc00) === 0xdc00) {
        c = ((c & 0x3ff) << 10) + (s.charCodeAt(i++) & 0x3ff) + 0x10000;
      }
      n += c > 0xffff ? 4 : 3;
    }
  }
  return n;
}

/** The library's UTF-8 encoding of shorter strings (a lone surrogate is written as its 3-byte form). */
function utf8EncodeJs(s: string, out: Uint8Array, at: number): void {
  for (let i = 0; i < s.length; ) {
    let c = s.charCodeAt(i++);
    if (c < 0x80) {
      out[at++] = c;
      continue;
    }
    if (c < 0x800) {
      out[at++] = ((c >> 6) & 0x1f) | 0xc0;
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i < s.length && (s.charCodeAt(i) & 0xfc00) === 0xdc00) {
        c = ((c & 0x3ff) << 10) + (s.charCodeAt(i++) & 0x3ff) + 0x10000;
      }
      if (c <= 0xffff) {
        out[at++] = ((c >> 12) & 0x0f) | 0xe0;
        out[at++] = ((c >> 6) & 0x3f) | 0x80;
      } else {
        out[at++] = ((c >> 18) & 0x07) | 0xf0;
        out[at++] = ((c >> 12) & 0x3f) | 0x80;
        out[at++] = ((c >> 6) & 0x3f) | 0x80;
      }
    }
    out[at++] = (c & 0x3f) | 0x80;
  }
}

/**
 * Writes a value of `type` straight from the value: the checks of
 * {@link toRaw} without its copy, and object attributes in the sorted order
 * worked out once per type. Throws {@link MISMATCH} where toRaw would throw,
 * and where the library refused to nest deeper.
 */
function writeValue(w: Writer, value: TfValue | undefined, type: TfType, depth: number): void {
  if (depth > MAX_ENCODE_DEPTH) throw MISMATCH;
  if (value === null || value === undefined) {
    w.u8(0xc0);
    return;
  }
  if (isUnknown(value)) {
    // fixext 1, type 0, data 0.
    w.u8(0xd4);
    w.u8(UNKNOWN_EXT);
    w.u8(0);
    return;
  }
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
        if (typeof value !== 'string') throw MISMATCH;
        w.str(value);
        return;
      case 'number':
        if (typeof value !== 'number' || Number.isNaN(value)) throw MISMATCH;
        w.number(value);
        return;
      case 'bool':
        if (typeof value !== 'boolean') throw MISMATCH;
        w.u8(value ? 0xc3 : 0xc2);
        return;
      case 'dynamic': {
        const actual = inferType(value);
        w.u8(0x92);
        if (depth + 1 > MAX_ENCODE_DEPTH) throw MISMATCH;
        w.bin(textEncoder.encode(typeToJson(actual)));
        writeValue(w, value, actual, depth + 1);
        return;
      }
    }
    throw MISMATCH;
  }
  // Indexing rather than destructuring: this runs mostly in the interpreter, where `[a, b] = type` is an iterator.
  switch (type[0]) {
    case 'list':
    case 'set': {
      if (!Array.isArray(value)) throw MISMATCH;
      const arg = type[1];
      w.arrayHead(value.length);
      for (let i = 0; i < value.length; i++) writeValue(w, value[i], arg, depth + 1);
      return;
    }
    case 'tuple': {
      const arg = type[1];
      if (!Array.isArray(value) || value.length !== arg.length) throw MISMATCH;
      w.arrayHead(value.length);
      for (let i = 0; i < value.length; i++) writeValue(w, value[i], arg[i]!, depth + 1);
      return;
    }
    case 'map': {
      if (!isMap(value)) throw MISMATCH;
      const arg = type[1];
      const keys = Object.keys(value).sort();
      w.mapHead(keys.length);
      for (let i = 0; i < keys.length; i++) {
        w.str(keys[i]!);
        writeValue(w, value[keys[i]!], arg, depth + 1);
      }
      return;
    }
    case 'object': {
      if (!isMap(value)) throw MISMATCH;
      const arg = type[1];
      const { names, keys } = objectLayout(arg);
      let present = 0;
      for (let i = 0; i < names.length; i++) if (has(value, names[i]!)) present++;
      // An attribute the type does not have.
      if (present !== Object.keys(value).length) throw MISMATCH;
      w.mapHead(names.length);
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        w.raw(keys[i]!);
        writeValue(w, has(value, name) ? value[name] : null, arg[name]!, depth + 1);
      }
      return;
    }
  }
  throw MISMATCH;
}

/**
 * {@link fromRaw} without keeping the path: the same checks, conversions and
 * result, throwing {@link MISMATCH} (or the error of a malformed number or
 * dynamic type) where fromRaw throws its error.
 */
function fromRawFast(raw: unknown, type: TfType, form: 'msgpack' | 'json'): TfValue {
  if (raw === null || raw === undefined) return null;
  if (isUnknown(raw)) {
    if (form === 'json') throw MISMATCH;
    return Unknown.value;
  }
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
        if (typeof raw === 'string') return raw;
        if (form === 'json' && (typeof raw === 'number' || typeof raw === 'boolean')) return String(raw);
        break;
      case 'number':
        if (typeof raw === 'number') return raw;
        if (typeof raw === 'string') return parseNumber(raw, []);
        break;
      case 'bool':
        if (typeof raw === 'boolean') return raw;
        if (form === 'json' && (raw === 'true' || raw === 'false')) return raw === 'true';
        break;
      case 'dynamic':
        return fromRawDynamic(raw, [], form);
    }
    throw MISMATCH;
  }
  switch (type[0]) {
    case 'list':
    case 'set': {
      if (!Array.isArray(raw)) break;
      const arg = type[1];
      const out = new Array<TfValue>(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = fromRawFast(raw[i], arg, form);
      return out;
    }
    case 'tuple': {
      const arg = type[1];
      if (!Array.isArray(raw) || raw.length !== arg.length) break;
      const out = new Array<TfValue>(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = fromRawFast(raw[i], arg[i]!, form);
      return out;
    }
    case 'map': {
      if (!isMap(raw)) break;
      const arg = type[1];
      const out: { [k: string]: TfValue } = {};
      const keys = Object.keys(raw);
      for (let i = 0; i < keys.length; i++) defineOwn(out, keys[i]!, fromRawFast(raw[keys[i]!], arg, form));
      return out;
    }
    case 'object': {
      if (!isMap(raw)) break;
      const arg = type[1];
      const out: { [k: string]: TfValue } = {};
      let present = 0;
      const names = objectNames(arg);
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        if (has(raw, name)) {
          present++;
          defineOwn(out, name, fromRawFast(raw[name], arg[name]!, form));
        } else {
          defineOwn(out, name, null);
        }
      }
      // An attribute the type does not have: an error in msgpack, dropped from stored JSON.
      if (form === 'msgpack' && present !== Object.keys(raw).length) break;
      return out;
    }
  }
  throw MISMATCH;
}

/** The one output buffer (encoding is synchronous), so that a call allocates only its result. */
let shared = new Writer();

/** Decodes Terraform's msgpack encoding of a value of `type`. */
export function decodeMsgpack(bytes: Uint8Array, type: TfType): TfValue {
  let raw: unknown;
  try {
    raw = decodeTerraformMsgpack(bytes, decodeExtension);
  } catch (err) {
    throw new CodecError(`malformed msgpack: ${(err as Error).message}`);
  }
  try {
    return fromRawFast(raw, type, 'msgpack');
  } catch {
    // Not a value of `type`: the general path says where.
    return fromRaw(raw, type, [], 'msgpack');
  }
}

/** Encodes a value of `type` the way Terraform expects it in a `DynamicValue`. */
export function encodeMsgpack(value: TfValue, type: TfType): Uint8Array {
  const w = shared;
  w.pos = 0;
  try {
    writeValue(w, value, type, 1);
    return w.bytes.slice(0, w.pos);
  } catch {
    // Not a value of `type`: the general path says where (or gives the library's own refusal).
    return encodeMsgpackGeneral(value, type);
  } finally {
    // A rare huge value should not keep its buffer for the life of the process.
    if (w.bytes.length > 1 << 20) shared = new Writer();
  }
}

/** The general encoder: checks the value with {@link toRaw}, then the msgpack library writes it. */
function encodeMsgpackGeneral(value: TfValue, type: TfType): Uint8Array {
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
  try {
    return fromRawFast(raw, type, 'json');
  } catch {
    // Not a value of `type`: the general path says where.
    return fromRaw(raw, type, [], 'json');
  }
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
