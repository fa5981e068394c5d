/**
 * The msgpack codec writes values straight from the schema type, and reads
 * them without keeping attribute paths until something does not fit. These
 * properties pin that to what the general msgpack library writes for the same
 * values (byte for byte, keys sorted as its `sortKeys` sorted them), and to
 * the errors the general path gives, so the fast paths cannot drift.
 */
import * as fc from 'fast-check';
import { encode, ExtensionCodec } from '@msgpack/msgpack';
import { CodecError, decodeJsonValue, decodeMsgpack, encodeJsonValue, encodeMsgpack, inferType, typeToJson, type TfType, type TfValue, Unknown, isUnknown } from '../../src/tfplugin';

// Hundreds of generated values per property: seconds on a busy CI machine, past jest's default of 5.
jest.setTimeout(60_000);

/** Attribute names and map keys, among them the awkward ones: integer-like, prototype names, non-ASCII. */
const key = fc.oneof(
  fc.constantFrom('a', 'b', 'id', 'name', '9', '10', '__proto__', 'constructor', 'toString', 'é', 'a b', ''),
  fc.string({ maxLength: 6 }),
);

/** Strings of every kind the encoder treats apart: ASCII, multi-byte, astral, lone surrogates, longer than 50 units. */
const text = fc.string({
  unit: fc.oneof(fc.constantFrom('a', 'Z', '/', '\u0000', '\u007f', 'é', '€', '\ud83d\ude00', '\ud800', '\udc00', '\ufeff'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  maxLength: 90,
});

const number = fc.oneof(
  fc.integer({ min: -40, max: 300 }),
  fc.integer(),
  fc.constantFrom(0, -0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -(2 ** 31), -(2 ** 31) - 1, -32, -33, -128, -129, -32768, -32769, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53, 1e300, Infinity, -Infinity, 0.1),
  fc.double({ noNaN: true }),
);

const { type: typeArb } = fc.letrec<{ type: TfType }>((tie) => ({
  type: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<TfType>('string', 'number', 'bool', 'dynamic'),
    tie('type').map((t): TfType => ['list', t]),
    tie('type').map((t): TfType => ['set', t]),
    tie('type').map((t): TfType => ['map', t]),
    fc.array(tie('type'), { maxLength: 3 }).map((ts): TfType => ['tuple', ts]),
    fc.dictionary(key, tie('type'), { maxKeys: 4, noNullPrototype: true }).map((attrs): TfType => ['object', attrs]),
  ),
}));

/** A JSON-like value for a dynamic attribute (its type is inferred). */
const { json: jsonArb } = fc.letrec<{ json: TfValue }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    text,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('json'), { maxLength: 3 }),
    fc.dictionary(key, tie('json'), { maxKeys: 3, noNullPrototype: true }),
  ),
}));

function own(out: { [k: string]: TfValue }, k: string, v: TfValue): void {
  Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A value of `type` (null and unknown anywhere), with some object attributes left out. */
function valueOf(type: TfType): fc.Arbitrary<TfValue> {
  const known = ((): fc.Arbitrary<TfValue> => {
    if (type === 'string') return text;
    if (type === 'number') return number;
    if (type === 'bool') return fc.boolean();
    if (type === 'dynamic') return jsonArb;
    const [kind, arg] = type;
    if (kind === 'list' || kind === 'set') return fc.array(valueOf(arg), { maxLength: 3 });
    if (kind === 'tuple') return fc.tuple(...arg.map(valueOf)).map((vs) => vs as TfValue[]);
    if (kind === 'map') {
      return fc.array(fc.tuple(key, valueOf(arg)), { maxLength: 3 }).map((entries) => {
        const out: { [k: string]: TfValue } = {};
        for (const [k, v] of entries) own(out, k, v);
        return out;
      });
    }
    const names = Object.keys(arg);
    return fc.tuple(...names.map((n) => fc.option(valueOf(arg[n]!), { nil: undefined }))).map((vs) => {
      const out: { [k: string]: TfValue } = {};
      names.forEach((n, i) => vs[i] !== undefined && own(out, n, vs[i]!));
      return out;
    });
  })();
  return fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constant(Unknown.value) }, { weight: 6, arbitrary: known });
}

const typed = typeArb.chain((type) => valueOf(type).map((value) => ({ type, value })));

/** What the general path handed the library: objects with every attribute, dynamic values as [type JSON, value]. */
function raw(value: TfValue | undefined, type: TfType): unknown {
  if (value === null || value === undefined || isUnknown(value)) return value ?? null;
  if (type === 'dynamic') {
    const actual = inferType(value);
    return [new TextEncoder().encode(typeToJson(actual)), raw(value, actual)];
  }
  if (typeof type === 'string') return value;
  const [kind, arg] = type;
  const v = value as { [k: string]: TfValue } & TfValue[];
  if (kind === 'list' || kind === 'set') return v.map((x) => raw(x, arg));
  if (kind === 'tuple') return v.map((x, i) => raw(x, arg[i]!));
  const out: { [k: string]: unknown } = {};
  if (kind === 'map') for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: raw(v[k], arg), enumerable: true });
  else for (const k of Object.keys(arg)) Object.defineProperty(out, k, { value: raw(Object.prototype.hasOwnProperty.call(v, k) ? v[k] : null, arg[k]!), enumerable: true });
  return out;
}

const codec = new ExtensionCodec();
codec.register({ type: 0, encode: (input) => (isUnknown(input) ? new Uint8Array([0]) : null), decode: () => Unknown.value });
const library = (value: TfValue, type: TfType): Uint8Array => encode(raw(value, type), { extensionCodec: codec, sortKeys: true });

/** The value as decoding gives it back: every object attribute present, null when left out. */
function complete(value: TfValue | undefined, type: TfType): TfValue {
  if (value === null || value === undefined || isUnknown(value)) return value ?? null;
  if (type === 'dynamic') {
    // A dynamic value comes back by its inferred type: arrays as tuples, objects as objects.
    return complete(value, inferType(value));
  }
  // -0 is a safe integer, written as the int 0 (as the library wrote it).
  if (typeof type === 'string') return Object.is(value, -0) ? 0 : value;
  const [kind, arg] = type;
  const v = value as { [k: string]: TfValue } & TfValue[];
  if (kind === 'list' || kind === 'set') return v.map((x) => complete(x, arg));
  if (kind === 'tuple') return v.map((x, i) => complete(x, arg[i]!));
  const out: { [k: string]: TfValue } = {};
  if (kind === 'map') for (const k of Object.keys(v)) own(out, k, complete(v[k], arg));
  else for (const k of Object.keys(arg)) own(out, k, complete(Object.prototype.hasOwnProperty.call(v, k) ? v[k] : null, arg[k]!));
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('msgpack codec: the direct encoder writes what the msgpack library wrote', () => {
  test('byte for byte, for values of any type', () => {
    fc.assert(
      fc.property(typed, ({ type, value }) => {
        expect(hex(encodeMsgpack(value, type))).toBe(hex(library(value, type)));
      }),
      { numRuns: 1000 },
    );
  });

  test('what it writes decodes back to the value (every attribute present)', () => {
    fc.assert(
      fc.property(typed, ({ type, value }) => {
        // A lone surrogate is not UTF-8, so it cannot come back (as before: the library wrote it the same way).
        fc.pre(!/\\ud[89a-f]/i.test(JSON.stringify(value)));
        const back = decodeMsgpack(encodeMsgpack(value, type), type);
        expect(back).toEqual(complete(value, type));
      }),
      { numRuns: 500 },
    );
  });

  test('a value larger than the first buffer, and a call after it', () => {
    const type: TfType = ['list', 'string'];
    const big = Array.from({ length: 5000 }, (_, i) => `https://app${i}.example.com/${'é'.repeat(i % 70)}`);
    expect(hex(encodeMsgpack(big, type))).toBe(hex(library(big, type)));
    expect(hex(encodeMsgpack(['a'], type))).toBe('91a161');
  });

  test('nesting deeper than the library took is refused as it refused it', () => {
    let type: TfType = 'string';
    let value: TfValue = 'x';
    for (let i = 0; i < 100; i++) {
      type = ['list', type];
      value = [value];
    }
    expect(() => encodeMsgpack(value, type)).toThrow('Too deep objects in depth 101');
    expect(() => encodeMsgpack((value as TfValue[])[0]!, (type as readonly ['list', TfType])[1])).not.toThrow();
  });
});

describe('msgpack codec: values that do not fit give the general path\'s error', () => {
  test('the first attribute in the type\'s order that does not fit, with its path', () => {
    const type: TfType = ['object', { b: 'string', a: ['list', 'string'] }];
    expect(() => encodeMsgpack({ a: [1], b: 2 }, type)).toThrow(new CodecError('expected string, got number 2', ['b']));
    expect(() => decodeMsgpack(library({ a: 'x', b: 2 } as unknown as TfValue, ['object', { a: 'string', b: 'number' }]), type)).toThrow(
      new CodecError('expected string, got number 2', ['b']),
    );
  });

  test('an unknown attribute is named even when another does not fit', () => {
    expect(() => encodeMsgpack({ a: 1, z: 'x' }, ['object', { a: 'string' }])).toThrow(/the schema has no attribute\(s\) z/);
    const bytes = library({ a: 'x', z: 'y' }, ['object', { a: 'string', z: 'string' }]);
    expect(() => decodeMsgpack(bytes, ['object', { a: 'string' }])).toThrow(/unexpected attribute\(s\) z/);
  });

  test('a type mismatch deep inside a map, a tuple and a dynamic value', () => {
    expect(() => encodeMsgpack({ k: [true, 'x'] }, ['map', ['tuple', ['bool', 'bool']]])).toThrow(new CodecError('expected bool, got string "x"', [{ key: 'k' }, { index: 1 }]));
    expect(() => encodeMsgpack({ d: NaN }, ['object', { d: 'dynamic' }])).toThrow(new CodecError('NaN is not a Terraform number', ['d']));
    const bytes = library(['x', 'y'], ['tuple', ['string', 'string']]);
    expect(() => decodeMsgpack(bytes, ['tuple', ['string', 'number']])).toThrow(new CodecError('expected a number, got string "y"', [{ index: 1 }]));
  });

  test('random mismatches: the fast decoder fails exactly where the general one does', () => {
    // Decoding bytes written for one type with another: either both paths agree on the value, or a CodecError.
    fc.assert(
      fc.property(typed, typeArb, ({ type, value }, other) => {
        const bytes = encodeMsgpack(value, type);
        let got: TfValue | Error;
        try {
          got = decodeMsgpack(bytes, other);
        } catch (e) {
          got = e as Error;
        }
        if (got instanceof Error) expect(got).toBeInstanceOf(CodecError);
      }),
      { numRuns: 300 },
    );
  });
});

describe('JSON codec (stored state): the fast reading gives what the general one gave', () => {
  const known = (v: TfValue): boolean => !/\\ud[89a-f]/i.test(JSON.stringify(v)) && !containsUnknown(v);
  function containsUnknown(v: TfValue): boolean {
    if (isUnknown(v)) return true;
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (v !== null && typeof v === 'object') return Object.values(v).some(containsUnknown);
    return false;
  }

  test('state written as JSON reads back as the value (every attribute present)', () => {
    fc.assert(
      fc.property(typed, ({ type, value }) => {
        fc.pre(known(value) && !JSON.stringify(value).includes('Infinity') && !hasInfinity(value));
        expect(decodeJsonValue(encodeJsonValue(value, type), type)).toEqual(complete(value, type));
      }),
      { numRuns: 500 },
    );
  });
  function hasInfinity(v: TfValue): boolean {
    if (typeof v === 'number') return !Number.isFinite(v);
    if (Array.isArray(v)) return v.some(hasInfinity);
    if (v !== null && typeof v === 'object' && !isUnknown(v)) return Object.values(v).some(hasInfinity);
    return false;
  }

  test('conversions, dropped attributes and errors with their paths', () => {
    const type: TfType = ['object', { id: 'string', on: 'bool', n: 'number', tags: ['map', 'string'] }];
    expect(decodeJsonValue('{"id":5,"on":"false","n":"2.5","gone":1,"tags":{"__proto__":"x"}}', type)).toEqual(
      JSON.parse('{"id":"5","on":false,"n":2.5,"tags":{"__proto__":"x"}}'),
    );
    expect(() => decodeJsonValue('{"id":"a","tags":{"k":[1]}}', type)).toThrow(new CodecError('expected string, got an array', ['tags', { key: 'k' }]));
    expect(() => decodeJsonValue('{"n":"x"}', type)).toThrow(new CodecError('expected a number, got string "x"', ['n']));
  });
});
