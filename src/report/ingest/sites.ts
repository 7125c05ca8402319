/**
 * Groups records read by `kmemleak report` into sites (SPEC §7: the records that share one
 * backtrace, frames compared by function and file, not by offset) and lays them out in SPEC §7's
 * JSON shape. Kernel records carry no pointer graph, so their kinds, and every site's retained
 * bytes, are unknown: `kind` is "unknown" and direct/indirect/retained are null, never guessed.
 * Records from our own JSON keep the kind it gave them.
 *
 * Order: by retained bytes where known, else by bytes; ties keep the order of first appearance.
 */
import type { IngestFrame, IngestRecord } from './model.js';
import { titleFor } from './title.js';

export type LeakKind = 'direct' | 'indirect' | 'unknown';

export interface ReportLeak {
  /** `0x...` (kernel addresses are 64-bit; ours print 8 digits). */
  address: string | null;
  size: number | null;
  comm?: string;
  pid?: number;
  jiffies?: number;
  age?: number;
  crc?: string;
  hex: string;
  backtrace: IngestFrame[];
  kind: LeakKind;
  site: number;
  /** FILE:LINE where the record starts. */
  source: string;
  truncated?: true;
}

export interface ReportSite {
  id: number;
  title: string;
  objects: number;
  bytes: number;
  direct: number | null;
  indirect: number | null;
  retained: number | null;
  backtrace: IngestFrame[];
  suppressed: string | null;
  baseline: boolean;
}

export interface IngestReport {
  program: string;
  inputs: string[];
  leaks: ReportLeak[];
  sites: ReportSite[];
  summary: {
    leaks: number;
    bytes: number;
    direct: number | null;
    indirect: number | null;
    sites: number;
    suppressed: { objects: number; bytes: number };
  };
}

/** SPEC §7's site key: functions and files, in order; offsets and addresses do not matter. */
export function siteKey(frames: readonly IngestFrame[]): string {
  return frames.map((f) => `${f.function ?? f.address ?? '?'}\u0001${f.file ?? ''}`).join('\u0002');
}

interface Group {
  first: number;
  records: IngestRecord[];
  title: string;
}

export function groupIntoSites(records: readonly IngestRecord[], inputs: string[], titles: ReadonlyMap<IngestRecord, string> = new Map()): IngestReport {
  const groups = new Map<string, Group>();
  records.forEach((r, i) => {
    const key = `${r.origin}\u0003${siteKey(r.backtrace)}`;
    let g = groups.get(key);
    if (!g) {
      g = { first: i, records: [], title: titles.get(r) ?? titleFor(r.backtrace, r.origin) };
      groups.set(key, g);
    }
    g.records.push(r);
  });
  const built = [...groups.values()].map((g) => {
    const kinds = g.records.map((r) => r.kind);
    const known = kinds.every((k) => k !== undefined);
    const bytes = g.records.reduce((s, r) => s + (r.size ?? 0), 0);
    const direct = known ? kinds.filter((k) => k === 'direct').length : null;
    const directBytes = g.records.reduce((s, r) => s + (r.kind === 'direct' ? r.size ?? 0 : 0), 0);
    return { g, bytes, direct, indirect: known ? g.records.length - direct! : null, order: known ? directBytes : bytes };
  });
  built.sort((a, b) => b.order - a.order || a.g.first - b.g.first);

  const leaks: ReportLeak[] = [];
  const sites: ReportSite[] = built.map((s, id) => {
    for (const r of s.g.records) leaks.push(leakOf(r, id));
    return {
      id,
      title: s.g.title,
      objects: s.g.records.length,
      bytes: s.bytes,
      direct: s.direct,
      indirect: s.indirect,
      retained: null,
      backtrace: s.g.records[0].backtrace,
      suppressed: null,
      baseline: false,
    };
  });
  const anyUnknown = sites.some((s) => s.direct === null);
  return {
    program: 'kmemleak report',
    inputs,
    leaks,
    sites,
    summary: {
      leaks: leaks.length,
      bytes: sites.reduce((s, x) => s + x.bytes, 0),
      direct: anyUnknown ? null : sites.reduce((s, x) => s + x.direct!, 0),
      indirect: anyUnknown ? null : sites.reduce((s, x) => s + x.indirect!, 0),
      sites: sites.length,
      suppressed: { objects: 0, bytes: 0 },
    },
  };
}

function leakOf(r: IngestRecord, site: number): ReportLeak {
  // Key order as SPEC §6 lists a leak's fields, then §7's, then ours.
  const l = { address: r.address, size: r.size } as ReportLeak;
  if (r.comm !== undefined) l.comm = r.comm;
  if (r.pid !== undefined) l.pid = r.pid;
  if (r.jiffies !== undefined) l.jiffies = r.jiffies;
  if (r.age !== undefined) l.age = r.age;
  if (r.crc !== undefined) l.crc = r.crc;
  l.hex = r.hex;
  l.backtrace = r.backtrace;
  l.kind = r.kind ?? 'unknown';
  l.site = site;
  l.source = `${r.source.file}:${r.source.line}`;
  if (r.truncated) l.truncated = true;
  return l;
}
