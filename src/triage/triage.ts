/**
 * Why: the step from "these objects are unreferenced" to "these are the places to fix" (SPEC §7):
 * the engine's leak graph (kinds, owners) + backtraces -> sites, suppressions applied,
 * baseline sites marked, retained bytes and the summary that the text, JSON and SARIF reports and
 * the exit status share.
 *
 * Invariants:
 * - Suppression is per site (a site's frames, hence its function, file and module names, are
 *   shared by its objects). As LeakSanitizer does (since LLVM 15), objects reachable from a
 *   suppressed object through reported objects are not reported either; LSan's `Suppressions
 *   used:` counts only the objects a pattern matched itself, while summary.suppressed counts
 *   every object left out.
 * - For reported objects: direct + indirect = objects, and retained bytes (recomputed over the
 *   reported objects only) sum to their bytes: an object reachable from a suppressed one is
 *   suppressed, so every reported object's owner and every path to it are reported.
 * - Site order: new sites, then baseline sites, then suppressed ones; within each, by retained
 *   bytes, then bytes, then first allocation. Site ids are positions in that order.
 * - No object per leak: per-object data stays in typed arrays indexed like the graph.
 */
import { KIND_DIRECT, type LeakGraph } from '../engine/leak-graph.js';
import type { Frame } from '../symbolize/frame.js';
import { groupByTrace, siteTitle, type Site } from './sites.js';
import { matchSuppression, type Suppression } from './suppressions.js';

export interface TriageOptions {
  suppressions?: readonly Suppression[];
  /** The program's module name, matched by suppressions as LSan matches a frame's module. */
  module?: string | null;
  /** Site keys of an earlier report (baseline.ts). */
  baseline?: ReadonlySet<string>;
}

/** One row of LSan's `Suppressions used:` table. */
export interface SuppressionUse {
  pattern: string;
  source: string;
  line: number;
  /** Objects the pattern matched, and their bytes. */
  count: number;
  bytes: number;
}

export interface TriageSummary {
  /** Reported (unsuppressed) objects, baseline ones included. */
  objects: number;
  bytes: number;
  direct: number;
  indirect: number;
  /** Sites with reported objects. */
  sites: number;
  suppressed: { objects: number; bytes: number };
  baseline: { objects: number; bytes: number; sites: number };
}

export interface Triage {
  graph: LeakGraph;
  /** Ordered as the reports list them; sites[k].id === k. */
  sites: Site[];
  /** Per object (graph index): its site id. */
  siteOf: Int32Array;
  /** Per object: 1 when reported, 0 when suppressed. */
  reported: Uint8Array;
  /** Per object: retained bytes over reported objects (0 for indirect or suppressed ones). */
  retained: Float64Array;
  summary: TriageSummary;
  /** Suppressions that matched, in the order given. */
  used: SuppressionUse[];
  /** Reported objects outside the baseline: the ones that set the exit status. */
  newObjects: number;
}

export function triage(graph: LeakGraph, describe: (trace: number) => Frame[], opts: TriageOptions = {}): Triage {
  const n = graph.n;
  const list = opts.suppressions ?? [];
  const groups = groupByTrace(graph.trace, n, describe);
  const ng = groups.keys.length;
  const groupSup = new Int32Array(ng);
  for (let g = 0; g < ng; g++) groupSup[g] = matchSuppression(list, groups.frames[g]!, opts.module ?? null);

  const supBy = new Int32Array(n);
  const hits = list.map(() => ({ count: 0, bytes: 0 }));
  for (let i = 0; i < n; i++) {
    const s = groupSup[groups.siteOf[i]!]!;
    supBy[i] = s;
    if (s >= 0) {
      hits[s]!.count++;
      hits[s]!.bytes += graph.size[i]!;
    }
  }
  if (list.length > 0) suppressReachable(graph, supBy);

  const reported = new Uint8Array(n);
  for (let i = 0; i < n; i++) reported[i] = supBy[i]! < 0 ? 1 : 0;
  const retained = new Float64Array(n);
  const own = graph.owner;
  for (let i = 0; i < n; i++) {
    if (reported[i] === reported[own[i]!]) retained[own[i]!] += graph.size[i]!;
  }

  const sites = buildSites(graph, groups, supBy, reported, retained, list, opts.baseline);
  const order = orderSites(sites);
  const idOf = new Int32Array(ng);
  order.forEach((site, k) => {
    idOf[site.id] = k;
    site.id = k;
  });
  const siteOf = new Int32Array(n);
  for (let i = 0; i < n; i++) siteOf[i] = idOf[groups.siteOf[i]!]!;

  const summary: TriageSummary = { objects: 0, bytes: 0, direct: 0, indirect: 0, sites: 0, suppressed: { objects: 0, bytes: 0 }, baseline: { objects: 0, bytes: 0, sites: 0 } };
  let newObjects = 0;
  for (let i = 0; i < n; i++) {
    if (!reported[i]) {
      summary.suppressed.objects++;
      summary.suppressed.bytes += graph.size[i]!;
      continue;
    }
    summary.objects++;
    summary.bytes += graph.size[i]!;
    if (graph.kind[i] === KIND_DIRECT) summary.direct++;
    else summary.indirect++;
    const site = order[siteOf[i]!]!;
    if (site.baseline) {
      summary.baseline.objects++;
      summary.baseline.bytes += graph.size[i]!;
    } else newObjects++;
  }
  for (const site of order) {
    if (site.suppressed !== null) continue;
    summary.sites++;
    if (site.baseline) summary.baseline.sites++;
  }
  const used: SuppressionUse[] = [];
  list.forEach((s, k) => {
    if (hits[k]!.count > 0) used.push({ pattern: s.pattern, source: s.source, line: s.line, count: hits[k]!.count, bytes: hits[k]!.bytes });
  });
  return { graph, sites: order, siteOf, reported, retained, summary, used, newObjects };
}

/** `describe` with a cache: each trace handle is described once (per report, not per object). */
export function describeOnce(describe: (trace: number) => Frame[]): (trace: number) => Frame[] {
  const cache = new Map<number, Frame[]>();
  return (h) => {
    let f = cache.get(h);
    if (f === undefined) {
      f = describe(h);
      cache.set(h, f);
    }
    return f;
  };
}

/** Objects reachable from suppressed ones are suppressed too, under the same pattern. */
function suppressReachable(graph: LeakGraph, supBy: Int32Array): void {
  const { n, off, to } = graph;
  const queue = new Uint32Array(n);
  let tail = 0;
  for (let i = 0; i < n; i++) if (supBy[i]! >= 0) queue[tail++] = i;
  for (let head = 0; head < tail; head++) {
    const v = queue[head]!;
    for (let p = off[v]!; p < off[v + 1]!; p++) {
      const w = to[p]!;
      if (supBy[w]! >= 0) continue;
      supBy[w] = supBy[v]!;
      queue[tail++] = w;
    }
  }
}

/** One Site per group, counted over its reported objects, or over its suppressed ones when it has none. */
function buildSites(
  graph: LeakGraph,
  groups: ReturnType<typeof groupByTrace>,
  supBy: Int32Array,
  reported: Uint8Array,
  retained: Float64Array,
  list: readonly Suppression[],
  baseline: ReadonlySet<string> | undefined,
): Site[] {
  const ng = groups.keys.length;
  const sites: Site[] = [];
  for (let g = 0; g < ng; g++) {
    const frames = groups.frames[g]!;
    sites.push({
      id: g, title: siteTitle(frames), key: groups.keys[g]!, backtrace: frames,
      objects: 0, bytes: 0, direct: 0, indirect: 0, retained: 0, suppressed: null, baseline: false, first: -1,
    });
  }
  const hasReported = new Uint8Array(ng);
  for (let i = 0; i < graph.n; i++) if (reported[i]) hasReported[groups.siteOf[i]!] = 1;
  for (let i = 0; i < graph.n; i++) {
    const g = groups.siteOf[i]!;
    const site = sites[g]!;
    if (hasReported[g] ? !reported[i] : false) continue;
    if (site.first < 0) site.first = i;
    site.objects++;
    site.bytes += graph.size[i]!;
    if (graph.kind[i] === KIND_DIRECT) {
      site.direct++;
      site.retained += reported[i] ? retained[i]! : graph.retained[i]!;
    } else site.indirect++;
  }
  for (let g = 0; g < ng; g++) {
    const site = sites[g]!;
    if (!hasReported[g]) site.suppressed = list[supBy[site.first]!]!.pattern;
    else if (baseline?.has(site.key)) site.baseline = true;
  }
  return sites;
}

function orderSites(sites: Site[]): Site[] {
  const rank = (s: Site): number => (s.suppressed !== null ? 2 : s.baseline ? 1 : 0);
  return sites.slice().sort((a, b) => rank(a) - rank(b) || b.retained - a.retained || b.bytes - a.bytes || a.first - b.first);
}
