/**
 * kmemleak's object->checksum, by table slot: the CRC32 of an object's content at the checksum
 * pass that last saw it white. Only objects a pass has checksummed have one (the table's
 * F_CSUM_VALID); every other object's checksum is 0, and is not stored.
 *
 * Why not a column of the table: the passes checksum white objects only, and those are few (a
 * program leaking 1% of 10M objects has 100K at its exit scan), but they lie on every page of a
 * 4-byte column (40 MB written at exit, at the run's peak of memory). So they are kept sparse, an
 * open-addressing hash slot -> CRC (16 bytes an entry at load <= 1/2), until they pass an eighth
 * of the table's capacity; then a column (4 bytes a slot) is cheaper and takes over for good.
 *
 * Invariants:
 * - Sparse: keys[i] is 0 (empty) or slot + 1; linear probing, no tombstones (deletion shifts the
 *   following entries back); at most half the buckets are used.
 * - Dense (`column` not null): column.length is the table's capacity; the hash is dropped.
 * - The owner deletes a slot's entry when its object dies or its checksum is reset, so that a
 *   reused slot never finds an old CRC (get() of a slot without an entry is 0).
 */

const GOLDEN = 0x9e3779b1 | 0;
const MIN_BITS = 6;

export class SlotChecksums {
  private keys = new Uint32Array(0);
  private vals = new Uint32Array(0);
  private bits = 0;
  private n = 0;
  private column: Uint32Array | null = null;

  get bytes(): number {
    return this.column ? this.column.byteLength : this.keys.byteLength + this.vals.byteLength;
  }

  /** The slot's checksum, 0 when it has none. */
  get(s: number): number {
    if (this.column) return this.column[s];
    const i = this.find(s);
    return i < 0 ? 0 : this.vals[i];
  }

  /** Sets the slot's checksum; `capacity` is the table's (a dense column is that long). */
  set(s: number, crc: number, capacity: number): void {
    if (this.column) {
      this.column[s] = crc;
      return;
    }
    if (this.n + 1 > capacity >>> 3 && capacity >= 1 << MIN_BITS) {
      this.toColumn(capacity);
      this.column![s] = crc;
      return;
    }
    if (2 * (this.n + 1) > this.keys.length) this.rehash(Math.max(MIN_BITS, this.bits + 1));
    const mask = this.keys.length - 1;
    const key = s + 1;
    for (let i = this.home(s); ; i = (i + 1) & mask) {
      const k = this.keys[i];
      if (k === key || k === 0) {
        if (k === 0) this.n++;
        this.keys[i] = key;
        this.vals[i] = crc;
        return;
      }
    }
  }

  /** Forgets the slot's checksum (its object died, or its checksum was reset). */
  delete(s: number): void {
    if (this.column) {
      this.column[s] = 0;
      return;
    }
    let hole = this.find(s);
    if (hole < 0) return;
    const keys = this.keys;
    const mask = keys.length - 1;
    // Backward-shift deletion: move back each later entry of the probe run whose home lies at
    // or before the hole (cyclically), so that look-ups never stop early at the hole.
    for (let j = (hole + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const home = this.home(keys[j] - 1);
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j];
        this.vals[hole] = this.vals[j];
        hole = j;
      }
    }
    keys[hole] = 0;
    this.n--;
  }

  /** The table grew to `capacity` slots (a dense column follows it). */
  resize(capacity: number, hi: number): void {
    if (!this.column) return;
    const next = new Uint32Array(capacity);
    next.set(this.column.subarray(0, Math.min(hi, this.column.length)));
    this.column = next;
  }

  clear(): void {
    this.keys = new Uint32Array(0);
    this.vals = new Uint32Array(0);
    this.bits = 0;
    this.n = 0;
    this.column = null;
  }

  private home(s: number): number {
    return Math.imul(s + 1, GOLDEN) >>> (32 - this.bits);
  }

  private find(s: number): number {
    if (this.n === 0) return -1;
    const mask = this.keys.length - 1;
    const key = s + 1;
    for (let i = this.home(s); ; i = (i + 1) & mask) {
      const k = this.keys[i];
      if (k === key) return i;
      if (k === 0) return -1;
    }
  }

  private rehash(bits: number): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    this.bits = bits;
    this.keys = new Uint32Array(1 << bits);
    this.vals = new Uint32Array(1 << bits);
    const mask = (1 << bits) - 1;
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j];
      if (k === 0) continue;
      let i = this.home(k - 1);
      while (this.keys[i] !== 0) i = (i + 1) & mask;
      this.keys[i] = k;
      this.vals[i] = oldVals[j];
    }
  }

  private toColumn(capacity: number): void {
    const column = new Uint32Array(capacity);
    const keys = this.keys;
    for (let j = 0; j < keys.length; j++) if (keys[j] !== 0) column[keys[j] - 1] = this.vals[j];
    this.column = column;
    this.keys = new Uint32Array(0);
    this.vals = new Uint32Array(0);
    this.bits = 0;
    this.n = 0;
  }
}
