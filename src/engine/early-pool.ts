/**
 * The early pool: hook calls that arrive before the detector can read memory (during
 * instantiation, in a start function) are recorded here and replayed in order when memory is
 * attached, as kmemleak's early log does before kmemleak_init().
 *
 * Invariants: at most `capacity` operations are kept (typed arrays allocated on first use); an
 * operation is recorded with the context and time it happened at, so replay recreates the objects
 * as they were. `push` returning false means the pool is full: the caller disables the detector.
 */

export const OP_ALLOC = 1;
export const OP_FREE = 2;
export const OP_FREE_PART = 3;
export const OP_NOT_LEAK = 4;
export const OP_TRANSIENT_LEAK = 5;
export const OP_IGNORE = 6;
export const OP_NO_SCAN = 7;
export const OP_SCAN_AREA = 8;
export const OP_UPDATE_TRACE = 9;

export type EarlyOpHandler = (op: number, a: number, b: number, c: number, d: number, ctx: number, time: number) => void;

export class EarlyPool {
  private op = new Uint8Array(0);
  private a = new Uint32Array(0);
  private b = new Uint32Array(0);
  private c = new Int32Array(0);
  private d = new Uint32Array(0);
  private ctx = new Uint16Array(0);
  private time = new Uint32Array(0);
  length = 0;

  constructor(readonly capacity: number) {}

  push(op: number, a: number, b: number, c: number, d: number, ctx: number, time: number): boolean {
    const i = this.length;
    if (i >= this.capacity) return false;
    if (i === this.op.length) this.grow();
    this.op[i] = op;
    this.a[i] = a;
    this.b[i] = b;
    this.c[i] = c;
    this.d[i] = d;
    this.ctx[i] = ctx;
    this.time[i] = time;
    this.length = i + 1;
    return true;
  }

  private grow(): void {
    const cap = Math.min(this.capacity, Math.max(256, this.op.length * 2));
    const re = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(old: T, next: T): T => {
      next.set(old);
      return next;
    };
    this.op = re(this.op, new Uint8Array(cap));
    this.a = re(this.a, new Uint32Array(cap));
    this.b = re(this.b, new Uint32Array(cap));
    this.c = re(this.c, new Int32Array(cap));
    this.d = re(this.d, new Uint32Array(cap));
    this.ctx = re(this.ctx, new Uint16Array(cap));
    this.time = re(this.time, new Uint32Array(cap));
  }

  /** Hands every recorded operation, in order, to `fn`, then empties the pool. */
  replay(fn: EarlyOpHandler): void {
    for (let i = 0; i < this.length; i++) {
      fn(this.op[i], this.a[i], this.b[i], this.c[i], this.d[i], this.ctx[i], this.time[i]);
    }
    this.clear();
  }

  clear(): void {
    this.length = 0;
    this.op = new Uint8Array(0);
    this.a = new Uint32Array(0);
    this.b = new Uint32Array(0);
    this.c = new Int32Array(0);
    this.d = new Uint32Array(0);
    this.ctx = new Uint16Array(0);
    this.time = new Uint32Array(0);
  }
}
