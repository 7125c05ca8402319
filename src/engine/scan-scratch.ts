/**
 * Memory lent to one scan (issue 12, peak memory at 10M objects): typed arrays carved out of
 * buffers whose pages are already resident, else new ones. The exit scan borrows the exact-start
 * index's arrays (ExactIndex.lend: the index is rebuilt from the table if anything needs it
 * again), so its own address index, queue and candidate batches cost little or no memory on top
 * of what the program's end already holds.
 *
 * Invariants:
 * - Every array handed out is zero-filled and overlaps no other one handed out by this scratch.
 * - Regions are taken best fit (the smallest free region that holds the request), so requests
 *   made largest first pack well; a request no region holds gets a new array.
 * - The lent buffers must not be used by their owner while any array from here is in use (the
 *   owner forgot them in lend()); the holder drops its arrays when the scan ends.
 */

/** Regions smaller than this are not worth keeping. */
const MIN_REGION = 4096;

export class ScanScratch {
  private readonly regions: { buf: ArrayBufferLike; at: number; end: number }[] = [];
  /** Bytes handed out from lent regions (for the benchmark's breakdown). */
  reused = 0;

  constructor(lent: readonly Uint32Array[] = []) {
    for (const a of lent) {
      if (a.byteLength >= MIN_REGION) this.regions.push({ buf: a.buffer, at: a.byteOffset, end: a.byteOffset + a.byteLength });
    }
  }

  u32(n: number): Uint32Array {
    const at = this.take(4 * n);
    return at ? new Uint32Array(at.buf, at.at, n).fill(0) : new Uint32Array(n);
  }

  i32(n: number): Int32Array {
    const at = this.take(4 * n);
    return at ? new Int32Array(at.buf, at.at, n).fill(0) : new Int32Array(n);
  }

  u8(n: number): Uint8Array {
    const at = this.take(n);
    return at ? new Uint8Array(at.buf, at.at, n).fill(0) : new Uint8Array(n);
  }

  /** The start of `bytes` bytes (8-aligned) in the smallest region that holds them, or null. */
  private take(bytes: number): { buf: ArrayBufferLike; at: number } | null {
    let best = -1;
    for (let i = 0; i < this.regions.length; i++) {
      const r = this.regions[i]!;
      const at = Math.ceil(r.at / 8) * 8;
      if (r.end - at < bytes) continue;
      if (best < 0 || r.end - r.at < this.regions[best]!.end - this.regions[best]!.at) best = i;
    }
    if (best < 0 || bytes === 0) return null;
    const r = this.regions[best]!;
    const at = Math.ceil(r.at / 8) * 8;
    r.at = at + bytes;
    if (r.end - r.at < MIN_REGION) this.regions.splice(best, 1);
    this.reused += bytes;
    return { buf: r.buf, at };
  }
}
