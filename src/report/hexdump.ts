/**
 * The kernel's hex_dump_to_buffer() layout with kmemleak's parameters (16 bytes a row, groups of
 * one byte, ASCII column), behind kmemleak's four-space prefix: two lowercase hex digits and a
 * space per byte (no space after the last), then spaces up to column 49 of the row (counted after
 * the prefix) even on a short last row, then the bytes as ASCII, anything outside 0x20..0x7e as '.'.
 */

export const HEX_ROW_SIZE = 16;
const ASCII_COLUMN = HEX_ROW_SIZE * 2 + HEX_ROW_SIZE + 1;
const PREFIX = '    ';
/** Each byte's two hex digits and its ASCII column character (a report lists 100K objects: no toString per byte). */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const ASCII = Array.from({ length: 256 }, (_, b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.'));

/** One row (at most 16 bytes), without prefix or newline. */
export function hexDumpRow(bytes: ArrayLike<number>, from: number, to: number): string {
  let hex = '';
  let ascii = '';
  for (let i = from; i < to; i++) {
    const b = bytes[i] & 0xff;
    hex += i > from ? ' ' + HEX[b] : HEX[b];
    ascii += ASCII[b];
  }
  return hex.padEnd(ASCII_COLUMN, ' ') + ascii;
}

/** kmemleak's hex dump lines for `bytes` (each with the prefix and a trailing newline). */
export function hexDumpLines(bytes: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += HEX_ROW_SIZE) {
    out += PREFIX + hexDumpRow(bytes, i, Math.min(bytes.length, i + HEX_ROW_SIZE)) + '\n';
  }
  return out;
}

/** Space-separated lowercase hex bytes (the JSON report's "hex"). */
export function hexBytes(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += i > 0 ? ' ' + HEX[bytes[i] & 0xff] : HEX[bytes[i] & 0xff];
  return s;
}

/** The inverse of hexBytes (invalid pairs are dropped). */
export function parseHexBytes(hex: string): number[] {
  // By character codes, no split or regular expression: the exit report parses one per object.
  const out: number[] = [];
  for (let i = 0; i <= hex.length; ) {
    let j = hex.indexOf(' ', i);
    if (j < 0) j = hex.length;
    if (j - i === 2) {
      const hi = hexDigit(hex.charCodeAt(i));
      const lo = hexDigit(hex.charCodeAt(i + 1));
      if (hi >= 0 && lo >= 0) out.push(hi * 16 + lo);
    }
    i = j + 1;
  }
  return out;
}

/** The value of a hex digit's character code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
