/**
 * LEB128 and raw byte access for wasm decoding and encoding.
 *
 * Why its own file: every decoder needs bounds-checked reads that fail with a one-line
 * WasmFormatError naming the offset (never a RangeError), and the rewriter needs a growable
 * output buffer that encodes LEBs without allocating per value.
 *
 * Invariants: positions are absolute byte offsets into the module (what wasm-objdump and V8
 * print); a reader never reads at or past its `end`.
 */
import { WasmFormatError, hex } from './errors.js';

export class ByteReader {
  pos: number;
  end: number;
  /** What is being decoded, for error messages ("section", "function body", ...). */
  what = 'module';

  constructor(readonly bytes: Uint8Array, start = 0, end = bytes.length) {
    this.pos = start;
    this.end = end;
  }

  truncated(): never {
    throw new WasmFormatError(`truncated ${this.what} at offset ${hex(this.pos)}`, this.pos);
  }

  fail(msg: string, at = this.pos): never {
    throw new WasmFormatError(`${msg} at offset ${hex(at)}`, at);
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) this.truncated();
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128 up to 32 bits. */
  u32(): number {
    let result = 0;
    let shift = 0;
    const start = this.pos;
    for (;;) {
      if (this.pos >= this.end) this.truncated();
      const b = this.bytes[this.pos++]!;
      if (shift === 28) {
        if (b & 0x70) this.fail('integer too large', start);
        result += (b & 0x0f) * 0x10000000;
        if (b & 0x80) this.fail('integer representation too long', start);
        return result;
      }
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  /** Signed LEB128 up to 32 bits, as a JS int32. */
  s32(): number {
    let result = 0;
    let shift = 0;
    const start = this.pos;
    let b: number;
    do {
      if (this.pos >= this.end) this.truncated();
      b = this.bytes[this.pos++]!;
      if (shift === 28) {
        result |= b << 28;
        if (b & 0x80) this.fail('integer representation too long', start);
        return result | 0;
      }
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (shift < 32 && b & 0x40) result |= -1 << shift;
    return result | 0;
  }

  /** Signed LEB128 up to 33 bits (block types, heap types), as a JS number. */
  s33(): number {
    let result = 0;
    let mul = 1;
    const start = this.pos;
    let b: number;
    let n = 0;
    do {
      if (this.pos >= this.end) this.truncated();
      b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * mul;
      mul *= 128;
      if (++n > 5) this.fail('integer representation too long', start);
    } while (b & 0x80);
    if (b & 0x40) result -= mul;
    return result;
  }

  /** Signed LEB128 up to 64 bits, as a bigint (only used where the value matters). */
  s64(): bigint {
    let result = 0n;
    let shift = 0n;
    const start = this.pos;
    let b: number;
    let n = 0;
    do {
      if (this.pos >= this.end) this.truncated();
      b = this.bytes[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (++n > 10) this.fail('integer representation too long', start);
    } while (b & 0x80);
    if (shift < 64n && b & 0x40) result -= 1n << shift;
    return BigInt.asIntN(64, result);
  }

  /** Unsigned LEB128 up to 64 bits as a JS number (exact below 2^53; memory64 offsets). */
  u64(): number {
    let result = 0;
    let mul = 1;
    const start = this.pos;
    let b: number;
    let n = 0;
    do {
      if (this.pos >= this.end) this.truncated();
      b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * mul;
      mul *= 128;
      if (++n > 10) this.fail('integer representation too long', start);
    } while (b & 0x80);
    return result;
  }

  /** Skips one LEB128 of any width. */
  skipLeb(): void {
    const start = this.pos;
    let n = 0;
    for (;;) {
      if (this.pos >= this.end) this.truncated();
      if ((this.bytes[this.pos++]! & 0x80) === 0) return;
      if (++n > 10) this.fail('integer representation too long', start);
    }
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) this.truncated();
    this.pos += n;
  }

  /** A byte range [start, end) of length n, bounds-checked. */
  range(n: number): number {
    const start = this.pos;
    this.skip(n);
    return start;
  }

  name(): string {
    const len = this.u32();
    const start = this.range(len);
    return utf8.decode(this.bytes.subarray(start, start + len));
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8enc = new TextEncoder();

/** Growable output buffer with LEB128 encoders. */
export class ByteWriter {
  buf: Uint8Array<ArrayBuffer>;
  len = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  private grow(need: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.len + need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(b: number): void {
    if (this.len + 1 > this.buf.length) this.grow(1);
    this.buf[this.len++] = b;
  }

  u32(v: number): void {
    if (this.len + 5 > this.buf.length) this.grow(5);
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.buf[this.len++] = b;
    } while (v !== 0);
  }

  /**
   * Unsigned LEB128 padded to `width` bytes when the value fits (keeps a patched immediate the
   * size it had, as wasm-ld pads relocatable indices to 5 bytes); minimal otherwise.
   */
  u32Padded(v: number, width: number): void {
    v >>>= 0;
    if (width <= lebSize(v) || width > 5) {
      this.u32(v);
      return;
    }
    if (this.len + width > this.buf.length) this.grow(width);
    for (let i = 0; i < width - 1; i++) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.len++] = v & 0x7f;
  }

  s32(v: number): void {
    if (this.len + 5 > this.buf.length) this.grow(5);
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.buf[this.len++] = b;
        return;
      }
      this.buf[this.len++] = b | 0x80;
    }
  }

  s64(value: bigint): void {
    if (this.len + 10 > this.buf.length) this.grow(10);
    let v = BigInt.asIntN(64, value);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
        this.buf[this.len++] = b;
        return;
      }
      this.buf[this.len++] = b | 0x80;
    }
  }

  /** Signed LEB128 of the 64-bit value hi:lo (two u32 halves), without BigInt. */
  s64Halves(lo: number, hi: number): void {
    if (this.len + 10 > this.buf.length) this.grow(10);
    lo >>>= 0;
    hi |= 0;
    for (;;) {
      const b = lo & 0x7f;
      // shift hi:lo right by 7, arithmetic on hi
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>= 7;
      const done = (hi === 0 && lo === 0 && (b & 0x40) === 0) || (hi === -1 && lo === 0xffffffff && (b & 0x40) !== 0);
      if (done) {
        this.buf[this.len++] = b;
        return;
      }
      this.buf[this.len++] = b | 0x80;
    }
  }

  bytes(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    if (this.len + n > this.buf.length) this.grow(n);
    this.buf.set(src.subarray(start, end), this.len);
    this.len += n;
  }

  name(s: string): void {
    const b = utf8enc.encode(s);
    this.u32(b.length);
    this.bytes(b);
  }

  /** A copy of the bytes written (backed by its own ArrayBuffer, so WebAssembly APIs take it). */
  result(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.len);
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

export function lebSize(v: number): number {
  v >>>= 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}
