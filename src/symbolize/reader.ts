/**
 * A bounds-checked cursor over bytes, for the symbolizer's own parsers (wasm sections, DWARF).
 *
 * Why our own: the symbolizer must not depend on src/wasm/, and every decoder here reads untrusted
 * input. Invariant: a read past `end` (or a LEB128 longer than its type allows) throws `Malformed`,
 * and only `Malformed`; each decoder catches it at its own boundary and keeps what it had decoded,
 * so no malformed input reaches the public API as an exception.
 */

/** The single exception type the parsers raise on bad input; caught inside the symbolizer. */
export class Malformed extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'Malformed';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class Reader {
  pos: number;
  readonly end: number;

  /** Reads `bytes[start, end)`; positions are absolute indexes into `bytes`. */
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    end = bytes.length,
  ) {
    this.pos = start;
    this.end = Math.min(end, bytes.length);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new Malformed(`truncated at ${this.pos}`);
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  u8(): number {
    if (this.pos >= this.end) throw new Malformed(`truncated at ${this.pos}`);
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const b = this.bytes;
    const v = b[this.pos]! | (b[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const b = this.bytes;
    const v = b[this.pos]! | (b[this.pos + 1]! << 8) | (b[this.pos + 2]! << 16);
    this.pos += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const b = this.bytes;
    const v = (b[this.pos]! | (b[this.pos + 1]! << 8) | (b[this.pos + 2]! << 16) | (b[this.pos + 3]! << 24)) >>> 0;
    this.pos += 4;
    return v;
  }

  /** A 64-bit little-endian value as a double: exact below 2^53, which covers every wasm32 offset. */
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi * 0x1_0000_0000 + lo;
  }

  /** An unsigned value of `size` bytes (1, 2, 4 or 8). */
  uN(size: number): number {
    switch (size) {
      case 1: return this.u8();
      case 2: return this.u16();
      case 4: return this.u32();
      case 8: return this.u64();
      default: throw new Malformed(`bad size ${size}`);
    }
  }

  /** Unsigned LEB128. Values beyond 2^53 lose precision but never throw (DWARF allows u64). */
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Malformed(`LEB128 too long at ${this.pos}`);
  }

  /** Unsigned LEB128 limited to 32 bits, as wasm encodes counts and sizes. */
  u32leb(): number {
    const v = this.uleb();
    if (v > 0xffffffff) throw new Malformed(`u32 out of range at ${this.pos}`);
    return v;
  }

  /** Signed LEB128, as a double. */
  sleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * mul;
      mul *= 128;
      if ((byte & 0x80) === 0) {
        if (byte & 0x40) result -= mul;
        return result;
      }
    }
    throw new Malformed(`LEB128 too long at ${this.pos}`);
  }

  bytesView(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A wasm name: u32 length then UTF-8. */
  name(): string {
    const n = this.u32leb();
    return utf8.decode(this.bytesView(n));
  }

  /** A NUL-terminated UTF-8 string (DWARF). */
  cstr(): string {
    const start = this.pos;
    const b = this.bytes;
    let p = start;
    while (p < this.end && b[p] !== 0) p++;
    if (p >= this.end) throw new Malformed(`unterminated string at ${start}`);
    this.pos = p + 1;
    return utf8.decode(b.subarray(start, p));
  }
}

/** The NUL-terminated string at `offset` in a string section, or null when out of bounds. */
export function cstrAt(section: Uint8Array | undefined, offset: number): string | null {
  if (!section || offset < 0 || offset >= section.length) return null;
  let p = offset;
  while (p < section.length && section[p] !== 0) p++;
  return utf8.decode(section.subarray(offset, p));
}
