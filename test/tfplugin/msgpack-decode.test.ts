/**
 * Our msgpack decoder against the msgpack library's own encoder and decoder:
 * every value the library writes decodes to what the library reads, and what
 * the library refuses but Terraform may send (the map key `__proto__`)
 * decodes as data. Malformed input is an error, never a crash or a hang.
 */
import * as fc from 'fast-check';
import { decode, encode } from '@msgpack/msgpack';
import { decodeMsgpack, encodeMsgpack } from '../../src/tfplugin/codec';
import { decodeTerraformMsgpack } from '../../src/tfplugin/msgpack-decode';
import { type TfValue, Unknown } from '../../src/tfplugin/types';

const noExt = (type: number): unknown => {
  throw new Error(`extension ${type}`);
};

const key = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((k) => k !== '__proto__');
const value = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
    fc.maxSafeInteger(),
    fc.maxSafeNat(),
    fc.double({ noNaN: true }),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('any'), { maxLength: 20 }),
    fc.dictionary(key, tie('any'), { maxKeys: 20 }),
  ),
})).any;

describe('msgpack decoder', () => {
  it('reads whatever the library writes exactly as the library reads it', () => {
    fc.assert(fc.property(value, fc.boolean(), (v, forceFloat32) => {
      const bytes = encode(v, { forceFloat32 });
      expect(decodeTerraformMsgpack(bytes, noExt)).toEqual(decode(bytes));
    }), { numRuns: 2000 });
  });

  it('keeps a leading U+FEFF in a string (it is data, not a byte order mark)', () => {
    for (const text of ['\ufeffhttps://example.com/cb', '\ufeff', 'a\ufeff']) {
      const bytes = encode({ k: text, l: [text] });
      expect(decodeTerraformMsgpack(bytes, noExt)).toEqual({ k: text, l: [text] });
    }
  });

  it('reads the long forms (16- and 32-bit lengths) of strings, arrays and maps', () => {
    const big = { s: 'x'.repeat(70_000), a: Array.from({ length: 70_000 }, (_, i) => i % 3), m: Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])) };
    const bytes = encode(big);
    expect(decodeTerraformMsgpack(bytes, noExt)).toEqual(decode(bytes));
  });

  it('keeps the map key "__proto__" as an own property, not a prototype', () => {
    // 81 a9 "__proto__" a1 "1": {"__proto__": "1"}, which the library refuses.
    const bytes = Uint8Array.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0xa1, 0x31]);
    expect(() => decode(bytes)).toThrow(/__proto__/);
    const out = decodeTerraformMsgpack(bytes, noExt) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toBe('1');
    // Through the codec, a map(string) attribute round-trips with the key as data.
    const m = decodeMsgpack(bytes, ['map', 'string']) as { [k: string]: TfValue };
    expect(Object.entries(m)).toEqual([['__proto__', '1']]);
    expect(decodeMsgpack(encodeMsgpack(m, ['map', 'string']), ['map', 'string'])).toEqual(m);
  });

  it('hands extensions to the caller: Terraform\'s unknown values', () => {
    expect(decodeMsgpack(Uint8Array.from([0xd4, 0x00, 0x00]), 'string')).toBe(Unknown.value);
    expect(decodeMsgpack(Uint8Array.from([0xc7, 0x02, 0x0c, 0x81, 0x01]), 'string')).toBe(Unknown.value);
    expect(() => decodeMsgpack(Uint8Array.from([0xd4, 0x05, 0x00]), 'string')).toThrow(/malformed msgpack: unknown msgpack extension type 5/);
  });

  it.each([
    ['a truncated string', [0xa5, 0x61]],
    ['trailing bytes', [0xc0, 0xc0]],
    ['an unused type byte', [0xc1]],
    ['an array longer than the data', [0xdd, 0xff, 0xff, 0xff, 0xff]],
    ['a map longer than the data', [0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 0x61]],
    ['a key that is not a string', [0x81, 0x01, 0x02]],
    ['a key given twice', [0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02]],
    ['invalid UTF-8', [0xa1, 0xff]],
    ['nothing', []],
  ])('refuses %s with a message', (_what, bytes) => {
    expect(() => decodeMsgpack(Uint8Array.from(bytes), 'dynamic')).toThrow(/malformed msgpack: /);
  });

  it('refuses nesting deeper than any schema, without exhausting the stack', () => {
    const deep = new Uint8Array(100_000).fill(0x91);
    expect(() => decodeTerraformMsgpack(deep, noExt)).toThrow(/nested deeper/);
  });

  it('never throws anything but an error on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeTerraformMsgpack(bytes, () => null);
      } catch (err) {
        // TextDecoder's TypeError comes from Node's realm, not jest's: check the shape, not the class.
        expect(typeof (err as Error).message).toBe('string');
      }
    }), { numRuns: 5000 });
  });
});
