/**
 * The JSON report (SPEC §6): one object with the program's name, the leaks in report order and a
 * summary. Fields of SPEC §6 keep their meaning; frames also carry `funcIndex` (and `column` when
 * known), and `"inline": true` on a function inlined into the next frame, which SPEC allows
 * ("more fields may be added").
 */

import type { Frame } from '../symbolize/frame.js';
import type { LeakRecord } from '../engine/leak-record.js';

export interface JsonFrame {
  function: string | null;
  offset: number;
  size: number;
  file?: string;
  line?: number;
  column?: number;
  funcIndex: number;
  /** A function inlined into the next frame (its offset, size and funcIndex are that frame's). */
  inline?: true;
}

export interface JsonLeak {
  address: number;
  size: number;
  comm: string;
  pid: number;
  jiffies: number;
  crc: string;
  hex: string;
  backtrace: JsonFrame[];
}

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

export function jsonLeak(r: LeakRecord): JsonLeak {
  return {
    address: r.address,
    size: r.size,
    comm: r.comm,
    pid: r.pid,
    jiffies: r.jiffies,
    crc: r.crc,
    hex: r.hex,
    backtrace: (r.backtrace ?? []).map(jsonFrame),
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
    this.write(head + '    ' + JSON.stringify(jsonLeak(r), null, 2).replace(/\n/g, '\n    '));
    this.count++;
    this.bytes += r.size;
  }

  end(): void {
    const summary = `"summary": {\n    "leaks": ${this.count},\n    "bytes": ${this.bytes}\n  }\n}\n`;
    if (this.count === 0) this.write(`{\n  "program": ${JSON.stringify(this.program)},\n  "leaks": [],\n  ${summary}`);
    else this.write(`\n  ],\n  ${summary}`);
  }
}
