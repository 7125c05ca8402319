/**
 * One reported object, as the text and JSON reports show it. Built on demand by leaks(); never
 * kept by the engine.
 */

import type { Frame } from '../symbolize/frame.js';

export interface LeakRecord {
  /** The block's address in linear memory. */
  address: number;
  size: number;
  /** The export the host called when the block was allocated. */
  comm: string;
  pid: number;
  /** Creation time, ms since the detector started. */
  jiffies: number;
  /** CRC32 of the content at the scan that last checksummed it, 8 lowercase hex digits. */
  crc: string;
  /** The first min(size, 32) bytes, two lowercase hex digits each, space-separated. */
  hex: string;
  /** Stack-depot handle of the allocation backtrace (0: none). */
  trace: number;
  /** The backtrace, innermost first, when the engine has a describer. */
  backtrace?: Frame[];
  /** SPEC §7, set by the triage (the embedding API's leaks()): Valgrind's definitely/indirectly lost. */
  kind?: 'direct' | 'indirect';
  /** SPEC §7: the index of the object's site in sites(). */
  site?: number;
}
