/**
 * Why: real programs leak thousands of objects from a few places; a report must lead to those
 * places (SPEC §7). A *site* is the set of reported objects that share one backtrace, compared
 * frame by frame on what is shown (function and file), not on code offsets: two calls to
 * malloc a few bytes apart in one function are one site.
 *
 * This file is the site model that other reports (kmemleak report, the HTML report, SARIF, the
 * embedding API) share: plain data, no methods, no engine or wasm types.
 *
 * Invariants:
 * - siteKey is the identity: equal keys = same site, in this run and across runs (baselines compare
 *   keys of a JSON report written earlier). A frame without a function name is `wasm-function[N]`.
 * - siteTitle is `memory leak in FUNC`, FUNC the first shown frame's name (`memory leak in ?`
 *   when there is no backtrace at all, e.g. --trace-depth 0).
 * - groupByTrace describes each trace handle once, never per object, and gives each object its
 *   site in one typed array; no object per leak is created.
 */
import type { Frame } from '../symbolize/frame.js';

/** What identifies a frame for site grouping (JSON frames of an earlier report have these too). */
export interface SiteFrame {
  function: string | null;
  file?: string | undefined;
  funcIndex?: number | undefined;
}

/** One leak site. Counts are of the objects reported in it (or, for a suppressed site, suppressed). */
export interface Site {
  /** Position in the report's site list (new sites, then baseline, then suppressed; each by retained bytes). */
  id: number;
  /** `memory leak in FUNC`. */
  title: string;
  /** The grouping identity (see siteKey). */
  key: string;
  /** The shown frames, innermost first, of the site's first object. */
  backtrace: Frame[];
  objects: number;
  bytes: number;
  direct: number;
  indirect: number;
  /** Sum over the site's direct objects of their retained bytes (SPEC §7). */
  retained: number;
  /** The LSan pattern that suppressed the site, or null. */
  suppressed: string | null;
  /** Whether an earlier report (--baseline) has this site. */
  baseline: boolean;
  /** Index, in allocation order of all reported objects, of the site's first object. */
  first: number;
}

/** The name a frame is shown and grouped by. */
export function frameName(f: SiteFrame): string {
  return f.function ?? `wasm-function[${f.funcIndex ?? '?'}]`;
}

/** The site identity of a backtrace: each frame's function and file, offsets left out. */
export function siteKey(frames: readonly SiteFrame[]): string {
  let key = '';
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    key += (i > 0 ? '\n' : '') + frameName(f) + '\t' + (f.file ?? '');
  }
  return key;
}

export function siteTitle(frames: readonly SiteFrame[]): string {
  return `memory leak in ${frames.length > 0 ? frameName(frames[0]!) : '?'}`;
}

/** Objects grouped into sites: `siteOf[i]` is object i's group, groups in order of first object. */
export interface TraceGroups {
  siteOf: Int32Array;
  /** Per group: its key, frames and the index of its first object. */
  keys: string[];
  frames: Frame[][];
  first: number[];
}

/**
 * Groups objects (given by their trace handles, in allocation order) by site. `describe` is called
 * once per distinct handle.
 */
export function groupByTrace(trace: Uint32Array, n: number, describe: (trace: number) => Frame[]): TraceGroups {
  const siteOf = new Int32Array(n);
  const byHandle = new Map<number, number>();
  const byKey = new Map<string, number>();
  const groups: TraceGroups = { siteOf, keys: [], frames: [], first: [] };
  for (let i = 0; i < n; i++) {
    const h = trace[i]!;
    let g = byHandle.get(h);
    if (g === undefined) {
      const frames = describe(h);
      const key = siteKey(frames);
      g = byKey.get(key);
      if (g === undefined) {
        g = groups.keys.length;
        byKey.set(key, g);
        groups.keys.push(key);
        groups.frames.push(frames);
        groups.first.push(i);
      }
      byHandle.set(h, g);
    }
    siteOf[i] = g;
  }
  return groups;
}
