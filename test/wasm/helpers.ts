/**
 * Test helpers for the wasm rewriter and layout: committed fixtures, and running a (rewritten)
 * WASI command with a hook recorder, capturing its stdout.
 *
 * Why: the rewriter's promises are behavioural (same output, each allocation recorded once, frames
 * map back), so tests run the modules for real on node:wasi instead of inspecting bytes only.
 */
import { mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';

export const FIXTURES = fileURLToPath(new URL('../fixtures/wasm/', import.meta.url));

export function fixture(name: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

/** Every valid wasm fixture: C fixtures, the hand-written features module, the corpus. */
export function validFixtures(): string[] {
  const bad = new Set(['bad_magic.wasm', 'truncated.wasm', 'huge_section.wasm', 'code_without_function.wasm',
    'short_header.wasm', 'text.wasm']);
  const top = readdirSync(FIXTURES).filter((f) => f.endsWith('.wasm') && !bad.has(f));
  const corpus = readdirSync(join(FIXTURES, 'corpus')).filter((f) => f.endsWith('.wasm')).map((f) => `corpus/${f}`);
  return [...top, ...corpus];
}

export const MALFORMED = ['bad_magic.wasm', 'truncated.wasm', 'huge_section.wasm', 'code_without_function.wasm',
  'short_header.wasm', 'text.wasm'];

export interface HookEvent {
  kind: 'alloc' | 'free' | 'realloc';
  ptr: number;
  old: number;
  size: number;
  ctx: bigint;
  /** The wasm frames live at the hook, when asked for. */
  frames?: Array<[number, number]>;
}

export interface RunResult {
  stdout: string;
  exitCode: number | null;
  trap: Error | null;
  /** The trap's wasm frames (function index, module offset), innermost first. */
  trapFrames: Array<[number, number]>;
  events: HookEvent[];
  instance: WebAssembly.Instance;
}

const ctxOf = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/** Runs a WASI command (original or rewritten) and records the __kmemleak_hooks calls. */
export function runWasi(binary: Uint8Array<ArrayBuffer>, opts: { args?: string[]; stacks?: boolean } = {}): RunResult {
  const dir = mkdtempSync(join(tmpdir(), 'kml-wasm-test-'));
  const outPath = join(dir, 'stdout');
  const fd = openSync(outPath, 'w');
  const events: HookEvent[] = [];
  const stack = (): Array<[number, number]> | undefined => (opts.stacks ? wasmFramesHere() : undefined);
  const hooks = {
    alloc: (ptr: number, size: number, lo: number, hi: number) => {
      events.push({ kind: 'alloc', ptr: ptr >>> 0, old: 0, size: size >>> 0, ctx: ctxOf(lo, hi), frames: stack() });
    },
    free: (ptr: number) => {
      events.push({ kind: 'free', ptr: ptr >>> 0, old: 0, size: 0, ctx: 0n, frames: stack() });
    },
    realloc: (old: number, ptr: number, size: number, lo: number, hi: number) => {
      events.push({ kind: 'realloc', ptr: ptr >>> 0, old: old >>> 0, size: size >>> 0, ctx: ctxOf(lo, hi), frames: stack() });
    },
    // The event log's flush: never called here, the fast path stays off (its table base is 0).
    flush: () => { throw new Error('flush called with the fast path off'); },
  };
  const kmemleak = new Proxy({}, { get: () => () => 0 });
  try {
    const wasi = new WASI({ version: 'preview1', args: ['prog', ...(opts.args ?? [])], env: {}, returnOnExit: true, stdout: fd });
    const module = new WebAssembly.Module(binary);
    const instance = new WebAssembly.Instance(module, {
      wasi_snapshot_preview1: wasi.wasiImport,
      __kmemleak_hooks: hooks,
      kmemleak,
    } as unknown as WebAssembly.Imports);
    let exitCode: number | null = null;
    let trap: Error | null = null;
    let trapFrames: Array<[number, number]> = [];
    try {
      exitCode = wasi.start(instance);
    } catch (e) {
      trap = e as Error;
      trapFrames = wasmFramesOf(trap);
    }
    closeSync(fd);
    return { stdout: readFileSync(outPath, 'utf8'), exitCode, trap, trapFrames, events, instance };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The hook events as the lines the fixtures print: "A ptr size" and "F ptr". */
export function eventLines(events: HookEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.kind === 'alloc') out.push(`A ${e.ptr} ${e.size}`);
    else if (e.kind === 'free') out.push(`F ${e.ptr}`);
    else {
      if (e.old) out.push(`F ${e.old}`);
      out.push(`A ${e.ptr} ${e.size}`);
    }
  }
  return out;
}

/** The A/F lines a fixture printed. */
export function saidLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => /^[AF] \d+/.test(l));
}

interface WasmCallSite {
  getFileName(): string | null;
  getFunction(): unknown;
  getColumnNumber(): number | null;
}

/**
 * Wasm frames [funcIndex, moduleOffset], innermost first, through V8's structured call sites: for
 * a wasm frame getFunction() is the function index and getColumnNumber() the offset + 1. (The
 * stack string cannot be used: with source maps enabled, as under vitest, Node prints wasm frames
 * as `wasm://wasm/HASH:1:COL`, without the function index.)
 */
function framesFromSites(sites: WasmCallSite[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of sites) {
    const file = s.getFileName();
    if (typeof file !== 'string' || !file.startsWith('wasm://')) continue;
    const f = s.getFunction();
    const col = s.getColumnNumber();
    if (typeof f === 'number' && typeof col === 'number') out.push([f, col - 1]);
  }
  return out;
}

function withSites<T>(read: () => T): T {
  const E = Error as unknown as { prepareStackTrace?: unknown; stackTraceLimit: number };
  const prev = E.prepareStackTrace;
  const prevLimit = E.stackTraceLimit;
  E.prepareStackTrace = (_e: Error, sites: WasmCallSite[]) => sites;
  E.stackTraceLimit = 64;
  try {
    return read();
  } finally {
    E.prepareStackTrace = prev;
    E.stackTraceLimit = prevLimit;
  }
}

/** The wasm frames live right now. */
export function wasmFramesHere(): Array<[number, number]> {
  return withSites(() => framesFromSites(new Error().stack as unknown as WasmCallSite[]));
}

/** The wasm frames of an error whose stack was not read yet. */
export function wasmFramesOf(e: Error): Array<[number, number]> {
  return withSites(() => {
    const s = e.stack as unknown;
    return Array.isArray(s) ? framesFromSites(s as WasmCallSite[]) : [];
  });
}
