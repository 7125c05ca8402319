/**
 * Why: a program that allocates from deep recursion (a tree built recursively) has a distinct
 * calling context per allocation, and each new context costs a V8 stack capture (20-30 us). But
 * the context value can be run backwards. The rewriter (src/wasm/instrument/pcc.ts) keeps
 * `CTX = 3 * E + CS(site)` before each instrumented call, E the CTX the calling function was
 * entered with and CS a constant of the call instruction's ORIGINAL offset; 3 is odd, so
 * E = (CTX - CS) * INV3 mod 2^64. A captured stack r0 (top) .. rk therefore tells the entry
 * context E_i of every frame's function, and the frames below it (r_{i+1} ..). For a new context
 * C, this solver guesses the top few call sites (from call edges already seen in captures),
 * inverts, and looks the result up among the remembered entry contexts: a hit gives the
 * backtrace as the guessed frames over the remembered ones, with no capture. A miss costs a
 * bounded search and the caller captures as before.
 *
 * Exactness (the result must equal what the capture would give):
 * - Frame positions: V8 reports a calling frame at its call instruction's first byte; the offset
 *   map sends that byte to the original instruction's start (the rewriter copies the opcode with
 *   a linear map entry), which is the offset callSiteHalves hashed. This is not assumed but
 *   checked on every capture learned from: the capture must be complete (V8 returned fewer call
 *   sites than its limit), contiguous (no JS or detector frame between the first and the last
 *   wasm frame, i.e. no import calling back into the module) and inverting every frame down to
 *   the bottom must give 0, the context an export trampoline starts from. Any other capture
 *   teaches nothing.
 * - Remembered suffixes point into depot traces (handle, start frame). A stored trace shorter
 *   than `keep` is complete (learned only from complete captures, or built from complete
 *   suffixes); one of `keep` frames may have been cut, so it is used only when the guessed frames
 *   plus its known frames reach `keep`: the result is then the same first `keep` frames.
 * - Allocator frames at the top are stripped from guessed frames exactly as StackCapture strips
 *   them (the leading run for which `hidden` holds); start-up classification is done by the
 *   caller on the final frames, as for a capture; trace depth 0 never gets here.
 * - A guessed frame's caller must be a call edge seen in some capture (the bottom guessed frame's
 *   caller is checked against the remembered suffix's top frame the same way).
 * - Hash collisions: the context cache already assumes distinct 64-bit values for distinct call
 *   paths. A hit here is a path whose context equals C; it is wrong only if a guessed path
 *   collides with the true one: about (nodes searched x entries remembered) / 2^64 per search
 *   (2^9 x 2^18 / 2^64 = 2^-37), the same argument. Like the cache, it also relies on the
 *   rewriter's invariant that every frame between an export's entry and the reporting wrapper is
 *   an instrumented call site.
 *
 * Invariants: no BigInt; 64-bit values are (lo, hi) u32 pairs; the search uses preallocated typed
 * arrays (at most NODE_BUDGET nodes, MAX_LEVELS guessed frames); only misses get here.
 */
import { callSiteHalves } from '../instrument/pcc.js';
import { ContextCache } from './context-cache.js';
import type { DepotPort } from './engine-port.js';

/** Guessed frames at most (the tree: make, build, build's recursive call = 3). */
export const MAX_LEVELS = 4;
/** Search nodes (inversions and lookups) at most per unknown context. */
export const NODE_BUDGET = 512;
/** After this many searches, a hit rate below 1/16 switches the solver off (nothing recursive). */
const TRIAL_SEARCHES = 1024;

const INV3_LO = 0xaaaaaaab, INV3_HI = 0xaaaaaaaa;
const TWO32 = 4294967296;

/** (hi:lo) * INV3 mod 2^64 into out[0] (lo), out[1] (hi): exact with doubles below 2^53. */
export function mulInv3(lo: number, hi: number, out: Uint32Array): void {
  const a0 = lo & 0xffff, a1 = lo >>> 16;
  const b0 = INV3_LO & 0xffff, b1 = INV3_LO >>> 16;
  const mid = a0 * b1 + a1 * b0;                      // < 2^33
  const low = a0 * b0 + (mid % 65536) * 65536;        // < 2^33
  const carry = Math.floor(low / TWO32);
  const high = a1 * b1 + Math.floor(mid / 65536) + carry;
  out[0] = low >>> 0;
  out[1] = (high + Math.imul(lo, INV3_HI) + Math.imul(hi, INV3_LO)) >>> 0;
}

/** The entry context of the function whose call site `cs` made context (lo, hi). */
export function invertStep(lo: number, hi: number, csLo: number, csHi: number, out: Uint32Array): void {
  const d = lo - csLo;
  const borrow = d < 0 ? 1 : 0;
  mulInv3(d >>> 0, (hi - csHi - borrow) >>> 0, out);
}

/** A capture's wasm frames in the original numbering, allocator frames included (StackCapture fills it). */
export class RawChain {
  readonly words: Uint32Array;
  count = 0;
  /** V8 returned fewer call sites than asked: the whole stack is here. */
  complete = false;
  /** A JS or detector frame sat between two original frames (an import called back). */
  gap = false;
  private pending = false;

  constructor(maxFrames: number) { this.words = new Uint32Array(2 * maxFrames); }

  reset(complete: boolean): void { this.count = 0; this.complete = complete; this.gap = false; this.pending = false; }
  /** A frame that is not an original wasm frame. */
  skipped(): void { if (this.count > 0) this.pending = true; }
  push(funcIndex: number, offset: number): void {
    if (2 * this.count >= this.words.length) { this.complete = false; return; }
    if (this.pending) this.gap = true;
    this.words[2 * this.count] = funcIndex;
    this.words[2 * this.count + 1] = offset;
    this.count++;
  }
}

const START_BITS = 5;        // start frame in an entry's value: 0..keep (<= 16)
const MAX_HANDLE = 2 ** (32 - START_BITS) - 2;

export class ContextSolver {
  /** Entry context -> (handle << START_BITS) | start: the frames below are frames(handle)[start..]. */
  private readonly entries = new ContextCache(4096);
  // Call sites seen in captures: function, original offset, call-site constant.
  private siteFunc: number[] = [];
  private siteOff: number[] = [];
  private siteCsLo: number[] = [];
  private siteCsHi: number[] = [];
  private readonly siteId = new Map<number, number>();
  /** Sites seen at the top of a capture (the allocator's callers). */
  private readonly tops: number[] = [];
  private readonly topSeen = new Set<number>();
  /** Callee function -> sites seen calling it. */
  private readonly callers = new Map<number, number[]>();
  private readonly edgeSeen = new Set<string>();
  // The search: one node per (inverted value, guessed site).
  private readonly nLo = new Uint32Array(NODE_BUDGET);
  private readonly nHi = new Uint32Array(NODE_BUDGET);
  private readonly nSite = new Int32Array(NODE_BUDGET);
  private readonly nParent = new Int32Array(NODE_BUDGET);
  private readonly tmp = new Uint32Array(2);
  private readonly cs = new Uint32Array(2);
  private readonly guess = new Int32Array(MAX_LEVELS);
  // The last solve's guessed frames, with their entry contexts, for commit().
  private pendingCount = 0;
  private pendingHidden = 0;
  private pendingNode = -1;
  private searches = 0;
  private hits = 0;
  /** False once the solver has given up (too few hits to pay for the searches). */
  active = true;

  constructor(
    private readonly depot: DepotPort,
    /** Frames kept per trace, 1..16. */
    private readonly keep: number,
    /** Whether an original frame is allocator code (hidden in the leading run at the top). */
    private readonly hidden: (funcIndex: number, offset: number) => boolean,
  ) {}

  /** Entry contexts remembered (for tests). */
  get remembered(): number { return this.entries.size; }

  private site(func: number, off: number): number {
    const key = func * TWO32 + off;
    let id = this.siteId.get(key);
    if (id === undefined) {
      id = this.siteFunc.length;
      callSiteHalves(off, this.cs);
      this.siteFunc.push(func); this.siteOff.push(off); this.siteCsLo.push(this.cs[0]!); this.siteCsHi.push(this.cs[1]!);
      this.siteId.set(key, id);
    }
    return id;
  }

  private edge(caller: number, callee: number): void {
    const key = `${caller}:${callee}`;
    if (this.edgeSeen.has(key)) return;
    this.edgeSeen.add(key);
    let list = this.callers.get(callee);
    if (!list) this.callers.set(callee, (list = []));
    list.push(caller);
  }

  private remember(lo: number, hi: number, handle: number, start: number): void {
    if (handle > MAX_HANDLE || this.entries.get(lo, hi) >= 0) return;
    this.entries.set(lo, hi, handle * (1 << START_BITS) + start);
  }

  /**
   * Learns from a capture of context (lo, hi): `chain` is every original frame, `handle` the
   * depot trace the capture saved (its first `keep` visible frames).
   */
  learn(lo: number, hi: number, chain: RawChain, handle: number): void {
    if (!this.active || !chain.complete || chain.gap || chain.count === 0) return;
    const w = chain.words;
    const n = chain.count;
    // Prove the chain first: inverting every frame must end at an export's entry context, 0.
    let eLo = lo >>> 0, eHi = hi >>> 0;
    for (let i = 0; i < n; i++) {
      callSiteHalves(w[2 * i + 1]!, this.cs);
      invertStep(eLo, eHi, this.cs[0]!, this.cs[1]!, this.tmp);
      eLo = this.tmp[0]!; eHi = this.tmp[1]!;
    }
    if (eLo !== 0 || eHi !== 0) return;
    let h = 0;
    while (h < n && this.hidden(w[2 * h]!, w[2 * h + 1]!)) h++;
    const stored = this.depot.frames(handle).length >>> 1;
    if (stored !== Math.min(this.keep, n - h)) return;   // not the trace of this chain
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(this.site(w[2 * i]!, w[2 * i + 1]!));
    if (!this.topSeen.has(ids[0]!)) { this.topSeen.add(ids[0]!); this.tops.push(ids[0]!); }
    for (let i = 0; i + 1 < n; i++) this.edge(ids[i + 1]!, w[2 * i]!);
    eLo = lo >>> 0; eHi = hi >>> 0;
    for (let i = 0; i < n; i++) {
      invertStep(eLo, eHi, this.siteCsLo[ids[i]!]!, this.siteCsHi[ids[i]!]!, this.tmp);
      eLo = this.tmp[0]!; eHi = this.tmp[1]!;
      const start = i + 1 - h;   // frames below function i, in the stored trace
      if (start > stored) break;
      if (start >= 0) this.remember(eLo, eHi, handle, start);
    }
  }

  /**
   * The backtrace of context (lo, hi) as (funcIndex, offset) pairs in `out`, or -1 when the
   * search finds nothing provable. After a hit, call commit() with the handle the frames got.
   */
  solve(lo: number, hi: number, out: Uint32Array): number {
    this.pendingNode = -1;
    if (!this.active || this.tops.length === 0) return -1;
    this.searches++;
    if (this.searches >= TRIAL_SEARCHES && this.hits * 16 < this.searches) { this.active = false; return -1; }
    let nodes = 0;
    for (let t = 0; t < this.tops.length && nodes < NODE_BUDGET; t++) {
      const r = this.visit(nodes++, lo >>> 0, hi >>> 0, this.tops[t]!, -1, out);
      if (r >= 0) return r;
    }
    // Each further level guesses the caller of a node of the level above.
    let levelStart = 0, levelEnd = nodes;
    for (let level = 1; level < MAX_LEVELS && levelStart < levelEnd; level++) {
      for (let p = levelStart; p < levelEnd && nodes < NODE_BUDGET; p++) {
        const list = this.callers.get(this.siteFunc[this.nSite[p]!]!);
        if (!list) continue;
        for (let c = 0; c < list.length && nodes < NODE_BUDGET; c++) {
          const r = this.visit(nodes++, this.nLo[p]!, this.nHi[p]!, list[c]!, p, out);
          if (r >= 0) return r;
        }
      }
      levelStart = levelEnd;
      levelEnd = nodes;
    }
    return -1;
  }

  /** Makes node `k` (site `s` below parent `p`, from context (lo, hi)); the trace on a provable hit. */
  private visit(k: number, lo: number, hi: number, s: number, p: number, out: Uint32Array): number {
    invertStep(lo, hi, this.siteCsLo[s]!, this.siteCsHi[s]!, this.tmp);
    const eLo = this.tmp[0]!, eHi = this.tmp[1]!;
    this.nLo[k] = eLo; this.nHi[k] = eHi; this.nSite[k] = s; this.nParent[k] = p;
    const v = this.entries.get(eLo, eHi);
    if (v < 0) return -1;
    return this.build(k, v, out);
  }

  private build(k: number, v: number, out: Uint32Array): number {
    const handle = Math.floor(v / (1 << START_BITS));
    const start = v % (1 << START_BITS);
    const below = this.depot.frames(handle);
    const belowCount = (below.length >>> 1) - start;
    if (belowCount < 0) return -1;
    const complete = below.length >>> 1 < this.keep;
    // Guessed frames, top first.
    let m = 0;
    for (let j = k; j >= 0; j = this.nParent[j]!) this.guess[m++] = this.nSite[j]!;
    this.guess.subarray(0, m).reverse();
    const bottomFunc = this.siteFunc[this.guess[m - 1]!]!;
    // The remembered caller must be a call edge into the bottom guessed function.
    if (belowCount > 0) {
      const id = this.siteId.get(below[2 * start]! * TWO32 + below[2 * start + 1]!);
      const list = this.callers.get(bottomFunc);
      if (id === undefined || !list || list.indexOf(id) < 0) return -1;
    }
    let h = 0;
    while (h < m && this.hidden(this.siteFunc[this.guess[h]!]!, this.siteOff[this.guess[h]!]!)) h++;
    let skipBelow = 0;
    if (h === m) while (skipBelow < belowCount && this.hidden(below[2 * (start + skipBelow)]!, below[2 * (start + skipBelow) + 1]!)) skipBelow++;
    const total = m - h + belowCount - skipBelow;
    if (!complete && total < this.keep) return -1;   // frames past the remembered ones are unknown
    const n = Math.min(total, this.keep, out.length >>> 1);
    let o = 0;
    for (let j = h; j < m && o < n; j++, o++) {
      out[2 * o] = this.siteFunc[this.guess[j]!]!;
      out[2 * o + 1] = this.siteOff[this.guess[j]!]!;
    }
    for (let j = start + skipBelow; o < n; j++, o++) {
      out[2 * o] = below[2 * j]!;
      out[2 * o + 1] = below[2 * j + 1]!;
    }
    this.pendingNode = k;
    this.pendingCount = m;
    this.pendingHidden = h;
    this.hits++;
    return n;
  }

  /** Remembers the entry contexts of the last solve's guessed frames, now saved as `handle`. */
  commit(handle: number): void {
    if (this.pendingNode < 0) return;
    const stored = this.depot.frames(handle).length >>> 1;
    // Node j of the chain is guessed frame (m-1-depth); its value is the entry context of that frame's function.
    let i = this.pendingCount - 1;
    for (let j = this.pendingNode; j >= 0; j = this.nParent[j]!, i--) {
      const start = i + 1 - this.pendingHidden;
      if (start >= 0 && start <= stored) this.remember(this.nLo[j]!, this.nHi[j]!, handle, start);
    }
    this.pendingNode = -1;
  }
}
