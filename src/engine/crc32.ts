/**
 * CRC-32 (the zlib / IEEE 802.3 one: reflected polynomial 0xEDB88320, initial and final value
 * 0xFFFFFFFF), slice-by-8: eight table lookups per 8 bytes. The checksum pass runs it over every
 * white object at every scan, and the report prints it as `crc xxxxxxxx`, so users can check it
 * with any standard CRC-32 tool.
 *
 * Invariant: `i32` and `u8` passed together view the same buffer from byte 0 (as the scanner's
 * memory views do); words are read little-endian, like wasm memory. The table and the word view
 * are Int32Arrays and the arithmetic stays in int32: V8 turns u32 values >= 2^31 into doubles.
 */

const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n];
  for (let k = 1; k < 8; k++) {
    c = T[c & 0xff] ^ (c >>> 8);
    T[k * 256 + n] = c;
  }
}

/** CRC-32 of u8[off, off + len). `i32` (same buffer) enables the word-at-a-time path. */
export function crc32(u8: Uint8Array, i32: Int32Array | null, off: number, len: number): number {
  let c = -1;
  let i = off;
  const end = off + len;
  if (i32 !== null && len >= 16) {
    while (i & 3) c = T[(c ^ u8[i++]) & 0xff] ^ (c >>> 8);
    let w = i >>> 2;
    const wEnd = w + ((end - i) >>> 3) * 2;
    while (w < wEnd) {
      const a = i32[w] ^ c;
      const b = i32[w + 1];
      c =
        T[1792 + (a & 0xff)] ^
        T[1536 + ((a >>> 8) & 0xff)] ^
        T[1280 + ((a >>> 16) & 0xff)] ^
        T[1024 + (a >>> 24)] ^
        T[768 + (b & 0xff)] ^
        T[512 + ((b >>> 8) & 0xff)] ^
        T[256 + ((b >>> 16) & 0xff)] ^
        T[b >>> 24];
      w += 2;
    }
    i = w * 4; // not w << 2: objects at or above 2^31 have w >= 2^29
  } else {
    const end8 = off + (len & ~7);
    while (i < end8) {
      const a = (u8[i] | (u8[i + 1] << 8) | (u8[i + 2] << 16) | (u8[i + 3] << 24)) ^ c;
      c =
        T[1792 + (a & 0xff)] ^
        T[1536 + ((a >>> 8) & 0xff)] ^
        T[1280 + ((a >>> 16) & 0xff)] ^
        T[1024 + (a >>> 24)] ^
        T[768 + u8[i + 4]] ^
        T[512 + u8[i + 5]] ^
        T[256 + u8[i + 6]] ^
        T[u8[i + 7]];
      i += 8;
    }
  }
  while (i < end) c = T[(c ^ u8[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Whether u8[off, off + len) holds only zero bytes (u32: a view of the same buffer, from byte 0). */
export function isAllZero(u8: Uint8Array, u32: Int32Array | Uint32Array, off: number, len: number): boolean {
  const end = off + len;
  let i = off;
  for (; i < end && (i & 3) !== 0; i++) if (u8[i] !== 0) return false;
  // Whole aligned words (u32 is a view of u8's buffer from byte 0), then the tail's bytes.
  // Compared as byte offsets: `i >>> 2` wraps to 0 at 2^32 (a block ending at 4 GiB).
  for (; i + 4 <= end; i += 4) if (u32[i >>> 2] !== 0) return false;
  for (; i < end; i++) if (u8[i] !== 0) return false;
  return true;
}
