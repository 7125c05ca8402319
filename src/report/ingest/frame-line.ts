/**
 * One backtrace line, in every form kmemleak has printed one:
 *   [<ffffffff848a2f5f>] sock_kmalloc+0x7f/0xc0 net/core/sock.c:1774    (addresses, decoded)
 *   [<000000005b8e4771>] kmem_cache_alloc+0x1c0/0x3c0                   (hashed pointers, 4.15+)
 *   __kmalloc_cache_noprof+0x42f/0x5e0 mm/slub.c:5719                   (6.x, symbolized)
 *   slab_post_alloc_hook mm/slub.c:4951 [inline]                        (6.x, inlined)
 *   nft_trans_alloc+0x2c/0x80 [nf_tables]                               (a module's function)
 *   [<ffffffff>] 0xffffffff  /  0xffffffffffffffff                     (old end-of-trace marker)
 *   make_greeting+0x17/0x60 leaks.c:29  /  wasm-function[7]+0x1c/0x40   (ours)
 * Returns null for anything else (the caller ends the backtrace there).
 */
import type { IngestFrame } from './model.js';

const ADDR = /^\[<(?:0x)?([0-9a-fA-F]+)>\]\s+/;
const QUESTIONABLE = /^\?\s+/;
// NAME+0xOFF/0xSIZE [MODULE] FILE:LINE[:COL] [inline]; NAME is lazy so C++ names with spaces fit.
const SYMBOL = /^(.+?)\+0x([0-9a-f]+)\/0x([0-9a-f]+)(?:\s+\[([\w.-]+)\])?(?:\s+(\S+?):(\d+)(?::(\d+))?)?(?:\s+\[inline\])?$/;
const INLINE = /^(\S+)\s+(\S+?):(\d+)(?::(\d+))?\s+\[inline\]$/;
const BARE = /^(?:0x)?([0-9a-f]{8,16})$/;
const RAW_WASM = /^wasm-function\[(\d+)\]:0x([0-9a-f]+)$/;

/** True for the all-ones entry old kernels ended a stack trace with (ULONG_MAX): not a frame. */
const isEndMarker = (hex: string): boolean => /^f+$/i.test(hex) && (hex.length === 8 || hex.length === 16);

export type FrameLine = IngestFrame | 'end-marker' | null;

export function parseFrameLine(text: string): FrameLine {
  let s = text.trim();
  let address: string | undefined;
  const a = ADDR.exec(s);
  if (a) {
    address = a[1].toLowerCase();
    s = s.slice(a[0].length);
  } else if (/^\[<[0-9a-fA-Fx]+>\]$/.test(s)) {
    const only = s.slice(2, -2).replace(/^0x/, '');
    return isEndMarker(only) ? 'end-marker' : { function: null, address: only };
  }
  s = s.replace(QUESTIONABLE, '');
  const withAddr = (f: IngestFrame): IngestFrame => (address !== undefined ? { ...f, address } : f);

  const m = SYMBOL.exec(s);
  if (m) {
    const f: IngestFrame = { function: m[1], offset: parseInt(m[2], 16), size: parseInt(m[3], 16) };
    if (m[4] !== undefined) f.module = m[4];
    if (m[5] !== undefined) { f.file = m[5]; f.line = Number(m[6]); }
    if (m[7] !== undefined) f.column = Number(m[7]);
    if (/\s\[inline\]$/.test(s)) f.inline = true;
    return withAddr(f);
  }
  const i = INLINE.exec(s);
  if (i) {
    const f: IngestFrame = { function: i[1], file: i[2], line: Number(i[3]), inline: true };
    if (i[4] !== undefined) f.column = Number(i[4]);
    return withAddr(f);
  }
  const b = BARE.exec(s);
  if (b) return isEndMarker(b[1]) ? 'end-marker' : withAddr({ function: null, address: address ?? b[1] });
  const r = RAW_WASM.exec(s);
  if (r) return { function: null, address: `wasm-function[${r[1]}]:0x${r[2]}` };
  return null;
}
