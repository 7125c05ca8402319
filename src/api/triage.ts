/**
 * Why: the embedding API's view of SPEC §7: `leaks()` with each object's kind and site, `sites()`,
 * and suppressions given as LeakSanitizer text (a browser has no files) plus the program's own
 * `__lsan_default_suppressions`.
 *
 * Invariants: leaks() lists the reported, unsuppressed objects in allocation order (the control
 * file's read() still lists every reported object, as the kernel does); each backtrace is
 * described once per call, not once per object.
 */
import type { Kmemleak, LeakRecord } from '../engine/index.js';
import { KIND_DIRECT } from '../engine/leak-graph.js';
import type { Frame } from '../symbolize/frame.js';
import type { Site } from '../triage/sites.js';
import { parseSuppressions, type Suppression } from '../triage/suppressions.js';
import { describeOnce, triage, type Triage } from '../triage/triage.js';

/** Suppression texts as DetectorOptions takes them: one text, or several (each named by position). */
export function parseSuppressionOption(texts: string | readonly string[] | undefined): Suppression[] {
  if (texts === undefined) return [];
  const list = typeof texts === 'string' ? [texts] : texts;
  const out: Suppression[] = [];
  list.forEach((text, k) => out.push(...parseSuppressions(text, list.length > 1 ? `suppressions[${k}]` : 'suppressions')));
  return out;
}

/** The engine's describer, each trace handle described once. */
export function cachedDescribe(engine: Kmemleak): (trace: number) => Frame[] {
  return describeOnce((h) => engine.describer?.describe(h) ?? []);
}

/** The current leaks, triaged (the engine's reported objects, their graph read now). */
export function triageNow(engine: Kmemleak, describe: (trace: number) => Frame[], suppressions: readonly Suppression[], module: string | null): Triage {
  return triage(engine.leakGraph(), describe, { suppressions, module });
}

/** leaks(): the reported, unsuppressed objects with kind and site. */
export function triagedLeaks(engine: Kmemleak, t: Triage, describe: (trace: number) => Frame[]): LeakRecord[] {
  const out: LeakRecord[] = [];
  const g = t.graph;
  for (let i = 0; i < g.n; i++) {
    if (!t.reported[i]) continue;
    const rec = engine.leakRecord(g.slots[i]!, engine.describer ? describe(g.trace[i]!) : undefined);
    rec.kind = g.kind[i] === KIND_DIRECT ? 'direct' : 'indirect';
    rec.site = t.siteOf[i]!;
    out.push(rec);
  }
  return out;
}

export type { Site };
