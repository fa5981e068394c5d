/**
 * The msgpack codec against byte vectors worked out by hand from the msgpack
 * spec and Terraform's encoding rules (see src/tfplugin/codec.ts), so a
 * mistake shared by encoder and decoder cannot hide behind a round trip.
 */
import {
  CodecError,
  decodeDynamicValue,
  decodeJsonValue,
  decodeMsgpack,
  encodeJsonValue,
  encodeMsgpack,
  type TfType,
  type TfValue,
  Unknown,
} from '../../src/tfplugin';

/** Bytes from a hex string with optional spaces. */
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const ascii = (s: string): string => toHex(Buffer.from(s));

interface Vector {
  name: string;
  type: TfType;
  value: TfValue;
  bytes: string;
}

/** Encoded exactly so, and decoded back to the value. */
const both: Vector[] = [
  { name: 'null', type: 'string', value: null, bytes: 'c0' },
  // fixext1, type 0, data 0: what cty writes for an unknown value.
  { name: 'unknown', type: 'string', value: Unknown.value, bytes: 'd4 00 00' },
  { name: 'unknown object', type: ['object', { a: 'string' }], value: Unknown.value, bytes: 'd4 00 00' },
  { name: 'short string', type: 'string', value: 'hi', bytes: 'a2 68 69' },
  { name: 'empty string', type: 'string', value: '', bytes: 'a0' },
  { name: '32-byte string (str8)', type: 'string', value: 'a'.repeat(32), bytes: `d9 20 ${'61 '.repeat(32)}` },
  { name: 'utf-8 string', type: 'string', value: 'é', bytes: 'a2 c3 a9' },
  { name: 'true', type: 'bool', value: true, bytes: 'c3' },
  { name: 'false', type: 'bool', value: false, bytes: 'c2' },
  { name: 'zero', type: 'number', value: 0, bytes: '00' },
  { name: 'positive fixint', type: 'number', value: 127, bytes: '7f' },
  { name: 'uint8', type: 'number', value: 200, bytes: 'cc c8' },
  { name: 'uint16', type: 'number', value: 300, bytes: 'cd 01 2c' },
  { name: 'uint64', type: 'number', value: 2 ** 32, bytes: 'cf 00 00 00 01 00 00 00 00' },
  { name: 'negative fixint', type: 'number', value: -1, bytes: 'ff' },
  { name: 'int16', type: 'number', value: -200, bytes: 'd1 ff 38' },
  { name: 'float64', type: 'number', value: 1.5, bytes: 'cb 3f f8 00 00 00 00 00 00' },
  { name: 'float64 0.1', type: 'number', value: 0.1, bytes: 'cb 3f b9 99 99 99 99 99 9a' },
  { name: 'list', type: ['list', 'string'], value: ['a', 'b'], bytes: '92 a1 61 a1 62' },
  { name: 'empty list', type: ['list', 'string'], value: [], bytes: '90' },
  { name: 'list with an unknown element', type: ['list', 'string'], value: ['a', Unknown.value], bytes: '92 a1 61 d4 00 00' },
  { name: 'set', type: ['set', 'number'], value: [1, 2], bytes: '92 01 02' },
  { name: 'tuple', type: ['tuple', ['string', 'bool']], value: ['a', true], bytes: '92 a1 61 c3' },
  // Keys sorted as Terraform writes them: "10" before "9", bytewise.
  { name: 'map with integer-like keys', type: ['map', 'string'], value: { '9': 'y', '10': 'x' }, bytes: `82 a2 ${ascii('10')} a1 78 a1 39 a1 79` },
  { name: 'map', type: ['map', 'string'], value: { b: '2', a: '1' }, bytes: '82 a1 61 a1 31 a1 62 a1 32' },
  {
    name: 'object: every attribute, sorted, null when unset',
    type: ['object', { size: 'number', name: 'string', tags: ['map', 'string'] }],
    value: { name: 'x', size: null, tags: null },
    bytes: `83 a4 ${ascii('name')} a1 78 a4 ${ascii('size')} c0 a4 ${ascii('tags')} c0`,
  },
  { name: 'object with an unknown attribute', type: ['object', { id: 'string' }], value: { id: Unknown.value }, bytes: `81 a2 ${ascii('id')} d4 00 00` },
  // [JSON type as bin8, value]
  { name: 'dynamic string', type: 'dynamic', value: 'hello', bytes: `92 c4 08 ${ascii('"string"')} a5 ${ascii('hello')}` },
  { name: 'dynamic null', type: 'dynamic', value: null, bytes: 'c0' },
  { name: 'dynamic unknown', type: 'dynamic', value: Unknown.value, bytes: 'd4 00 00' },
  {
    name: 'object with a dynamic attribute',
    type: ['object', { v: 'dynamic' }],
    value: { v: true },
    bytes: `81 a1 76 92 c4 06 ${ascii('"bool"')} c3`,
  },
];

describe('msgpack codec: byte vectors', () => {
  test.each(both)('encodes $name', ({ type, value, bytes }) => {
    expect(toHex(encodeMsgpack(value, type))).toBe(toHex(hex(bytes)));
  });

  test.each(both)('decodes $name', ({ type, value, bytes }) => {
    expect(decodeMsgpack(hex(bytes), type)).toEqual(value);
  });

  test('decodes the unknown as the one Unknown value', () => {
    expect(decodeMsgpack(hex('d4 00 00'), 'string')).toBe(Unknown.value);
  });
});

describe('msgpack codec: what only Terraform sends', () => {
  test('a refined unknown (extension 12, payload {1: false}: "not null") is unknown', () => {
    expect(decodeMsgpack(hex('c7 03 0c 81 01 c2'), 'string')).toBe(Unknown.value);
  });

  test('a refined unknown string with a known prefix (payload {2: "https://"}) is unknown', () => {
    expect(decodeMsgpack(hex(`c7 0b 0c 81 02 a8 ${ascii('https://')}`), 'string')).toBe(Unknown.value);
  });

  test('a refined unknown inside a set', () => {
    expect(decodeMsgpack(hex('92 a1 61 c7 03 0c 81 01 c2'), ['set', 'string'])).toEqual(['a', Unknown.value]);
  });

  test('a number too precise for float64 comes as a decimal string', () => {
    expect(decodeMsgpack(hex(`a3 ${ascii('0.1')}`), 'number')).toBe(0.1);
    // 2^64 + 1 does not fit int64 or float64 exactly; JavaScript rounds it.
    expect(decodeMsgpack(hex(`b4 ${ascii('18446744073709551617')}`), 'number')).toBe(18446744073709551616);
  });

  test('int8, int32 and float32 encodings decode too', () => {
    expect(decodeMsgpack(hex('d0 80'), 'number')).toBe(-128);
    expect(decodeMsgpack(hex('d2 ff ff ff 00'), 'number')).toBe(-256);
    expect(decodeMsgpack(hex('ca 3f c0 00 00'), 'number')).toBe(1.5);
  });

  test('a dynamic value carries its own type: a list stays a list', () => {
    const bytes = hex(`92 c4 11 ${ascii('["list","string"]')} 92 a1 61 a1 62`);
    expect(decodeMsgpack(bytes, 'dynamic')).toEqual(['a', 'b']);
  });

  test('a dynamic value whose type is a str rather than bin', () => {
    expect(decodeMsgpack(hex(`92 a8 ${ascii('"string"')} a1 78`), 'dynamic')).toBe('x');
  });

  test('a dynamic object value', () => {
    const t = '["object",{"a":"number"}]';
    expect(decodeMsgpack(hex(`92 c4 ${t.length.toString(16)} ${ascii(t)} 81 a1 61 05`), 'dynamic')).toEqual({ a: 5 });
  });

  test('an object attribute missing from the map is null', () => {
    expect(decodeMsgpack(hex(`81 a1 61 01`), ['object', { a: 'number', b: 'string' }])).toEqual({ a: 1, b: null });
  });

  test('DynamicValue: msgpack preferred, json accepted, nothing is null', () => {
    expect(decodeDynamicValue({ msgpack: hex('a1 78'), json: Buffer.from('"y"') }, 'string')).toBe('x');
    expect(decodeDynamicValue({ msgpack: new Uint8Array(), json: Buffer.from('"y"') }, 'string')).toBe('y');
    expect(decodeDynamicValue({}, 'string')).toBeNull();
    expect(decodeDynamicValue(undefined, 'string')).toBeNull();
  });
});

describe('msgpack codec: mistakes are errors that say where', () => {
  const obj: TfType = ['object', { name: 'string', urls: ['list', 'string'] }];

  test('a value of the wrong type', () => {
    expect(() => encodeMsgpack({ name: 'x', urls: ['a', 3] }, obj)).toThrow(new CodecError('expected string, got number 3', ['urls', { index: 1 }]));
  });

  test('an attribute the schema does not have (a misspelling)', () => {
    expect(() => encodeMsgpack({ nmae: 'x' }, obj)).toThrow(/no attribute\(s\) nmae/);
  });

  test('an attribute Terraform sent that the schema does not have', () => {
    expect(() => decodeMsgpack(hex(`81 a1 7a 01`), ['object', { a: 'number' }])).toThrow(/unexpected attribute\(s\) z/);
  });

  test('NaN', () => {
    expect(() => encodeMsgpack(NaN, 'number')).toThrow(/NaN/);
  });

  test('a tuple of the wrong length', () => {
    expect(() => encodeMsgpack(['a'], ['tuple', ['string', 'string']])).toThrow(/tuple of 2/);
  });

  test('malformed bytes', () => {
    expect(() => decodeMsgpack(hex('92 a1'), 'string')).toThrow(/malformed msgpack/);
  });

  test('a map where an array belongs', () => {
    expect(() => decodeMsgpack(hex('80'), ['list', 'string'])).toThrow(/expected an array/);
  });

  test('the path is kept on the error', () => {
    try {
      encodeMsgpack({ tags: { team: 1 } }, ['object', { tags: ['map', 'string'] }]);
      throw new Error('no error');
    } catch (err) {
      expect(err).toBeInstanceOf(CodecError);
      expect((err as CodecError).path).toEqual(['tags', { key: 'team' }]);
      expect((err as Error).message).toBe('tags["team"]: expected string, got number 1');
    }
  });
});

describe('JSON codec (stored state)', () => {
  const type: TfType = ['object', { id: 'string', size: 'number', tags: ['map', 'string'], on: 'bool', any: 'dynamic' }];

  test('decodes state, dropping attributes the schema no longer has and filling new ones with null', () => {
    expect(decodeJsonValue('{"id":"a","size":2,"removed":true}', type)).toEqual({ id: 'a', size: 2, tags: null, on: null, any: null });
  });

  test('decodes a dynamic value written with its type', () => {
    expect(decodeJsonValue('{"any":{"value":["a"],"type":["list","string"]}}', type)).toMatchObject({ any: ['a'] });
  });

  test('converts primitives as Terraform does', () => {
    expect(decodeJsonValue('{"id":5,"size":"0.5","on":"true"}', type)).toMatchObject({ id: '5', size: 0.5, on: true });
  });

  test('encodes state exactly', () => {
    expect(encodeJsonValue({ id: 'a', size: 1.5, tags: { t: 'x' }, on: false, any: 'v' }, type)).toBe(
      '{"id":"a","size":1.5,"tags":{"t":"x"},"on":false,"any":{"value":"v","type":"string"}}',
    );
  });

  test('unknown values cannot be stored', () => {
    expect(() => encodeJsonValue({ id: Unknown.value }, type)).toThrow(/unknown/);
  });

  test('malformed JSON', () => {
    expect(() => decodeJsonValue('{', type)).toThrow(/malformed JSON/);
  });
});
