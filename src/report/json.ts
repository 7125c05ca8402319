/**
 * The JSON report (SPEC §6): one object with the program's name, the leaks in report order and a
 * summary. Fields of SPEC §6 keep their meaning; frames also carry `funcIndex` (and `column` when
 * known), which SPEC allows ("more fields may be added").
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
  return o;
}

export function buildJsonReport(program: string, leaks: readonly LeakRecord[]): JsonReport {
  let bytes = 0;
  const out: JsonLeak[] = leaks.map((r) => {
    bytes += r.size;
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
  });
  return { program, leaks: out, summary: { leaks: out.length, bytes } };
}
