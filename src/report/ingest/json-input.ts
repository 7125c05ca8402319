/**
 * Reads our own JSON report (SPEC §6, with §7's fields when present) back as records. Our JSON
 * knows more than any text: exact frames, and with triage's fields each leak's kind and site title.
 *
 * Invariant: throws only IngestError (FILE:LINE: reason), LINE being where the JSON broke, or the
 * line of the "leaks" key when the shape is wrong.
 */
import { IngestError, type IngestFrame, type IngestRecord } from './model.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? lineAt(text, Number(pos[1])) : text.split('\n').length;
    throw new IngestError(file, line, `not valid JSON (${msg.replace(/ in JSON at position \d+.*$/, '').replace(/\s+/g, ' ').slice(0, 80)})`);
  }
}

function frameOf(v: unknown, where: () => IngestError): IngestFrame {
  if (!isObject(v)) throw where();
  const fn = v['function'];
  if (fn !== null && typeof fn !== 'string') throw where();
  const f: IngestFrame = { function: fn };
  if (typeof v['offset'] === 'number') f.offset = v['offset'];
  if (typeof v['size'] === 'number') f.size = v['size'];
  if (typeof v['file'] === 'string') f.file = v['file'];
  if (typeof v['line'] === 'number') f.line = v['line'];
  if (typeof v['column'] === 'number') f.column = v['column'];
  return f;
}

/** Titles triage gave its sites (SPEC §7), by site index, when the report has them. */
export interface JsonIngest {
  records: IngestRecord[];
  siteTitles: Map<number, string>;
  recordSites: Array<number | undefined>;
}

/**
 * The line each element of the "leaks" array starts on (the array opening after leaksAt), so a
 * record read back names its own line; empty when the text does not have that shape. One pass,
 * strings and escapes skipped, so a brace inside a string does not count.
 */
function recordLines(text: string, leaksAt: number): number[] {
  const lines: number[] = [];
  if (leaksAt < 0) return lines;
  const open = text.indexOf('[', leaksAt);
  if (open < 0) return lines;
  let line = lineAt(text, open);
  let depth = 0;
  for (let i = open + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    else if (c === 34) {                       // a string: skip to its closing quote
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;                     // backslash: the next character is escaped
        else if (d === 34) break;
      }
    } else if (c === 123 || c === 91) {        // { [
      if (depth === 0 && c === 123) lines.push(line);
      depth++;
    } else if (c === 125 || c === 93) {        // } ]
      if (depth === 0) break;                  // the leaks array's own "]"
      depth--;
    }
  }
  return lines;
}

export function readJsonRecords(text: string, file: string): JsonIngest {
  const doc = parseJson(text, file);
  const leaksAt = text.indexOf('"leaks"');
  const shape = (what: string) => new IngestError(file, leaksAt >= 0 ? lineAt(text, leaksAt) : 1, `not a kmemleak JSON report: ${what}`);
  if (!isObject(doc) || !Array.isArray(doc['leaks'])) throw shape('no "leaks" array');
  const records: IngestRecord[] = [];
  const recordSites: Array<number | undefined> = [];
  const leaksLine = leaksAt >= 0 ? lineAt(text, leaksAt) : 1;
  const starts = recordLines(text, leaksAt);
  const lineOf = starts.length === (doc['leaks'] as unknown[]).length ? (i: number) => starts[i]! : () => leaksLine;
  (doc['leaks'] as unknown[]).forEach((v, i) => {
    if (!isObject(v) || typeof v['size'] !== 'number' || !Array.isArray(v['backtrace'])) {
      throw shape(`leaks[${i}] needs a numeric "size" and a "backtrace" array`);
    }
    const addr = v['address'];
    const rec: IngestRecord = {
      address: typeof addr === 'number' ? `0x${(addr >>> 0).toString(16).padStart(8, '0')}` : typeof addr === 'string' ? addr : null,
      size: v['size'],
      hex: typeof v['hex'] === 'string' ? v['hex'] : '',
      backtrace: (v['backtrace'] as unknown[]).map((f, j) => frameOf(f, () => shape(`leaks[${i}].backtrace[${j}] is not a frame`))),
      truncated: false,
      origin: 'kmemleak-wasm',
      source: { file, line: lineOf(i) },
    };
    if (typeof v['comm'] === 'string') rec.comm = v['comm'];
    if (typeof v['pid'] === 'number') rec.pid = v['pid'];
    if (typeof v['jiffies'] === 'number') rec.jiffies = v['jiffies'];
    if (typeof v['crc'] === 'string') rec.crc = v['crc'];
    if (v['kind'] === 'direct' || v['kind'] === 'indirect') rec.kind = v['kind'];
    records.push(rec);
    recordSites.push(typeof v['site'] === 'number' ? v['site'] : undefined);
  });
  const siteTitles = new Map<number, string>();
  const siteRetained = new Map<number, number>();
  if (Array.isArray(doc['sites'])) {
    for (const s of doc['sites'] as unknown[]) {
      if (!isObject(s) || typeof s['id'] !== 'number') continue;
      if (typeof s['title'] === 'string') siteTitles.set(s['id'], s['title']);
      if (typeof s['retained'] === 'number') siteRetained.set(s['id'], s['retained']);
    }
  }
  // A site's retained bytes ride on its first listed record (model.ts: IngestRecord.retained).
  const seen = new Set<number>();
  records.forEach((rec, i) => {
    const site = recordSites[i];
    const retained = site === undefined ? undefined : siteRetained.get(site);
    if (retained === undefined) return;
    rec.retained = seen.has(site!) ? 0 : retained;
    seen.add(site!);
  });
  return { records, siteTitles, recordSites };
}
