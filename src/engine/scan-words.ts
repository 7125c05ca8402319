/**
 * The JavaScript flood's inner loops, apart from the scan's state machine (scanner.ts): filtering
 * a range's words into candidates that may point into a white object (collect, collectSmall),
 * resolving a batch of candidates to the objects they point into (resolveSmall, resolveLarge,
 * bucketed by address first: bucketByAddress), and sorting a generation of the grey queue into
 * address order (radixPassU32, sortByBitmap). The invariants are scanner.ts's (its header): these
 * functions only read memory and write the typed arrays they are handed; none allocates.
 */

import { type AddressSnapshot, PAGE_INDEX_MASK } from './address-index.js';

/**
 * The hot loop, first half: every aligned word of mem[ws, we) that passes the min/max filter and
 * lands in a granule overlapping a white object (whiteBits) is appended to cand as its offset
 * from `lo`. The caller guarantees room for we - ws candidates. Returns the new candidate count.
 * Snapshots spanning less than 2 GiB (`small`) take collectSmall, larger ones this one; both are
 * branch-free inside a group of words: where 10% of the words are in range, a branch per word would mispredict
 * often, and eight words a test is ~10% faster on pointer-free memory than four.
 */
export function collect(
  mem: Int32Array,
  ws: number,
  we: number,
  lo: number,
  span: number,
  whiteBits: Int32Array,
  gshift: number,
  cand: Int32Array,
  nc: number,
): number {
  // Spans of 2^31 and more: the words outside [lo, lo + span) form the range [lo + span, lo)
  // (modulo 2^32), of `out` <= 2^31 values, so collectSmall's int32 test applies to it inverted:
  // for e = v - (lo + span), `e | (out - 1 - e)` is negative exactly when v is in the heap. Eight
  // words a test, no branch per word (a branch per word cost a third of the scan speed past 2 GiB:
  // bench/RESULTS.md, "Scan speed per GB past 2 GiB").
  const base = (lo + span) | 0;
  const out1 = (0x100000000 - span - 1) | 0;
  let w = ws;
  for (; w + 8 <= we; w += 8) {
    const e0 = (mem[w] - base) | 0;
    const e1 = (mem[w + 1] - base) | 0;
    const e2 = (mem[w + 2] - base) | 0;
    const e3 = (mem[w + 3] - base) | 0;
    const e4 = (mem[w + 4] - base) | 0;
    const e5 = (mem[w + 5] - base) | 0;
    const e6 = (mem[w + 6] - base) | 0;
    const e7 = (mem[w + 7] - base) | 0;
    const m0 = e0 | (out1 - e0);
    const m1 = e1 | (out1 - e1);
    const m2 = e2 | (out1 - e2);
    const m3 = e3 | (out1 - e3);
    const m4 = e4 | (out1 - e4);
    const m5 = e5 | (out1 - e5);
    const m6 = e6 | (out1 - e6);
    const m7 = e7 | (out1 - e7);
    if ((m0 | m1 | m2 | m3 | m4 | m5 | m6 | m7) >= 0) continue;
    let inRange =
      (m0 >>> 31) | ((m1 >>> 31) << 1) | ((m2 >>> 31) << 2) | ((m3 >>> 31) << 3) |
      ((m4 >>> 31) << 4) | ((m5 >>> 31) << 5) | ((m6 >>> 31) << 6) | ((m7 >>> 31) << 7);
    do {
      const i = 31 - Math.clz32(inRange & -inRange);
      inRange &= inRange - 1;
      const d = (mem[w + i] - lo) | 0;   // the offset's bits; read unsigned below
      cand[nc] = d;
      const g = d >>> gshift;
      nc += (whiteBits[g >>> 5] >>> g) & 1;
    } while (inRange !== 0);
  }
  for (; w < we; w++) {
    const d = (mem[w] - lo) >>> 0;
    if (d >= span) continue;
    cand[nc] = d;
    const g = d >>> gshift;
    nc += (whiteBits[g >>> 5] >>> (g & 31)) & 1;
  }
  return nc;
}

/**
 * collect() for span <= 2^31. For an int32 offset d, `d | (span - 1 - d)` is negative exactly
 * when d is outside [0, span): one test rejects a group of eight words, and a group that passes
 * visits only its words in range, through a bit mask (eight unconditional steps cost ~15% more
 * where 10% of the words are pointers). The tail's words are counted by arithmetic (take).
 */
export function collectSmall(
  mem: Int32Array,
  ws: number,
  we: number,
  lo: number,
  span: number,
  whiteBits: Int32Array,
  gshift: number,
  cand: Int32Array,
  nc: number,
): number {
  const span1 = span - 1;
  let w = ws;
  for (; w + 8 <= we; w += 8) {
    const d0 = (mem[w] - lo) | 0;
    const d1 = (mem[w + 1] - lo) | 0;
    const d2 = (mem[w + 2] - lo) | 0;
    const d3 = (mem[w + 3] - lo) | 0;
    const d4 = (mem[w + 4] - lo) | 0;
    const d5 = (mem[w + 5] - lo) | 0;
    const d6 = (mem[w + 6] - lo) | 0;
    const d7 = (mem[w + 7] - lo) | 0;
    const m0 = d0 | (span1 - d0);
    const m1 = d1 | (span1 - d1);
    const m2 = d2 | (span1 - d2);
    const m3 = d3 | (span1 - d3);
    const m4 = d4 | (span1 - d4);
    const m5 = d5 | (span1 - d5);
    const m6 = d6 | (span1 - d6);
    const m7 = d7 | (span1 - d7);
    if ((m0 & m1 & m2 & m3 & m4 & m5 & m6 & m7) < 0) continue;
    // Only the words in range (usually one or two of the eight): lowest set bit first.
    let inRange =
      (~m0 >>> 31) | ((~m1 >>> 31) << 1) | ((~m2 >>> 31) << 2) | ((~m3 >>> 31) << 3) |
      ((~m4 >>> 31) << 4) | ((~m5 >>> 31) << 5) | ((~m6 >>> 31) << 6) | ((~m7 >>> 31) << 7);
    do {
      const i = 31 - Math.clz32(inRange & -inRange);
      inRange &= inRange - 1;
      const d = (mem[w + i] - lo) | 0;
      cand[nc] = d;
      const g = d >>> gshift;
      nc += (whiteBits[g >>> 5] >>> g) & 1;
    } while (inRange !== 0);
  }
  for (; w < we; w++) {
    const d = (mem[w] - lo) | 0;
    nc = take(d, d | (span1 - d), gshift, whiteBits, cand, nc);
  }
  return nc;
}

/** collectSmall's per-word step: m < 0 means out of range (then bit 0 is read and masked off). */
function take(d: number, m: number, gshift: number, whiteBits: Int32Array, cand: Int32Array, nc: number): number {
  const i = ~m >> 31;
  cand[nc] = d;
  const g = (d & i) >>> gshift;
  return nc + ((whiteBits[g >>> 5] >>> g) & i & 1);
}

/** One stable counting-sort pass of a[aFrom, aFrom + n) on `bits` bits at `sh`, into b[bFrom, bFrom + n). */
export function radixPassU32(a: Uint32Array, aFrom: number, b: Uint32Array, bFrom: number, n: number, sh: number, bits: number, counts: Int32Array): void {
  const mask = (1 << bits) - 1;
  counts.fill(0);
  for (let i = aFrom; i < aFrom + n; i++) counts[(a[i] >>> sh) & mask]++;
  let sum = bFrom;
  for (let d = 0; d <= mask; d++) {
    const c = counts[d];
    counts[d] = sum;
    sum += c;
  }
  for (let i = aFrom; i < aFrom + n; i++) {
    const v = a[i];
    b[counts[(v >>> sh) & mask]++] = v;
  }
}

/**
 * Sorts q[from, to) (distinct values below bits.length * 32) through the bitmap `bits` (all clear
 * before and after): each value's bit is set, then the set bits are read back in order.
 */
export function sortByBitmap(q: Uint32Array, from: number, to: number, bits: Int32Array): void {
  let lo = 0xffffffff;
  let hi = 0;
  for (let i = from; i < to; i++) {
    const v = q[i];
    bits[v >>> 5] |= 1 << (v & 31);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  let o = from;
  for (let w = lo >>> 5, last = hi >>> 5; w <= last; w++) {
    let x = bits[w];
    if (x === 0) continue;
    bits[w] = 0;
    while (x !== 0) {
      q[o++] = (w << 5) + 31 - Math.clz32(x & -x);
      x &= x - 1;
    }
  }
}

/** One counting-sort pass of cand[0, n) (offsets < 2^31) on the bits above `top`, into out. */
export function bucketByAddress(cand: Int32Array, n: number, top: number, counts: Int32Array, out: Int32Array): void {
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[cand[i] >>> top]++;
  let sum = 0;
  for (let b = 0; b < counts.length; b++) {
    const c = counts[b];
    counts[b] = sum;
    sum += c;
  }
  for (let i = 0; i < n; i++) {
    const d = cand[i];
    out[counts[d >>> top]++] = d;
  }
}

/**
 * The entry [st, end) (offsets, as u32) stopped being white: clears the granules of the white
 * bitmap entirely inside it (granules shared with a neighbour keep their bit).
 */
export function clearWhite(bits: Int32Array, st: number, end: number, gshift: number): void {
  const g1 = end >>> gshift;
  for (let g = (st >>> gshift) + ((st & ((1 << gshift) - 1)) !== 0 ? 1 : 0); g < g1; g++) bits[g >>> 5] &= ~(1 << (g & 31));
}

/**
 * The hot loop, second half (offsets < 2^31): each candidate inside a white object counts one
 * reference; reaching min_count turns the object grey, queues its entry and clears its granules
 * in the white bitmap at once. An entry's bounds come from the table's start and size columns
 * (int32 views: offsets from lo stay below 2^31 here), through its slot in `ord`. Returns the new
 * queue tail.
 */
export function resolveSmall(
  cand: Int32Array,
  nc: number,
  ord: Uint32Array,
  start: Int32Array,
  size: Int32Array,
  lo: number,
  need: Uint8Array,
  page: Int32Array,
  shift: number,
  q: Uint32Array,
  qCap: number,
  pend: Int32Array,
  io: Int32Array,
  bits: Int32Array,
  gshift: number,
): number {
  let qTail = io[0];
  let greyed = 0;
  for (let i = 0; i < nc; i++) {
    const d = cand[i];
    let e = page[d >>> shift] & PAGE_INDEX_MASK;
    let s = ord[e];
    let st = (start[s] - lo) | 0;
    // A zero-sized object covers one byte: (sz - 1) >>> 31 is 1 for sz 0 (sizes are < 2^31 here).
    let sz = size[s];
    let en = st + sz + ((sz - 1) >>> 31);
    while (en <= d) {
      s = ord[++e];
      st = (start[s] - lo) | 0;
      sz = size[s];
      en = st + sz + ((sz - 1) >>> 31);
    }
    const nd = need[e];
    if (nd === 0 || st > d) continue;
    need[e] = nd - 1;
    if (nd === 1) {
      if (qTail < qCap) q[qTail++] = e;
      else pend[e >>> 5] |= 1 << (e & 31);
      greyed++;
      clearWhite(bits, st, en, gshift);
    }
  }
  io[0] = qTail;
  return greyed;
}

/** resolveSmall for snapshots spanning 2 GiB or more: offsets are compared as unsigned. */
export function resolveLarge(cand: Int32Array, nc: number, snap: AddressSnapshot, q: Uint32Array, qCap: number, pend: Int32Array, io: Int32Array): number {
  const page = snap.page;
  const shift = snap.shift;
  const need = snap.need;
  let qTail = io[0];
  let greyed = 0;
  for (let i = 0; i < nc; i++) {
    const d = cand[i] >>> 0;
    let e = page[d >>> shift] & PAGE_INDEX_MASK;
    while (snap.endOf(e) <= d) e++;
    if (snap.startOf(e) > d) continue;
    const nd = need[e];
    if (nd === 0) continue;
    need[e] = nd - 1;
    if (nd === 1) {
      if (qTail < qCap) q[qTail++] = e;
      else pend[e >>> 5] |= 1 << (e & 31);
      greyed++;
      clearWhite(snap.whiteBits, snap.startOf(e), snap.endOf(e), snap.gshift);
    }
  }
  io[0] = qTail;
  return greyed;
}
