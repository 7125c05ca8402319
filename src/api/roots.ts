/**
 * Root regions registered from JS (LeakSanitizer's __lsan_register_root_region): a pointer kept
 * only in a JS variable (sql.js keeps its `sqlite3*` in a Database object, tree-sitter its trees
 * in Tree objects) is invisible to any scan, since scans read wasm memory only. Registering
 * [ptr, ptr + len) makes that region a root: it is scanned at every scan like static data, and,
 * because the host holds it, the block it lies in counts as referenced.
 *
 * Invariants: regions are kept sorted by start with one entry per start address (registering
 * the same start again replaces its length, as LSan does not; see the API docs); the provider
 * allocates nothing per scan; zero-length regions only hold their block.
 */

export interface RootRegion {
  start: number;
  end: number;
}

export class RootRegistry {
  private starts: number[] = [];
  private ends: number[] = [];

  get size(): number {
    return this.starts.length;
  }

  /** Registers [ptr, ptr + len). Addresses are u32; the end is clipped to 2^32. */
  register(ptr: number, len: number): void {
    const start = ptr >>> 0;
    const end = Math.min(start + Math.max(0, Math.floor(len)), 0x1_0000_0000);
    const i = this.find(start);
    if (i < this.starts.length && this.starts[i] === start) {
      this.ends[i] = end;
      return;
    }
    this.starts.splice(i, 0, start);
    this.ends.splice(i, 0, end);
  }

  /** Removes the region that starts at ptr; returns whether there was one. */
  unregister(ptr: number): boolean {
    const start = ptr >>> 0;
    const i = this.find(start);
    if (i >= this.starts.length || this.starts[i] !== start) return false;
    this.starts.splice(i, 1);
    this.ends.splice(i, 1);
    return true;
  }

  clear(): void {
    this.starts = [];
    this.ends = [];
  }

  list(): RootRegion[] {
    return this.starts.map((s, i) => ({ start: s, end: this.ends[i]! }));
  }

  /** Calls add(start, end) for each non-empty region. */
  forEachRange(add: (start: number, end: number) => void): void {
    for (let i = 0; i < this.starts.length; i++) {
      const e = this.ends[i]!;
      if (e > this.starts[i]!) add(this.starts[i]!, e);
    }
  }

  /** Calls hold(start) for each region (the address the host holds). */
  forEachStart(hold: (ptr: number) => void): void {
    for (let i = 0; i < this.starts.length; i++) hold(this.starts[i]!);
  }

  private find(start: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
