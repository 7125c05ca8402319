/**
 * The JSON report (SPEC §6): one object with the program's name, the leaks in report order and a
 * summary. Fields of SPEC §6 keep their meaning; frames also carry `funcIndex` (and `column` when
 * known), and `"inline": true` on a function inlined into the next frame, which SPEC allows
 * ("more fields may be added").
 */

import type { Frame } from '../symbolize/frame.js';
import type { LeakRecord } from '../engine/leak-record.js';

/** A frame as JSON shows it: the symbolizer's Frame, fields in SPEC §6's key order (jsonFrame). */
export type JsonFrame = Frame;

/** SPEC §6's leak: the engine's record (LeakRecord) with its backtrace as JSON frames. */
export type JsonLeak = Pick<LeakRecord, 'address' | 'size' | 'comm' | 'pid' | 'jiffies' | 'crc' | 'hex'> & { backtrace: JsonFrame[] };

export interface JsonReport {
  program: string;
  leaks: JsonLeak[];
  summary: { leaks: number; bytes: number };
}

export function jsonFrame(f: Frame): JsonFrame {
  // Key order as SPEC §6 shows it; funcIndex last.
  const o = { function: f.function, offset: f.offset, size: f.size } as JsonFrame;
  if (f.file !== undefined) o.file = f.file;
  if (f.line !== undefined) o.line = f.line;
  if (f.column !== undefined) o.column = f.column;
  o.funcIndex = f.funcIndex;
  if (f.inline) o.inline = true;
  return o;
}

/** A backtrace's JSON frames, mapped once per (shared, frozen) frames array of the engine's records. */
const mapped = new WeakMap<readonly Frame[], JsonFrame[]>();
function jsonFrames(frames: readonly Frame[] | undefined): JsonFrame[] {
  if (!frames) return [];
  let out = mapped.get(frames);
  if (out === undefined) {
    out = frames.map(jsonFrame);
    if (Object.isFrozen(frames)) mapped.set(frames, Object.freeze(out) as JsonFrame[]);
  }
  return out;
}

export function jsonLeak(r: LeakRecord): JsonLeak {
  return {
    address: r.address,
    size: r.size,
    comm: r.comm,
    pid: r.pid,
    jiffies: r.jiffies,
    crc: r.crc,
    hex: r.hex,
    backtrace: jsonFrames(r.backtrace),
  };
}

export function buildJsonReport(program: string, leaks: readonly LeakRecord[]): JsonReport {
  let bytes = 0;
  const out: JsonLeak[] = leaks.map((r) => {
    bytes += r.size;
    return jsonLeak(r);
  });
  return { program, leaks: out, summary: { leaks: out.length, bytes } };
}

/**
 * The same report as `JSON.stringify(buildJsonReport(...), null, 2) + '\n'`, byte for byte, written
 * a leak at a time: a report of millions of objects does not fit in one JS string.
 */
export class JsonReportWriter {
  private count = 0;
  private bytes = 0;

  constructor(private readonly program: string, private readonly write: (text: string) => void) {}

  leak(r: LeakRecord): void {
    const head = this.count === 0 ? `{\n  "program": ${JSON.stringify(this.program)},\n  "leaks": [\n` : ',\n';
    this.writeLeak(head, r);
    this.count++;
    this.bytes += r.size;
  }

  /**
   * JSON.stringify(jsonLeak(r), null, 2), each line indented by 4, after `head`. Field by field
   * as JSON.stringify lays them out (undefined members left out), so that fields added to
   * jsonLeak appear without a change here. The backtrace, most of the text, is serialized once
   * per (shared) frames array and handed to `write` as it is: no per-leak copy of it.
   */
  private writeLeak(head: string, r: LeakRecord): void {
    const o = jsonLeak(r) as unknown as Record<string, unknown>;
    let s = head + '    {';
    let first = true;
    for (const key of Object.keys(o)) {
      const v = o[key];
      const member = (first ? '' : ',') + ITEM + JSON.stringify(key) + ': ';
      if (key === 'backtrace' && Array.isArray(v)) {
        this.write(s + member);
        this.write(backtraceJson(r.backtrace, v as JsonFrame[]));
        s = '';
      } else {
        const text: string | undefined = v !== null && typeof v === 'object' ? JSON.stringify(v, null, 2)?.replace(/\n/g, ITEM) : JSON.stringify(v);
        if (text === undefined) continue; // undefined and functions: JSON.stringify leaves the member out
        s += member + text;
      }
      first = false;
    }
    this.write(s + (first ? '}' : '\n    }'));
  }

  end(): void {
    const summary = `"summary": {\n    "leaks": ${this.count},\n    "bytes": ${this.bytes}\n  }\n}\n`;
    if (this.count === 0) this.write(`{\n  "program": ${JSON.stringify(this.program)},\n  "leaks": [],\n  ${summary}`);
    else this.write(`\n  ],\n  ${summary}`);
  }
}

const ITEM = '\n      ';

/** The backtrace array's JSON (indented as a leak's member), once per described frames array. */
const backtraces = new WeakMap<readonly Frame[], string>();
function backtraceJson(source: readonly Frame[] | undefined, frames: JsonFrame[]): string {
  if (frames.length === 0) return '[]';
  let text = source ? backtraces.get(source) : undefined;
  if (text === undefined) {
    text = JSON.stringify(frames, null, 2).replace(/\n/g, ITEM);
    if (source && Object.isFrozen(source)) backtraces.set(source, text);
  }
  return text;
}
