/**
 * Source maps as a symbol source, for builds that ship one instead of DWARF (Emscripten's
 * `-gsource-map`): the map's generated positions are on line 1, and their columns are byte
 * offsets in the whole module file.
 *
 * The `source-map` package decodes the map (its consumer is asynchronous: it loads a wasm
 * decoder); we copy its mappings once into sorted typed arrays so lookups afterwards are
 * synchronous binary searches, and free the consumer. The package is imported on first use: most
 * modules have no source map, and the command line should not parse it at every start.
 *
 * Invariants: `loadSourceMap` never rejects (a bad map yields null); a lookup answers only from a
 * mapping inside the asking function's body, never from the previous function's last mapping.
 */
import type { SourceMapConsumer } from 'source-map';

export interface SourceMapIndex {
  offsets: Float64Array; // generated module offsets, ascending
  source: Int32Array; // index into sources, -1 for a mapping without a source
  line: Uint32Array;
  column: Uint32Array; // 1-based (0 = unknown)
  sources: string[];
}

export async function loadSourceMap(json: string): Promise<SourceMapIndex | null> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || typeof (raw as { mappings?: unknown }).mappings !== 'string') {
    return null;
  }
  let consumer: SourceMapConsumer | null = null;
  try {
    const { SourceMapConsumer } = await import('source-map');
    consumer = await new SourceMapConsumer(raw as ConstructorParameters<typeof SourceMapConsumer>[0]);
    const items: [number, number, number, number][] = [];
    const sourceIds = new Map<string, number>();
    const sources: string[] = [];
    consumer.eachMapping((m) => {
      // Emscripten writes every wasm mapping on generated line 1.
      if (m.generatedLine !== 1) return;
      let id = -1;
      if (m.source != null) {
        id = sourceIds.get(m.source) ?? -1;
        if (id < 0) {
          id = sources.length;
          sources.push(m.source);
          sourceIds.set(m.source, id);
        }
      }
      items.push([m.generatedColumn, id, m.originalLine ?? 0, m.originalColumn == null ? 0 : m.originalColumn + 1]);
    }, undefined, SourceMapConsumer.GENERATED_ORDER);
    items.sort((a, b) => a[0] - b[0]);
    const n = items.length;
    const index: SourceMapIndex = {
      offsets: new Float64Array(n),
      source: new Int32Array(n),
      line: new Uint32Array(n),
      column: new Uint32Array(n),
      sources,
    };
    items.forEach(([o, s, l, c], i) => {
      index.offsets[i] = o;
      index.source[i] = s;
      index.line[i] = l;
      index.column[i] = c;
    });
    return index;
  } catch {
    return null;
  } finally {
    consumer?.destroy();
  }
}

/** The mapping at or before `offset`, if it lies in [bodyStart, offset]. */
export function sourceMapLookup(
  m: SourceMapIndex,
  offset: number,
  bodyStart: number,
): { file: string; line: number; column?: number } | null {
  let lo = 0, hi = m.offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (m.offsets[mid]! <= offset) lo = mid + 1;
    else hi = mid;
  }
  const i = lo - 1;
  if (i < 0 || m.offsets[i]! < bodyStart) return null;
  const s = m.source[i]!;
  const line = m.line[i]!;
  if (s < 0 || line === 0) return null;
  const column = m.column[i]!;
  return column > 0 ? { file: m.sources[s]!, line, column } : { file: m.sources[s]!, line };
}

/** Decodes a `data:` URL holding a source map (base64 or percent-encoded); null otherwise. */
export function decodeDataURL(url: string): string | null {
  const m = /^data:([^,]*?)(;base64)?,(.*)$/s.exec(url);
  if (!m) return null;
  try {
    if (m[2]) {
      const bin = atob(m[3]!);
      return new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
    }
    return decodeURIComponent(m[3]!);
  } catch {
    return null;
  }
}
