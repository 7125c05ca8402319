/**
 * The JSON report with SPEC §7's additions, written a leak at a time: §6's fields unchanged, each
 * leak gains "kind" and "site" (an index into "sites"), the top level gains "sites" (ordered as the
 * triage orders them), and "summary" gains "direct", "indirect", "sites", "suppressed" and
 * "baseline". Suppressed objects are counted in summary.suppressed, not listed in "leaks".
 *
 * Invariants: the text is what JSON.stringify(document, null, 2) prints, key order included,
 * except that each frame of a leak's backtrace is one line (JSON.stringify(frame)): the frames
 * are most of the document, and one line each halves its size (100K leaks: 217 -> ~130 MB,
 * bench/RESULTS.md "Writing many leaks"); a backtrace's JSON is rendered once per trace handle,
 * not per object.
 */
import { KIND_DIRECT } from '../engine/leak-graph.js';

import type { Site } from '../triage/sites.js';
import type { Triage, TriageSummary } from '../triage/triage.js';
import type { ExitTextSource } from './exit-text.js';
import { jsonFrame, type JsonFrame, type JsonLeak } from './json.js';

export type LeakKind = 'direct' | 'indirect';

export interface JsonSiteLeak extends JsonLeak {
  kind: LeakKind;
  site: number;
}

export interface JsonSite {
  id: number;
  title: string;
  objects: number;
  bytes: number;
  direct: number;
  indirect: number;
  retained: number;
  backtrace: JsonFrame[];
  suppressed: string | null;
  baseline: boolean;
}

export interface JsonSitesReport {
  program: string;
  leaks: JsonSiteLeak[];
  sites: JsonSite[];
  summary: JsonSitesSummary;
}

/** SPEC §7's summary: the triage's (TriageSummary), its `objects` named `leaks` as SPEC §6 names it. */
export type JsonSitesSummary = Omit<TriageSummary, 'objects'> & { leaks: number };

export function jsonSite(s: Site): JsonSite {
  return {
    id: s.id, title: s.title, objects: s.objects, bytes: s.bytes, direct: s.direct, indirect: s.indirect,
    retained: s.retained, backtrace: s.backtrace.map(jsonFrame), suppressed: s.suppressed, baseline: s.baseline,
  };
}

export function jsonSummary(t: Triage): JsonSitesSummary {
  // Key order as SPEC §7 shows it: leaks first, then the rest in TriageSummary's order.
  const { objects, ...rest } = t.summary;
  return { leaks: objects, ...rest, suppressed: { ...rest.suppressed }, baseline: { ...rest.baseline } };
}

/** `value` as JSON.stringify(value, null, 2) prints it, every line after the first indented by `pad`. */
function indented(value: unknown, pad: string): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, '\n' + pad);
}

/** Writes the whole JSON report for `t`. */
export function writeJsonSites(program: string, t: Triage, src: ExitTextSource, write: (text: string) => void): void {
  const btJson = new Map<number, string>();
  const describe = (h: number): string => {
    let s = btJson.get(h);
    if (s === undefined) {
      const frames = src.describe(h).map(jsonFrame);
      s = frames.length === 0 ? '[]' : `[\n        ${frames.map((f) => JSON.stringify(f)).join(',\n        ')}\n      ]`;
      btJson.set(h, s);
    }
    return s;
  };
  write(`{\n  "program": ${JSON.stringify(program)},\n  "leaks": [`);
  let count = 0;
  for (let i = 0; i < t.graph.n; i++) {
    if (!t.reported[i]) continue;
    const r = src.record(i);
    write(
      (count++ === 0 ? '\n' : ',\n') +
        `    {\n      "address": ${r.address},\n      "size": ${r.size},\n      "comm": ${JSON.stringify(r.comm)},\n` +
        `      "pid": ${r.pid},\n      "jiffies": ${r.jiffies},\n      "crc": ${JSON.stringify(r.crc)},\n` +
        `      "hex": ${JSON.stringify(r.hex)},\n      "backtrace": ${describe(t.graph.trace[i]!)},\n` +
        `      "kind": "${t.graph.kind[i] === KIND_DIRECT ? 'direct' : 'indirect'}",\n      "site": ${t.siteOf[i]}\n    }`,
    );
  }
  write(count === 0 ? '],\n' : '\n  ],\n');
  write(`  "sites": ${indented(t.sites.map(jsonSite), '  ')},\n`);
  write(`  "summary": ${indented(jsonSummary(t), '  ')}\n}\n`);
}

/** The same document as one object (tests, the embedding API). */
export function buildJsonSites(program: string, t: Triage, src: ExitTextSource): JsonSitesReport {
  let text = '';
  writeJsonSites(program, t, src, (s) => { text += s; });
  return JSON.parse(text) as JsonSitesReport;
}

