/**
 * Groups records read by `kmemleak report` into sites (SPEC §7: the records that share one
 * backtrace, frames compared by function and file, not by offset) and lays them out in SPEC §7's
 * JSON shape. Kernel records carry no pointer graph, so their kinds, and every site's retained
 * bytes, are unknown: `kind` is "unknown" and direct/indirect/retained are null, never guessed.
 * Records from our own JSON keep the kind it gave them.
 *
 * Suppressions and baselines are triage's (SPEC §7, src/triage/): a site whose frames match a
 * `leak:` pattern is suppressed (its objects counted in summary.suppressed, not listed); a site
 * whose key an earlier report has is marked baseline.
 *
 * Order: new sites, then baseline ones, then suppressed ones; within each by retained bytes where
 * known, else by bytes; ties keep the order of first appearance.
 */
import { siteKey as triageSiteKey } from '../../triage/sites.js';
import { matchSuppression, type Suppression } from '../../triage/suppressions.js';
import type { IngestFrame, IngestRecord } from './model.js';
import { titleFor } from './title.js';

export type LeakKind = 'direct' | 'indirect' | 'unknown';

/** A read record's own fields (address as printed: kernel addresses are 64-bit, ours 8 digits). */
export interface ReportLeak
  extends Pick<IngestRecord, 'address' | 'size' | 'comm' | 'pid' | 'jiffies' | 'age' | 'crc' | 'hex' | 'backtrace'> {
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

/** SPEC §7's site key (triage's, so baselines compare across both): functions and files, in order. */
export function siteKey(frames: readonly IngestFrame[]): string {
  return triageSiteKey(frames.map((f) => ({ function: f.function ?? (f.address !== undefined ? `0x${f.address}` : null), file: f.file })));
}

export interface GroupOptions {
  titles?: ReadonlyMap<IngestRecord, string>;
  suppressions?: readonly Suppression[];
  /** Site keys of an earlier report. */
  baseline?: ReadonlySet<string>;
}

interface Group {
  first: number;
  records: IngestRecord[];
  title: string;
  suppressed: string | null;
  baseline: boolean;
}

/** A kernel frame's module (`[nf_tables]`) is offered to suppressions as LSan offers a module name. */
const namedFrames = (frames: readonly IngestFrame[]) => frames.map((f) => ({ function: f.function, file: f.file ?? f.module }));

export function groupIntoSites(records: readonly IngestRecord[], inputs: string[], opts: GroupOptions = {}): IngestReport {
  const groups = new Map<string, Group>();
  const sups = opts.suppressions ?? [];
  records.forEach((r, i) => {
    const bare = siteKey(r.backtrace);
    const key = `${r.origin}\u0003${bare}`;
    let g = groups.get(key);
    if (!g) {
      const s = matchSuppression(sups, namedFrames(r.backtrace), null);
      g = {
        first: i,
        records: [],
        title: opts.titles?.get(r) ?? titleFor(r.backtrace, r.origin),
        suppressed: s >= 0 ? sups[s].pattern : null,
        baseline: opts.baseline?.has(bare) ?? false,
      };
      groups.set(key, g);
    }
    g.records.push(r);
  });
  const built = [...groups.values()].map((g) => {
    let objects = 0, bytes = 0, direct: number | null = 0, indirect: number | null = 0, retained: number | null = 0, directBytes = 0;
    for (const r of g.records) {
      const rep = r.represents;
      objects += rep?.objects ?? 1;
      bytes += rep?.bytes ?? r.size ?? 0;
      const d = rep?.direct ?? (r.kind === 'direct' ? 1 : r.kind === 'indirect' ? 0 : null);
      const i = rep?.indirect ?? (r.kind === 'indirect' ? 1 : r.kind === 'direct' ? 0 : null);
      direct = d === null || direct === null ? null : direct + d;
      indirect = i === null || indirect === null ? null : indirect + i;
      const own = rep?.retained ?? r.retained;
      retained = own === undefined || retained === null ? null : retained + own;
      if (r.kind === 'direct') directBytes += r.size ?? 0;
    }
    const rank = g.suppressed !== null ? 2 : g.baseline ? 1 : 0;
    return { g, objects, bytes, direct, indirect, retained, order: retained ?? (direct !== null ? directBytes : bytes), rank };
  });
  built.sort((a, b) => a.rank - b.rank || b.order - a.order || a.g.first - b.g.first);

  const leaks: ReportLeak[] = [];
  const suppressed = { objects: 0, bytes: 0 };
  const sites: ReportSite[] = built.map((s, id) => {
    if (s.g.suppressed === null) for (const r of s.g.records) leaks.push(leakOf(r, id));
    else { suppressed.objects += s.objects; suppressed.bytes += s.bytes; }
    return {
      id,
      title: s.g.title,
      objects: s.objects,
      bytes: s.bytes,
      direct: s.direct,
      indirect: s.indirect,
      retained: s.retained,
      backtrace: s.g.records[0].backtrace,
      suppressed: s.g.suppressed,
      baseline: s.g.baseline,
    };
  });
  const shown = sites.filter((s) => s.suppressed === null);
  const anyUnknown = shown.some((s) => s.direct === null);
  return {
    program: 'kmemleak report',
    inputs,
    leaks,
    sites,
    summary: {
      leaks: shown.reduce((s, x) => s + x.objects, 0),
      bytes: shown.reduce((s, x) => s + x.bytes, 0),
      direct: anyUnknown ? null : shown.reduce((s, x) => s + x.direct!, 0),
      indirect: anyUnknown ? null : shown.reduce((s, x) => s + x.indirect!, 0),
      sites: shown.length,
      suppressed,
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
