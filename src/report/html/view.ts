/**
 * The HTML report's data: any report in SPEC §7's JSON shape (`kmemleak run --json` with sites,
 * `kmemleak report --json`) squeezed into one compact JSON value that the page embeds once:
 * frames and backtraces interned (100K objects from a few sites share a handful of traces),
 * objects as parallel arrays, hex dumps without spaces. Browser-safe: no Node modules.
 *
 * Invariants: sites keep the input's order (retained bytes, then bytes; new, baseline, suppressed);
 * a value that is unknown (a kernel report's kinds and retained bytes) is -1, never 0.
 */

export interface ViewFrame {
  function: string | null;
  file?: string;
  line?: number;
  offset?: number;
  size?: number;
  address?: string;
  inline?: boolean;
  funcIndex?: number;
}

/** The fields of SPEC §6/§7's JSON report the page shows. */
export interface ViewInput {
  program: string;
  leaks: ReadonlyArray<{
    address: number | string | null;
    size: number | null;
    kind?: string;
    site?: number;
    hex: string;
    /** Absent when backtraces were not captured (--trace-depth 0). */
    backtrace?: readonly ViewFrame[];
  }>;
  sites: ReadonlyArray<{
    id: number;
    title: string;
    objects: number;
    bytes: number;
    direct: number | null;
    indirect: number | null;
    retained: number | null;
    backtrace: readonly ViewFrame[];
    suppressed: string | null;
    baseline: boolean;
  }>;
  summary: { leaks: number; bytes: number; sites?: number; direct?: number | null; indirect?: number | null; suppressed?: { objects: number; bytes: number } };
}

/** [function, file, line] (file '' and line 0 when unknown). */
export type DataFrame = [string, string, number];
/** [title, objects, bytes, direct, indirect, retained, trace, state (0 new, 1 baseline, 2 suppressed), suppression pattern]. */
export type DataSite = [string, number, number, number, number, number, number, number, string];

export interface HtmlData {
  v: 1;
  program: string;
  kindsKnown: boolean;
  summary: { leaks: number; bytes: number; sites: number; direct: number; indirect: number; suppressedObjects: number; suppressedBytes: number };
  frames: DataFrame[];
  traces: number[][];
  sites: DataSite[];
  objects: { site: number[]; addr: string[]; size: number[]; kind: string; trace: number[]; hex: string[] };
}

const unknown = (n: number | null | undefined): number => (n === null || n === undefined ? -1 : n);

function frameName(f: ViewFrame): string {
  return f.function ?? (f.funcIndex !== undefined ? `wasm-function[${f.funcIndex}]` : f.address !== undefined ? `0x${f.address}` : '?');
}

class Interner {
  readonly frames: DataFrame[] = [];
  readonly traces: number[][] = [];
  private readonly frameIds = new Map<string, number>();
  private readonly traceIds = new Map<string, number>();
  /** Reports built in memory share one frames array per backtrace: those are interned once. */
  private readonly byArray = new WeakMap<readonly ViewFrame[], number>();

  frame(f: ViewFrame): number {
    const row: DataFrame = [frameName(f) + (f.inline ? ' [inline]' : ''), f.file ?? '', f.line ?? 0];
    const key = row.join('\u0001');
    let id = this.frameIds.get(key);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push(row);
      this.frameIds.set(key, id);
    }
    return id;
  }

  trace(frames: readonly ViewFrame[]): number {
    const known = this.byArray.get(frames);
    if (known !== undefined) return known;
    const ids = frames.map((f) => this.frame(f));
    const key = ids.join(',');
    let id = this.traceIds.get(key);
    if (id === undefined) {
      id = this.traces.length;
      this.traces.push(ids);
      this.traceIds.set(key, id);
    }
    this.byArray.set(frames, id);
    return id;
  }
}

const KIND_LETTER: Record<string, string> = { direct: 'd', indirect: 'i' };

function addressText(a: number | string | null): string {
  if (a === null) return '';
  if (typeof a === 'number') return (a >>> 0).toString(16).padStart(8, '0');
  return a.replace(/^0x/, '');
}

/** "41 42 43" -> "414243" (a slice loop: several times faster than a regex replace on 100K strings). */
function compactHex(hex: string): string {
  let out = '';
  for (let i = 0; i + 1 < hex.length; i += 3) out += hex.slice(i, i + 2);
  return out;
}

export function buildHtmlData(input: ViewInput): HtmlData {
  const intern = new Interner();
  const sites: DataSite[] = input.sites.map((s) => [
    s.title, s.objects, s.bytes, unknown(s.direct), unknown(s.indirect), unknown(s.retained), intern.trace(s.backtrace),
    s.suppressed !== null ? 2 : s.baseline ? 1 : 0, s.suppressed ?? '',
  ]);
  const position = new Map<number, number>();
  input.sites.forEach((s, i) => position.set(s.id, i));
  const objects: HtmlData['objects'] = { site: [], addr: [], size: [], kind: '', trace: [], hex: [] };
  let kinds = '';
  for (const l of input.leaks) {
    objects.site.push(l.site === undefined ? -1 : position.get(l.site) ?? -1);
    objects.addr.push(addressText(l.address));
    objects.size.push(l.size ?? -1);
    kinds += KIND_LETTER[l.kind ?? ''] ?? 'u';
    objects.trace.push(intern.trace(l.backtrace ?? []));
    objects.hex.push(compactHex(l.hex));
  }
  objects.kind = kinds;
  const s = input.summary;
  return {
    v: 1,
    program: input.program,
    kindsKnown: input.sites.every((x) => x.direct !== null),
    summary: {
      leaks: s.leaks,
      bytes: s.bytes,
      sites: s.sites ?? input.sites.length,
      direct: unknown(s.direct),
      indirect: unknown(s.indirect),
      suppressedObjects: s.suppressed?.objects ?? 0,
      suppressedBytes: s.suppressed?.bytes ?? 0,
    },
    frames: intern.frames,
    traces: intern.traces,
    sites,
    objects,
  };
}
