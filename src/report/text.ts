/**
 * kmemleak's text report (SPEC §6), as current kmemleak prints an unreferenced object to the
 * control file, and its dump_object_info() for dump=ADDR. Addresses are 8 hex digits (wasm32);
 * frames print as %pS does (`func+0xoff/0xsize`), followed by ` file:line` when known; a frame
 * with no name prints `wasm-function[N]+0xoff/0xsize`; a raw frame (no describer) prints the
 * V8 way, `wasm-function[N]:0xMODULEOFFSET`; a function inlined into the next frame prints as the
 * kernel's decode_stacktrace.sh shows one, `func file:line [inline]`.
 */

import type { Frame } from '../symbolize/frame.js';
import type { LeakRecord } from '../engine/leak-record.js';
import { hexDumpLines, parseHexBytes } from './hexdump.js';

export const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

export function formatFrame(f: Frame): string {
  // An inlined function, as the kernel's decoded stacks print it: no offset, ` [inline]` last.
  if (f.inline) {
    const where = f.file ? (f.line !== undefined ? ` ${f.file}:${f.line}` : ` ${f.file}`) : '';
    return `${f.function ?? '(inlined)'}${where} [inline]`;
  }
  const name = f.function ?? `wasm-function[${f.funcIndex}]`;
  let s = `${name}+0x${f.offset.toString(16)}/0x${f.size.toString(16)}`;
  if (f.file) s += f.line !== undefined ? ` ${f.file}:${f.line}` : ` ${f.file}`;
  return s;
}

/** Raw depot words (pairs funcIndex, moduleOffset) as lines without indentation. */
export function formatRawFrames(words: ArrayLike<number>): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < words.length; i += 2) out.push(`wasm-function[${words[i]}]:0x${words[i + 1].toString(16)}`);
  return out;
}

/** Backtrace lines, each indented four spaces and newline-terminated. */
export function backtraceLines(frames: Frame[] | undefined, raw?: ArrayLike<number>): string {
  const lines = frames ? frames.map(formatFrame) : raw ? formatRawFrames(raw) : [];
  return lines.map((l) => `    ${l}\n`).join('');
}

/** One unreferenced object; `raw` (depot words) is used when the record has no backtrace. */
export function formatLeak(rec: LeakRecord, raw?: ArrayLike<number>): string {
  const bytes = parseHexBytes(rec.hex);
  return (
    `unreferenced object 0x${hex8(rec.address)} (size ${rec.size}):\n` +
    `  comm "${rec.comm}", pid ${rec.pid}, jiffies ${rec.jiffies}\n` +
    `  hex dump (first ${bytes.length} bytes):\n` +
    hexDumpLines(bytes) +
    `  backtrace (crc ${rec.crc}):\n` +
    backtraceLines(rec.backtrace, raw)
  );
}

export interface ObjectInfo {
  address: number;
  size: number;
  comm: string;
  pid: number;
  jiffies: number;
  minCount: number;
  /** -1 when the object has no colour yet. */
  count: number;
  flags: number;
  checksum: number;
  backtrace?: Frame[];
  raw?: ArrayLike<number>;
}

/** kmemleak's dump_object_info(), without the "kmemleak: " log prefix. */
export function formatObjectInfo(o: ObjectInfo): string {
  return (
    `Object 0x${hex8(o.address)} (size ${o.size}):\n` +
    `  comm "${o.comm}", pid ${o.pid}, jiffies ${o.jiffies}\n` +
    `  min_count = ${o.minCount}\n` +
    `  count = ${o.count}\n` +
    `  flags = 0x${o.flags.toString(16)}\n` +
    `  checksum = ${o.checksum >>> 0}\n` +
    `  backtrace:\n` +
    backtraceLines(o.backtrace, o.raw)
  );
}
