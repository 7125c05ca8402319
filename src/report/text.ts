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

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** n as 8 lowercase hex digits, by byte table: a report calls it twice an object (address, crc). */
export const hex8 = (n: number): string => HEX2[n >>> 24]! + HEX2[(n >>> 16) & 255]! + HEX2[(n >>> 8) & 255]! + HEX2[n & 255]!;

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
export function backtraceLines(frames: readonly Frame[] | undefined, raw?: ArrayLike<number>): string {
  if (frames) return backtraceText(frames);
  return (raw ? formatRawFrames(raw) : []).map((l) => `    ${l}\n`).join('');
}

/**
 * A described backtrace's lines, formatted once per array: the engine hands every record of one
 * trace the same frozen array (only those are kept), so a report of 100K objects from a few hundred call paths
 * formats a few hundred backtraces.
 */
const formatted = new WeakMap<readonly Frame[], string>();
function backtraceText(frames: readonly Frame[]): string {
  let text = formatted.get(frames);
  if (text === undefined) {
    text = '';
    for (const f of frames) text += `    ${formatFrame(f)}\n`;
    if (Object.isFrozen(frames)) formatted.set(frames, text);
  }
  return text;
}

/**
 * One unreferenced object; `raw` (depot words) is used when the record has no backtrace. `bytes`:
 * the hex dump's bytes when the caller has them (else they are parsed back from `rec.hex`).
 */
export function formatLeak(rec: LeakRecord, raw?: ArrayLike<number>, bytes: ArrayLike<number> = parseHexBytes(rec.hex)): string {
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
