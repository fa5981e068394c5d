/**
 * A msgpack decoder for what Terraform sends, written here because the
 * general-purpose decoder refuses the map key `__proto__` (it builds plain
 * objects by assignment, where that key would replace the prototype). In
 * Terraform that key is ordinary data: `rotation_triggers = { "__proto__" =
 * "1" }` is a valid configuration, and refusing it was an internal error.
 * Maps here become objects whose keys are all own data properties
 * ({@link defineOwn}), whatever their names.
 *
 * It reads every msgpack format (nil, booleans, integers up to 64 bits,
 * float 32/64, str, bin, array, map, ext); integers beyond 2^53 lose
 * precision as JavaScript numbers must. Extensions are handed to
 * `extension(type, data)`. Anything malformed or trailing is an error.
 */
import { defineOwn } from './tftype';

/** What the decoder does with a msgpack extension: returns the value it stands for. */
export type ExtensionDecoder = (type: number, data: Uint8Array) => unknown;

// ignoreBOM: a string that starts with U+FEFF keeps it (by default TextDecoder drops it as a byte
// order mark, which would change the value, e.g. hide it from the callback URL rule).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Deeper nesting than any Terraform schema has: a bound so that hostile input cannot exhaust the stack. */
const MAX_DEPTH = 512;

class Reader {
  private pos = 0;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array, private readonly extension: ExtensionDecoder) {
    // A plain view of the same memory: gRPC hands over Buffers, and every
    // subarray of a Buffer (one per string) goes through Buffer's own
    // constructor, which cost more than decoding the string.
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Decodes the one value the buffer must hold. */
  all(): unknown {
    const value = this.value(0);
    if (this.pos !== this.bytes.length) throw new Error(`${this.bytes.length - this.pos} trailing byte(s) after the value`);
    return value;
  }

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.bytes.length) throw new Error(`the data ends inside a value (needs ${n} byte(s) at offset ${at})`);
    this.pos += n;
    return at;
  }

  private u8(): number {
    return this.view.getUint8(this.need(1));
  }
  private u16(): number {
    return this.view.getUint16(this.need(2));
  }
  private u32(): number {
    return this.view.getUint32(this.need(4));
  }
  private take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }

  private value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new Error(`values nested deeper than ${MAX_DEPTH} levels`);
    const head = this.u8();
    if (head <= 0x7f) return head;
    if (head >= 0xe0) return head - 0x100;
    if ((head & 0xf0) === 0x80) return this.map(head & 0x0f, depth);
    if ((head & 0xf0) === 0x90) return this.array(head & 0x0f, depth);
    if ((head & 0xe0) === 0xa0) return utf8.decode(this.take(head & 0x1f));
    switch (head) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.take(this.u8()).slice();
      case 0xc5: return this.take(this.u16()).slice();
      case 0xc6: return this.take(this.u32()).slice();
      case 0xc7: return this.ext(this.u8());
      case 0xc8: return this.ext(this.u16());
      case 0xc9: return this.ext(this.u32());
      case 0xca: return this.view.getFloat32(this.need(4));
      case 0xcb: return this.view.getFloat64(this.need(8));
      case 0xcc: return this.u8();
      case 0xcd: return this.u16();
      case 0xce: return this.u32();
      case 0xcf: return Number(this.view.getBigUint64(this.need(8)));
      case 0xd0: return this.view.getInt8(this.need(1));
      case 0xd1: return this.view.getInt16(this.need(2));
      case 0xd2: return this.view.getInt32(this.need(4));
      case 0xd3: return Number(this.view.getBigInt64(this.need(8)));
      case 0xd4: return this.ext(1);
      case 0xd5: return this.ext(2);
      case 0xd6: return this.ext(4);
      case 0xd7: return this.ext(8);
      case 0xd8: return this.ext(16);
      case 0xd9: return utf8.decode(this.take(this.u8()));
      case 0xda: return utf8.decode(this.take(this.u16()));
      case 0xdb: return utf8.decode(this.take(this.u32()));
      case 0xdc: return this.array(this.u16(), depth);
      case 0xdd: return this.array(this.u32(), depth);
      case 0xde: return this.map(this.u16(), depth);
      case 0xdf: return this.map(this.u32(), depth);
      default: throw new Error(`unknown type byte 0x${head.toString(16)} at offset ${this.pos - 1}`);
    }
  }

  private ext(size: number): unknown {
    const type = this.view.getInt8(this.need(1));
    return this.extension(type, this.take(size));
  }

  private array(n: number, depth: number): unknown[] {
    // Each element takes at least a byte: a length past the end is malformed, not an allocation.
    if (n > this.bytes.length - this.pos) throw new Error(`an array of ${n} elements cannot fit in the data`);
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  private map(n: number, depth: number): { [k: string]: unknown } {
    if (n * 2 > this.bytes.length - this.pos) throw new Error(`a map of ${n} entries cannot fit in the data`);
    const out: { [k: string]: unknown } = {};
    for (let i = 0; i < n; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== 'string') throw new Error(`a map key must be a string (got ${key === null ? 'nil' : typeof key})`);
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new Error(`the map key ${JSON.stringify(key)} appears twice`);
      defineOwn(out, key, this.value(depth + 1));
    }
    return out;
  }
}

/** Decodes one msgpack value; throws an Error saying what is malformed. */
export function decodeTerraformMsgpack(bytes: Uint8Array, extension: ExtensionDecoder): unknown {
  return new Reader(bytes, extension).all();
}
