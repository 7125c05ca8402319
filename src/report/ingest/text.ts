/**
 * Reads kmemleak records out of console text: the kernel's (every generation, see lines.ts and
 * frame-line.ts) or ours, several reports and unrelated log lines mixed in. A record starts at
 * `unreferenced object`; its comm, hex dump and backtrace lines follow; the first line that is none
 * of these ends it (and may start the next record). A record whose first line is cut (`unreferenced
 * object` alone) or that ends before a backtrace frame is kept and marked truncated: a cut record
 * still names a leak, and syzkaller titles it `memory leak in corrupted`.
 *
 * Invariant: never throws on any text; what is not a record is skipped. The caller decides what
 * a text with no record at all means.
 */
import { stripLogPrefixes } from './lines.js';
import { parseFrameLine } from './frame-line.js';
import type { IngestRecord, RecordOrigin } from './model.js';

const HEADER = /^unreferenced object(?:\s+(0x[0-9a-fA-F]+|[0-9a-fA-F]+)\s+\(size (\d+)\):?)?/;
const COMM = /^comm "(.*)", pid (\d+), jiffies (\d+)(?: \(age (\d+(?:\.\d+)?)s\))?/;
const HEX_HEADER = /^hex dump \(first (\d+) bytes\):?$/;
const HEX_ROW = /^((?:[0-9a-f]{2} ){0,15}[0-9a-f]{2})(?:\s{2,}.*)?$/;
const BACKTRACE = /^backtrace(?: \(crc ([0-9a-f]+)\))?:$/;
/** Our exit report's line after a site's record (and `kmemleak report`'s own). */
const SITE_LINE = /^(\d+) objects?, (\d+) bytes at this site \((?:(\d+) direct, (\d+) indirect)?[^)]*\)(?:, retained (\d+) bytes)?/;

type Section = 'head' | 'hex' | 'backtrace';

export interface TextRecords {
  records: IngestRecord[];
  /** Lines read (the line where reading stopped, for messages). */
  lines: number;
}

export function readTextRecords(lines: readonly string[], file: string): TextRecords {
  const records: IngestRecord[] = [];
  let cur: IngestRecord | null = null;
  let section: Section = 'head';
  let hexWanted = 0;

  const finish = (): void => {
    if (!cur) return;
    if (cur.backtrace.length === 0) cur.truncated = true;
    records.push(cur);
    cur = null;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = stripLogPrefixes(lines[i]);
    const h = HEADER.exec(line);
    if (h) {
      finish();
      cur = {
        address: h[1] ? (h[1].startsWith('0x') ? h[1] : `0x${h[1]}`).toLowerCase() : null,
        size: h[2] !== undefined ? Number(h[2]) : null,
        hex: '',
        backtrace: [],
        truncated: h[1] === undefined,
        origin: 'kernel',
        source: { file, line: i + 1 },
      };
      section = 'head';
      continue;
    }
    if (!cur) continue;
    const rec: IngestRecord = cur;
    if (section === 'hex' && hexWanted > 0) {
      const row = HEX_ROW.exec(line);
      if (row) {
        const bytes = row[1].split(' ').slice(0, hexWanted);
        rec.hex = rec.hex ? `${rec.hex} ${bytes.join(' ')}` : bytes.join(' ');
        hexWanted -= bytes.length;
        continue;
      }
    }
    const c = section === 'head' ? COMM.exec(line) : null;
    if (c) {
      rec.comm = c[1];
      rec.pid = Number(c[2]);
      rec.jiffies = Number(c[3]);
      if (c[4] !== undefined) rec.age = Number(c[4]);
      continue;
    }
    const x = section !== 'backtrace' ? HEX_HEADER.exec(line) : null;
    if (x) {
      section = 'hex';
      hexWanted = Number(x[1]);
      continue;
    }
    const b = BACKTRACE.exec(line);
    if (b && section !== 'backtrace') {
      section = 'backtrace';
      if (b[1] !== undefined) rec.crc = b[1];
      continue;
    }
    if (section === 'backtrace') {
      const f = parseFrameLine(line);
      if (f === 'end-marker') continue;
      if (f) {
        rec.backtrace.push(f);
        continue;
      }
    }
    // Anything else ends the record: another message, a site's counts, a blank line.
    finish();
    const site = SITE_LINE.exec(line);
    if (site) attachSiteCounts(records[records.length - 1], site);
  }
  finish();
  for (const r of records) r.origin = originOf(r);
  return { records, lines: lines.length };
}

function attachSiteCounts(rec: IngestRecord, m: RegExpExecArray): void {
  const rep: NonNullable<IngestRecord['represents']> = { objects: Number(m[1]), bytes: Number(m[2]) };
  if (m[3] !== undefined) { rep.direct = Number(m[3]); rep.indirect = Number(m[4]); }
  if (m[5] !== undefined) rep.retained = Number(m[5]);
  rec.represents = rep;
}

/**
 * Ours print wasm32 addresses (8 hex digits) and frames without `[<...>]`; a kernel's 32-bit
 * records always carry `[<...>]` frames before 6.x, and 6.x kernels are 64-bit where kmemleak runs
 * under syzkaller. A `wasm-function[` frame settles it.
 */
function originOf(r: IngestRecord): RecordOrigin {
  if (r.backtrace.some((f) => f.function?.startsWith('wasm-function[') || f.address?.startsWith('wasm-function['))) return 'kmemleak-wasm';
  const short = r.address !== null && r.address.length <= 10;
  const noAddresses = r.backtrace.length > 0 && r.backtrace.every((f) => f.address === undefined && !f.inline);
  return short && noAddresses ? 'kmemleak-wasm' : 'kernel';
}
