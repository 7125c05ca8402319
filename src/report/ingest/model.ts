/**
 * What `kmemleak report` reads, whatever wrote it: one reported object ("record") from the Linux
 * kernel's kmemleak (any generation) or from ours (text or JSON). Fields a generation does not
 * print are absent, never invented: 2.6-era records have no hex dump, 6.x symbolized records have
 * no frame addresses, a truncated record may lack everything after its first line.
 *
 * Addresses stay text: kernel addresses are 64-bit (and hashed pointers are not addresses at all).
 */

export interface IngestFrame {
  /** The function as printed (`kmem_cache_alloc`, `do_ipv6_setsockopt.isra.7`, `std::vector<int>::push_back(int const&)`); null for a bare address. */
  function: string | null;
  offset?: number;
  size?: number;
  file?: string;
  line?: number;
  column?: number;
  /** A symbolizer's inlined frame (`... [inline]`): no code address of its own. */
  inline?: boolean;
  /** The kernel module (`func+0x1/0x2 [nf_tables]`). */
  module?: string;
  /** The `[<...>]` value as printed (a hashed pointer since Linux 4.15). */
  address?: string;
}

export type RecordOrigin = 'kernel' | 'kmemleak-wasm';

export interface IngestRecord {
  /** `0x...` as printed; null when the record's first line is cut. */
  address: string | null;
  size: number | null;
  comm?: string;
  pid?: number;
  jiffies?: number;
  /** `(age 15.374s)`, in seconds, when printed. */
  age?: number;
  /** Hex dump bytes, two lowercase digits each, space-separated ('' when none was printed). */
  hex: string;
  crc?: string;
  backtrace: IngestFrame[];
  /** The record stops before its backtrace has a frame (cut off, or other output interleaved). */
  truncated: boolean;
  /** Whose report: decides the title rule (see title.ts). */
  origin: RecordOrigin;
  /** direct/indirect when the report said so (our JSON with triage fields); otherwise unknown. */
  kind?: 'direct' | 'indirect';
  /**
   * Set when the record stands for a whole site: our exit report prints one record per site and
   * then `  N objects, B bytes at this site (D direct, I indirect), retained R bytes`.
   */
  represents?: { objects: number; bytes: number; direct?: number; indirect?: number; retained?: number };
  /**
   * Retained bytes this record accounts for, when the report gives them per site but not per
   * object (our JSON's `sites[].retained`): the site's first record carries them, its others 0.
   */
  retained?: number;
  /** Where the record starts: file name as given and 1-based line. */
  source: { file: string; line: number };
}

/** Thrown for input that is not a kmemleak report; the command line prints `FILE:LINE: message`. */
export class IngestError extends Error {
  constructor(readonly file: string, readonly line: number, readonly reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'IngestError';
  }
}
