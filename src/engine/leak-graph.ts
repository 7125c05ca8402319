/**
 * The reported objects' own pointer graph, read from the heap after a scan, and what SPEC §7
 * derives from it: each object's kind (Valgrind's definitely / indirectly lost) and the retained
 * bytes of each direct object.
 *
 * - Edges: object i -> j when an aligned word of i (its scan areas only, if it has any; none if
 *   it is no_scan) holds an address inside j, j != i: the scan's own rules, restricted to
 *   reported objects. Each edge once. The heap is read once, for the reported objects only.
 * - Kind: an object some other reported object points to is indirect, the others direct; in a
 *   group that points only among itself (a strongly connected component with no edge from
 *   outside it: a cycle), the first allocated is direct. So the direct objects are the
 *   first-allocated members of the source components of the component graph.
 * - Owner and retained: each direct object, in allocation order, claims every object reachable
 *   from it that no earlier direct object claimed; retained[d] = size of d plus the sizes it
 *   claimed; retained is 0 for indirect objects. Every indirect object is reachable from some
 *   source component, so owners cover everything and retained sums to the total size.
 *
 * Invariants: index i is the i-th reported object in allocation order (the order of leaks());
 * everything is flat typed arrays (CSR edges: to[off[i] .. off[i+1])), no object per leak.
 * Addresses resolve through an index of the reported objects alone (sorted by start, with a page
 * table): memory in proportion to the leaks, not to the table (the scan's snapshot is released
 * after the exit scan, and a slot map of the whole table cost 4 bytes a slot at 10M objects).
 * Cost: O(table slots) to gather the reported objects, then O(reported bytes / 4 + edges): one
 * lookup per word inside the reported objects' address range. The component analysis runs only
 * when claiming from the objects nothing points to leaves some unclaimed (a lost cycle).
 */
import { F_ALLOCATED, F_HAS_AREAS, F_NO_SCAN, F_REPORTED, type ObjectTable } from './object-table.js';

export const KIND_DIRECT = 0;
export const KIND_INDIRECT = 1;

export interface LeakGraph {
  /** Number of reported objects. */
  readonly n: number;
  /** Table slots (only meaningful until the objects are freed). */
  readonly slots: Uint32Array;
  readonly start: Uint32Array;
  readonly size: Uint32Array;
  /** Stack-depot handles of the allocation backtraces. */
  readonly trace: Uint32Array;
  /** CSR offsets, n + 1 of them. */
  readonly off: Uint32Array;
  /** Edge targets (object indices). */
  readonly to: Uint32Array;
  /** KIND_DIRECT or KIND_INDIRECT. */
  readonly kind: Uint8Array;
  /** The direct object whose retained bytes count this one (itself when direct). */
  readonly owner: Uint32Array;
  /** Retained bytes of direct objects; 0 for indirect ones. */
  readonly retained: Float64Array;
  readonly direct: number;
  readonly indirect: number;
}

/** A graph of no objects (a report written when no check ran). */
export function emptyLeakGraph(): LeakGraph {
  const z = new Uint32Array(0);
  return {
    n: 0, slots: z, start: z, size: z, trace: z, off: new Uint32Array(1), to: z,
    kind: new Uint8Array(0), owner: z, retained: new Float64Array(0), direct: 0, indirect: 0,
  };
}

/**
 * Builds the graph of the table's reported, still unreferenced objects (what read() and leaks()
 * list), in allocation order, over `buffer`.
 */
export function buildLeakGraph(t: ObjectTable, buffer: ArrayBufferLike | null): LeakGraph {
  const slotArr = reportedInAllocationOrder(t);
  const n = slotArr.length;
  const start = new Uint32Array(n);
  const size = new Uint32Array(n);
  const trace = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const s = slotArr[i]!;
    start[i] = t.start[s]!;
    size[i] = t.size[s]!;
    trace[i] = t.trace[s]!;
  }
  const { off, to } = findEdges(t, slotArr, start, size, buffer);
  const owner = new Uint32Array(n);
  const retained = new Float64Array(n);
  // Without cycles among the unreached, the direct objects are those nothing points to, and
  // claiming from them covers everything: no component analysis is needed (a lost tree or list).
  let kind = notPointedTo(n, off, to);
  if (!claim(n, off, to, kind, size, owner, retained)) {
    kind = classify(n, off, to);
    claim(n, off, to, kind, size, owner, retained);
  }
  let direct = 0;
  for (let i = 0; i < n; i++) if (kind[i] === KIND_DIRECT) direct++;
  return { n, slots: slotArr, start, size, trace, off, to, kind, owner, retained, direct, indirect: n - direct };
}

/**
 * Slots of reported objects that are still white, in allocation order: creation sequence numbers
 * relative to the next one, sorted by an LSD radix sort (11-bit digits) unless already in order.
 */
function reportedInAllocationOrder(t: ObjectTable): Uint32Array {
  const { flags, count, minCount, seq } = t;
  const REPORTED = F_ALLOCATED | F_REPORTED;
  const next = t.nextSeq;
  let slots: Uint32Array = new Uint32Array(64);
  let keys: Uint32Array = new Uint32Array(64);
  let n = 0;
  let sorted = true;
  // One pass over the flags (a byte a slot): reported objects are few, or else the heap is.
  for (let s = 0, hi = t.hi; s < hi; s++) {
    if ((flags[s]! & REPORTED) !== REPORTED || count[s]! >= minCount[s]!) continue;
    if (n === slots.length) {
      slots = grow(slots);
      keys = grow(keys);
    }
    // Oldest first: the smallest (seq - next) mod 2^32.
    keys[n] = (seq[s]! - next) >>> 0;
    slots[n] = s;
    if (n > 0 && keys[n]! < keys[n - 1]!) sorted = false;
    n++;
  }
  slots = slots.subarray(0, n);
  keys = keys.subarray(0, n);
  if (sorted) return slots;
  let k2: Uint32Array = new Uint32Array(n);
  let s2: Uint32Array = new Uint32Array(n);
  const counts = new Uint32Array(1 << 11);
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(keys[i]! >>> shift) & 0x7ff]!++;
    let sum = 0;
    for (let b = 0; b < counts.length; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const d = counts[(keys[i]! >>> shift) & 0x7ff]!++;
      k2[d] = keys[i]!;
      s2[d] = slots[i]!;
    }
    [keys, k2] = [k2, keys];
    [slots, s2] = [s2, slots];
  }
  return slots;
}

/** Edges among the reported objects, each once, no self edges. */
function findEdges(
  t: ObjectTable,
  slots: Uint32Array,
  start: Uint32Array,
  size: Uint32Array,
  buffer: ArrayBufferLike | null,
): { off: Uint32Array; to: Uint32Array } {
  const n = slots.length;
  const off = new Uint32Array(n + 1);
  let to: Uint32Array = new Uint32Array(Math.max(16, n));
  let m = 0;
  if (n < 2 || !buffer) return { off, to: to.subarray(0, 0) };
  const resolve = byAddress(start, size);
  const [lo, span] = addressSpan(start, size);
  const words = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
  const memWords = words.length;
  const seen = new Int32Array(n).fill(-1);   // seen[j] === i: edge i -> j already kept
  const flags = t.flags;
  const scanWords = (i: number, ws: number, we: number): void => {
    if (we > memWords) we = memWords;
    for (let w = ws; w < we; w++) {
      const v = words[w]! >>> 0;
      if ((v - lo) >>> 0 >= span) continue;
      const j = resolve(v);
      if (j < 0 || j === i || seen[j] === i) continue;
      seen[j] = i;
      if (m === to.length) to = grow(to);
      to[m++] = j;
    }
  };
  for (let i = 0; i < n; i++) {
    off[i] = m;
    const s = slots[i]!;
    const f = flags[s]!;
    if (f & F_NO_SCAN) continue;
    const st = start[i]!;
    const list = f & F_HAS_AREAS ? t.areas.get(s) : undefined;
    if (list) {
      for (let k = 0; k + 1 < list.length; k += 2) scanWords(i, Math.ceil((st + list[k]!) / 4), Math.floor((st + list[k]! + list[k + 1]!) / 4));
    } else {
      scanWords(i, Math.ceil(st / 4), Math.floor((st + size[i]!) / 4));
    }
  }
  off[n] = m;
  return { off, to: to.subarray(0, m) };
}

/** [lowest start, span to the highest end] of the objects (an empty object counts one byte). */
function addressSpan(start: Uint32Array, size: Uint32Array): [number, number] {
  let lo = 0xffffffff;
  let hi = 0;
  for (let i = 0; i < start.length; i++) {
    if (start[i]! < lo) lo = start[i]!;
    const end = start[i]! + Math.max(1, size[i]!);
    if (end > hi) hi = end;
  }
  return [lo, hi - lo];
}

function grow(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * Address -> reported object index (or -1): the objects sorted by start (LSD radix on 11-bit
 * digits), then a page table of about one page per two objects giving the first object that ends
 * past each page's start, and a short walk from there (the objects are disjoint: live objects).
 */
function byAddress(start: Uint32Array, size: Uint32Array): (v: number) => number {
  const n = start.length;
  const [lo, span] = addressSpan(start, size);
  const idx = sortedByStart(start, n, lo);
  const st = new Float64Array(n);
  const en = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) {
    const i = idx[k]!;
    st[k] = start[i]! - lo;
    en[k] = start[i]! + Math.max(1, size[i]!) - lo;
  }
  en[n] = Infinity; // the walk's sentinel
  let shift = 2;
  while (shift < 31 && span / 2 ** shift > n / 2) shift++;
  const pages = Math.floor((span - 1) / 2 ** shift) + 1;
  const page = new Uint32Array(pages);
  for (let p = 0, k = 0; p < pages; p++) {
    const base = p * 2 ** shift;
    while (en[k]! <= base) k++;
    page[p] = k;
  }
  return (v) => {
    const d = (v - lo) >>> 0;
    if (d >= span) return -1;
    let k = page[Math.floor(d / 2 ** shift)]!;
    while (en[k]! <= d) k++;
    return k < n && st[k]! <= d ? idx[k]! : -1;
  };
}

/** Indices 0..n-1 sorted by start[i] (keys as offsets from lo; LSD radix, 11-bit digits). */
function sortedByStart(start: Uint32Array, n: number, lo: number): Uint32Array {
  let idx = new Uint32Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    idx[i] = i;
    if (i > 0 && start[i]! < start[i - 1]!) sorted = false;
  }
  if (sorted) return idx;
  let tmp = new Uint32Array(n);
  const counts = new Uint32Array(1 << 11);
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[((start[idx[k]!]! - lo) >>> shift) & 0x7ff]!++;
    let sum = 0;
    for (let b = 0; b < counts.length; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const i = idx[k]!;
      tmp[counts[((start[i]! - lo) >>> shift) & 0x7ff]!++] = i;
    }
    [idx, tmp] = [tmp, idx];
  }
  return idx;
}

/** Kinds when nothing is in a cycle: direct when no other reported object points to it. */
function notPointedTo(n: number, off: Uint32Array, to: Uint32Array): Uint8Array {
  const kind = new Uint8Array(n);
  for (let p = 0; p < off[n]!; p++) kind[to[p]!] = KIND_INDIRECT;
  return kind;
}

/**
 * Kinds: strongly connected components (Tarjan's algorithm, iterative); the first-allocated
 * member of each component with no edge from another component is direct, everything else
 * indirect.
 */
function classify(n: number, off: Uint32Array, to: Uint32Array): Uint8Array {
  const comp = components(n, off, to);
  let ncomp = 0;
  for (let i = 0; i < n; i++) if (comp[i]! + 1 > ncomp) ncomp = comp[i]! + 1;
  const entered = new Uint8Array(ncomp);
  for (let u = 0; u < n; u++) {
    for (let p = off[u]!; p < off[u + 1]!; p++) if (comp[to[p]!] !== comp[u]) entered[comp[to[p]!]!] = 1;
  }
  const kind = new Uint8Array(n).fill(KIND_INDIRECT);
  const led = new Uint8Array(ncomp);
  for (let i = 0; i < n; i++) {
    const c = comp[i]!;
    if (!entered[c] && !led[c]) {
      led[c] = 1;
      kind[i] = KIND_DIRECT;
    }
  }
  return kind;
}

/** comp[i]: the strongly connected component of object i (Tarjan, with explicit stacks). */
function components(n: number, off: Uint32Array, to: Uint32Array): Int32Array {
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const comp = new Int32Array(n).fill(-1);
  const stack = new Int32Array(n);
  const callNode = new Int32Array(n);
  const callEdge = new Uint32Array(n);
  let sp = 0;
  let counter = 0;
  let ncomp = 0;
  for (let r = 0; r < n; r++) {
    if (index[r] !== -1) continue;
    let csp = 0;
    index[r] = low[r] = counter++;
    stack[sp++] = r;
    callNode[csp] = r;
    callEdge[csp++] = off[r]!;
    while (csp > 0) {
      const v = callNode[csp - 1]!;
      const p = callEdge[csp - 1]!;
      if (p < off[v + 1]!) {
        callEdge[csp - 1] = p + 1;
        const w = to[p]!;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack[sp++] = w;
          callNode[csp] = w;
          callEdge[csp++] = off[w]!;
        } else if (comp[w] === -1 && index[w]! < low[v]!) {
          low[v] = index[w]!;   // w is on the stack: same component
        }
        continue;
      }
      csp--;
      if (low[v] === index[v]) {
        let x: number;
        do {
          x = stack[--sp]!;
          comp[x] = ncomp;
        } while (x !== v);
        ncomp++;
      }
      if (csp > 0) {
        const u = callNode[csp - 1]!;
        if (low[v]! < low[u]!) low[u] = low[v]!;
      }
    }
  }
  return comp;
}

/**
 * Owners and retained bytes: direct objects claim what they reach, in allocation order. False
 * when some object is left unclaimed (then the kinds missed a cycle: see buildLeakGraph).
 */
function claim(n: number, off: Uint32Array, to: Uint32Array, kind: Uint8Array, size: Uint32Array, owner: Uint32Array, retained: Float64Array): boolean {
  retained.fill(0);
  let claimed = 0;
  const UNCLAIMED = 0xffffffff;
  owner.fill(UNCLAIMED);
  for (let i = 0; i < n; i++) if (kind[i] === KIND_DIRECT) owner[i] = i;
  const queue = new Uint32Array(n);
  for (let d = 0; d < n; d++) {
    if (kind[d] !== KIND_DIRECT) continue;
    let total = size[d]!;
    let head = 0;
    let tail = 0;
    queue[tail++] = d;
    claimed++;
    while (head < tail) {
      const v = queue[head++]!;
      for (let p = off[v]!; p < off[v + 1]!; p++) {
        const w = to[p]!;
        if (owner[w] !== UNCLAIMED) continue;
        owner[w] = d;
        total += size[w]!;
        queue[tail++] = w;
        claimed++;
      }
    }
    retained[d] = total;
  }
  return claimed === n;
}
