/*
 * The scanner's flood in WebAssembly (SIMD): kmemleak's marking loop, run inside the program's own
 * linear memory so that the heap is read in place. flood-kernel.ts lays out the state in a scratch
 * region of that memory (one no object or root covers, saved and restored around the run) and is
 * the only caller. Built by scripts/build-flood-kernel.mjs into flood-wasm.ts; see there for the
 * checks on the output.
 *
 * Rules (the module shares the program's memory):
 * - No data segment, no globals, no stack: everything lives in the Ctx and the arrays it names,
 *   all inside the scratch region. The build script fails if the output has any of them.
 * - The heap is only read, and only the aligned words of the ranges and entries it is asked to
 *   scan, below memWords.
 *
 * The algorithm is scanner.ts's (see its invariants): words are filtered (min/max, then the white
 * bitmap) into a candidate batch; a batch is bucketed by address and resolved against the entry
 * index (entries of three words [start, end, need], offsets from lo; a page table gives the
 * first entry to try). An entry whose need drops to 0 turns grey: it is queued and its granules
 * leave the white bitmap. Each new generation of the queue is sorted into address order, and the
 * objects just ahead are touched in a burst so their cache misses overlap.
 */
/* Words per entry: start, end (offsets from lo, end exclusive), need (with the flags below). */
#define E 3
typedef unsigned int u32;
#include <wasm_simd128.h>

#define PAGE_INDEX_MASK ((1u << 26) - 1)
/* ent[k + 2]: the low byte is need; the host sets these bits for entries the kernel must not scan
   (NO_SCAN: kmemleak's no_scan, or freed) or must hand back (AREAS: scanned by its areas). */
#define NEED_MASK 0xffu
#define NEED_NO_SCAN 0x100u
#define NEED_AREAS 0x200u
/* Words filtered per step (the stage buffer holds one step's in-range words). */
#define CHUNK 4096
#define BUCKET_BITS 12
#define SORT_MIN 64
#define QUEUE_RADIX_BITS 11
/* Read-ahead burst: the next TOUCH_OBJECTS queued objects, up to TOUCH_LINES cache lines each. */
#define TOUCH_OBJECTS 32
#define TOUCH_LINES 8

/* Field order is flood-kernel.ts's C_* constants (the u32 index of each field). */
typedef struct {
  u32 lo, span, shift, gshift;
  u32 *ent, *page, *bits, *queue;
  u32 qHead, qTail, whites, memWords;
  u32 special;
  const u32 *heap; /* 0: the memory's start, opaque to the compiler */
  u32 sortedTo, nEnt;
  u32 *sortBits, *counts;
  u32 *stage, *cand, *candSorted;
  u32 nCand, candCap;
  const v128_t *shuf;
  u32 top, sink, touchedTo;
} Ctx;

/*
 * Sorts queue[from, to) (distinct entry indices < nEnt) ascending. A dense segment (at least
 * 1/256 of all entries) goes through a bitmap of entry indices: set, then read back in order
 * (cleared as it is read). A sparser one is radix sorted through candSorted, which is free outside
 * resolve() and at least as long (candCap >= min(nEnt, 256K) >= nEnt / 256 for nEnt < 64M).
 */
static void sort_segment(Ctx *c, u32 from, u32 to) {
  u32 *q = c->queue;
  u32 sorted = 1;
  for (u32 i = from + 1; i < to; i++) {
    if (q[i] < q[i - 1]) { sorted = 0; break; }
  }
  if (sorted) return;
  u32 n = to - from;
  if ((unsigned long long)n * 256 >= c->nEnt) {
    u32 *bm = c->sortBits, lo = ~0u, hi = 0;
    for (u32 i = from; i < to; i++) {
      u32 v = q[i];
      bm[v >> 5] |= 1u << (v & 31);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    u32 o = from;
    for (u32 w = lo >> 5; w <= hi >> 5; w++) {
      u32 x = bm[w];
      bm[w] = 0;
      while (x) {
        q[o++] = (w << 5) + __builtin_ctz(x);
        x &= x - 1;
      }
    }
    return;
  }
  u32 *counts = c->counts;
  u32 bits = 1;
  while (bits < 32 && (c->nEnt >> bits) != 0) bits++;
  u32 passes = (bits + QUEUE_RADIX_BITS - 1) / QUEUE_RADIX_BITS;
  u32 per = (bits + passes - 1) / passes, mask = (1u << per) - 1;
  u32 *a = q + from, *b = c->candSorted;
  for (u32 p = 0; p < passes; p++) {
    u32 sh = p * per;
    for (u32 d = 0; d <= mask; d++) counts[d] = 0;
    for (u32 i = 0; i < n; i++) counts[(a[i] >> sh) & mask]++;
    u32 sum = 0;
    for (u32 d = 0; d <= mask; d++) { u32 x = counts[d]; counts[d] = sum; sum += x; }
    for (u32 i = 0; i < n; i++) { u32 v = a[i]; b[counts[(v >> sh) & mask]++] = v; }
    u32 *t = a; a = b; b = t;
  }
  if (a != q + from) for (u32 i = 0; i < n; i++) q[from + i] = a[i];
}

/* The entry [st, end) stopped being white: clear the granules entirely inside it. */
static inline void clear_white(u32 *bits, u32 st, u32 end, u32 gshift) {
  u32 g1 = end >> gshift;
  u32 g = (st >> gshift) + ((st & ((1u << gshift) - 1)) != 0);
  for (; g < g1; g++) bits[g >> 5] &= ~(1u << (g & 31));
}

/* Counts the pending candidates (bucketed by address first when there are many). */
static void resolve(Ctx *c) {
  u32 nc = c->nCand;
  if (nc == 0) return;
  c->nCand = 0;
  u32 *cand = c->cand;
  if (nc >= 256) {
    u32 *counts = c->counts, *out = c->candSorted, top = c->top;
    for (u32 b = 0; b < (1u << BUCKET_BITS); b++) counts[b] = 0;
    for (u32 i = 0; i < nc; i++) counts[cand[i] >> top]++;
    u32 sum = 0;
    for (u32 b = 0; b < (1u << BUCKET_BITS); b++) { u32 x = counts[b]; counts[b] = sum; sum += x; }
    for (u32 i = 0; i < nc; i++) { u32 d = cand[i]; out[counts[d >> top]++] = d; }
    cand = out;
  }
  u32 *ent = c->ent, *page = c->page, *q = c->queue, *bits = c->bits;
  u32 shift = c->shift, gshift = c->gshift, qTail = c->qTail, q0 = qTail;
  for (u32 i = 0; i < nc; i++) {
    u32 d = cand[i];
    u32 e = page[d >> shift] & PAGE_INDEX_MASK;
    u32 *p = ent + E * e;
    while (p[1] <= d) p += E, e++;
    if (p[0] > d) continue;
    u32 need = p[2];
    if ((need & NEED_MASK) == 0) continue;
    p[2] = need - 1;
    if ((need & NEED_MASK) == 1) {
      q[qTail++] = e;
      clear_white(bits, p[0], p[1], gshift);
    }
  }
  c->whites -= qTail - q0;
  c->qTail = qTail;
}

/*
 * Words [w, we), at most CHUNK of them: the offsets in [0, span) are compacted into stage without
 * a branch (a swizzle per four words, from the shuf table), then those whose granule is white
 * are appended to the candidates, again without a branch.
 */
static void collect(Ctx *c, u32 w, u32 we) {
  const u32 *heap = c->heap;
  const u32 lo = c->lo, span = c->span;
  u32 *stage = c->stage;
  const v128_t *shuf = c->shuf;
  v128_t vlo = wasm_i32x4_splat((int)lo), vspan = wasm_i32x4_splat((int)span);
  u32 ns = 0;
  for (; w + 8 <= we; w += 8) {
    v128_t da = wasm_i32x4_sub(wasm_v128_load(heap + w), vlo);
    v128_t db = wasm_i32x4_sub(wasm_v128_load(heap + w + 4), vlo);
    u32 ba = wasm_i32x4_bitmask(wasm_u32x4_lt(da, vspan));
    u32 bb = wasm_i32x4_bitmask(wasm_u32x4_lt(db, vspan));
    wasm_v128_store(stage + ns, wasm_i8x16_swizzle(da, shuf[ba]));
    ns += __builtin_popcount(ba);
    wasm_v128_store(stage + ns, wasm_i8x16_swizzle(db, shuf[bb]));
    ns += __builtin_popcount(bb);
  }
  for (; w < we; w++) {
    u32 d = heap[w] - lo;
    stage[ns] = d;
    ns += d < span;
  }
  u32 *bits = c->bits, *cand = c->cand, nc = c->nCand, gshift = c->gshift;
  for (u32 i = 0; i < ns; i++) {
    u32 d = stage[i], g = d >> gshift;
    cand[nc] = d;
    nc += (bits[g >> 5] >> (g & 31)) & 1;
  }
  c->nCand = nc;
}

static void scan_words(Ctx *c, u32 w, u32 we) {
  while (w < we) {
    if (c->candCap - c->nCand < CHUNK) resolve(c);
    u32 e = we - w > CHUNK ? w + CHUNK : we;
    collect(c, w, e);
    w = e;
  }
}

/* The word index past an entry's last whole word: its end, lo + end (up to 2^32), divided by 4. */
static inline u32 end_word(const Ctx *c, const u32 *p) {
  return (u32)(((unsigned long long)p[1] + c->lo) >> 2);
}

/* Loads one word of each of the first TOUCH_LINES lines of the next queued objects, in a burst. */
static void touch_ahead(Ctx *c) {
  u32 lim = c->qHead + TOUCH_OBJECTS;
  if (lim > c->sortedTo) lim = c->sortedTo;
  const u32 *ent = c->ent, *heap = c->heap;
  u32 s = 0;
  for (u32 j = c->qHead; j < lim; j++) {
    const u32 *p = ent + E * c->queue[j];
    /* In words: a byte address (an end of 2^32, memWords << 2 of a 4 GiB memory) does not fit a u32. */
    u32 a = ((p[0] + c->lo) & ~63u) >> 2, b = end_word(c, p);
    if (b > c->memWords) b = c->memWords;
    for (u32 x = a, n = 0; x < b && n < TOUCH_LINES; x += 16, n++) s += heap[x];
  }
  c->sink += s;
  c->touchedTo = lim;
}

/* Fills the swizzle table and the bucket shift; the host has written every other field. */
__attribute__((export_name("init")))
void init(Ctx *c) {
  u32 *t = (u32 *)c->shuf;
  for (u32 m = 0; m < 16; m++) {
    u32 o = 0;
    for (u32 i = 0; i < 4; i++) {
      if (m & (1u << i)) t[m * 4 + o++] = (4 * i) | ((4 * i + 1) << 8) | ((4 * i + 2) << 16) | ((4 * i + 3) << 24);
    }
    for (; o < 4; o++) t[m * 4 + o] = 0x80808080u;
  }
  /* span >> top < 2^BUCKET_BITS; top stops at 20 (a shift by 32 is not a shift). */
  u32 top = 0;
  while (top < 32 - BUCKET_BITS && c->span > (1u << (top + BUCKET_BITS))) top++;
  c->top = top;
}

/* Sets the white bitmap (zeroed by the host) from the entries' need: every granule a white entry overlaps. */
__attribute__((export_name("whiten")))
void whiten(Ctx *c) {
  u32 *ent = c->ent, *bits = c->bits, gshift = c->gshift;
  for (u32 k = 0; k < c->nEnt * E; k += E) {
    if ((ent[k + 2] & NEED_MASK) == 0) continue;
    u32 last = (ent[k + 1] - 1) >> gshift;
    for (u32 g = ent[k] >> gshift; g <= last; g++) bits[g >> 5] |= 1u << (g & 31);
  }
}

/* Scans the words [ws, we) (a root, or a scan area) and counts what they reference. */
__attribute__((export_name("scan_range")))
void scan_range(Ctx *c, u32 ws, u32 we) {
  if (we > c->memWords) we = c->memWords;
  if (ws < we) scan_words(c, ws, we);
  resolve(c);
}

/*
 * Scans queued grey entries until the queue is empty (returns 0) or an entry with scan areas comes
 * up (returns 1, the entry in c->special: the host scans its areas and calls flood again).
 */
__attribute__((export_name("flood")))
u32 flood(Ctx *c) {
  u32 *ent = c->ent;
  for (;;) {
    if (c->qHead == c->qTail) {
      if (c->nCand == 0) return 0;
      resolve(c);
      continue;
    }
    if (c->qHead >= c->sortedTo) {
      if (c->qTail - c->qHead >= SORT_MIN) sort_segment(c, c->qHead, c->qTail);
      c->sortedTo = c->qTail;
      c->touchedTo = c->qHead;
    }
    if (c->qHead >= c->touchedTo) touch_ahead(c);
    u32 e = c->queue[c->qHead++];
    const u32 *p = ent + E * e;
    u32 need = p[2];
    if (need & NEED_NO_SCAN) continue;
    if (need & NEED_AREAS) {
      resolve(c);
      c->special = e;
      return 1;
    }
    u32 st = p[0] + c->lo;
    u32 ws = (st >> 2) + ((st & 3) != 0), we = end_word(c, p);
    if (we > c->memWords) we = c->memWords;
    if (ws < we) scan_words(c, ws, we);
  }
}
