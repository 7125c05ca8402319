/**
 * Stack depot: every distinct backtrace is stored once and named by a small integer handle, as
 * the kernel's stackdepot does for kmemleak. A backtrace is an opaque sequence of u32 words (the
 * wasm adapter stores pairs funcIndex, moduleOffset); the depot never interprets them.
 *
 * Invariants:
 * - Handle 0 is the empty trace; other handles are 1..n in order of first save and never change.
 * - Words of all traces live in one growable Uint32Array; record h spans
 *   words[off[h], off[h] + len[h]). A saved trace is at most MAX_WORDS words (longer input is
 *   truncated, as kmemleak keeps MAX_TRACE frames).
 * - The hash table (open addressing, linear probing, load <= 1/2) holds handles; nothing is
 *   ever removed, so there is no deletion.
 */

/** 16 frames of (funcIndex, moduleOffset). */
export const MAX_WORDS = 32;

export class StackDepot {
  private words = new Uint32Array(1024);
  private wTop = 0;
  private off = new Uint32Array(64);
  private len = new Uint8Array(64);
  private hash = new Uint32Array(64);
  private n = 1; // handle 0: the empty trace
  private table = new Uint32Array(128);
  private mask = 127;

  /** Number of distinct traces stored (the empty one included). */
  get size(): number {
    return this.n;
  }

  get bytes(): number {
    return this.words.byteLength + this.off.byteLength * 2 + this.len.byteLength + this.table.byteLength;
  }

  /** The handle of frames[0, count), saving it if it is new. */
  save(frames: Uint32Array, count: number): number {
    if (count > MAX_WORDS) count = MAX_WORDS;
    if (count > frames.length) count = frames.length;
    if (count <= 0) return 0;
    let h = 0x811c9dc5 ^ count;
    for (let i = 0; i < count; i++) h = Math.imul(h ^ frames[i], 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d) >>> 0;
    const table = this.table;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const cand = table[i];
      if (cand === 0) break;
      if (this.hash[cand] === h && this.len[cand] === count && this.sameWords(cand, frames, count)) return cand;
      i = (i + 1) & mask;
    }
    const handle = this.n++;
    if (handle === this.off.length) this.growRecords();
    if (this.wTop + count > this.words.length) {
      const next = new Uint32Array(Math.max(this.words.length * 2, this.wTop + count));
      next.set(this.words);
      this.words = next;
    }
    this.words.set(frames.subarray(0, count), this.wTop);
    this.off[handle] = this.wTop;
    this.len[handle] = count;
    this.hash[handle] = h;
    this.wTop += count;
    table[i] = handle;
    if (this.n * 2 > table.length) this.rehash();
    return handle;
  }

  /** The words of a handle (a view into the depot: do not modify). Unknown handles are empty. */
  frames(handle: number): Uint32Array {
    if (!(handle > 0 && handle < this.n)) return new Uint32Array(0);
    const o = this.off[handle];
    return this.words.subarray(o, o + this.len[handle]);
  }

  private sameWords(handle: number, frames: Uint32Array, count: number): boolean {
    const o = this.off[handle];
    const w = this.words;
    for (let k = 0; k < count; k++) if (w[o + k] !== frames[k]) return false;
    return true;
  }

  private growRecords(): void {
    const cap = this.off.length * 2;
    const off = new Uint32Array(cap);
    off.set(this.off);
    const len = new Uint8Array(cap);
    len.set(this.len);
    const hash = new Uint32Array(cap);
    hash.set(this.hash);
    this.off = off;
    this.len = len;
    this.hash = hash;
  }

  private rehash(): void {
    const table = new Uint32Array(this.table.length * 2);
    const mask = table.length - 1;
    for (let h = 1; h < this.n; h++) {
      let i = this.hash[h] & mask;
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = h;
    }
    this.table = table;
    this.mask = mask;
  }
}
