/**
 * A host for the rewritten module's hooks, for tests that watch the wrappers' fast path
 * (src/wasm/instrument/wrappers.ts) event by event: the real EventLog, a sink that records, and
 * which events took the hook and which came through the log, with which handle.
 */
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { expect } from 'vitest';
import type { Instrumented } from '../../src/wasm/instrument/index.js';
import { EventLog } from '../../src/wasm/runtime/event-log.js';

export interface Ev { kind: 'A' | 'F'; ptr: number; size: number; ctx: bigint; via: 'hook' | 'log' }

const ctxOf = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/**
 * A host in the order HookWiring keeps: the log is flushed before each hook's event, so `events`
 * is in program order. A context enters the table at its `rememberAt`-th hook call (0: never);
 * its handle is its index in `contexts`, so a logged handle names the context it was stored for.
 */
export class Host {
  readonly events: Ev[] = [];
  readonly contexts: bigint[] = [];
  /** Hook calls per context (alloc and free hooks). */
  readonly hookCalls = new Map<bigint, number>();
  log: EventLog | null = null;
  instance: WebAssembly.Instance | null = null;
  /** Calls of the flush hook (the host's safe points on the fast path). */
  flushes = 0;

  constructor(private readonly ins: Instrumented, private readonly rememberAt: number,
    private readonly rawMalloc?: (inst: WebAssembly.Instance) => (n: number) => number) {}

  private setUp(): void {
    if (this.log) return;
    const e = this.instance!.exports;
    const g = this.ins.exports.eventLog!;
    const global = (name: string) => e[name] as WebAssembly.Global;
    this.log = new EventLog(e[this.ins.exports.memory] as WebAssembly.Memory, {
      pos: global(g.pos), end: global(g.end), start: global(g.start), knownBase: global(g.knownBase), knownMask: global(g.knownMask),
    }, {
      alloc: (ptr, size, h) => { this.events.push({ kind: 'A', ptr, size, ctx: this.contexts[h]!, via: 'log' }); },
      free: (ptr, h) => { this.events.push({ kind: 'F', ptr, size: 0, ctx: this.contexts[h]!, via: 'log' }); },
    });
    const raw = this.rawMalloc ? this.rawMalloc(this.instance!) : (e[g.rawMalloc] as (n: number) => number);
    expect(this.log.enable(raw)).toBe(true);
  }

  private seen(lo: number, hi: number): void {
    const ctx = ctxOf(lo, hi);
    const n = (this.hookCalls.get(ctx) ?? 0) + 1;
    this.hookCalls.set(ctx, n);
    if (n === this.rememberAt) {
      this.contexts.push(ctx);
      this.log!.remember(lo, hi, this.contexts.length - 1);
    }
  }

  hooks(): Record<string, (...a: number[]) => void> {
    return {
      alloc: (ptr, size, lo, hi) => {
        this.setUp();
        this.log!.flush();
        this.events.push({ kind: 'A', ptr: ptr! >>> 0, size: size! >>> 0, ctx: ctxOf(lo!, hi!), via: 'hook' });
        this.seen(lo!, hi!);
      },
      free: (ptr, lo, hi) => {
        this.log?.flush();
        this.events.push({ kind: 'F', ptr: ptr! >>> 0, size: 0, ctx: ctxOf(lo!, hi!), via: 'hook' });
        if (this.log) this.seen(lo!, hi!);
      },
      realloc: (old, ptr, size, lo, hi) => {
        this.setUp();
        this.log!.flush();
        if (old) this.events.push({ kind: 'F', ptr: old >>> 0, size: 0, ctx: ctxOf(lo!, hi!), via: 'hook' });
        this.events.push({ kind: 'A', ptr: ptr! >>> 0, size: size! >>> 0, ctx: ctxOf(lo!, hi!), via: 'hook' });
        this.seen(lo!, hi!);
      },
      flush: () => { this.flushes++; this.log!.flush(); },
    };
  }
}

/** Runs a rewritten WASI command, with a Host that remembers contexts at their rememberAt-th hook. */
export function runWasm(ins: Instrumented, name: string, args: string[], rememberAt: number): Host {
  const host = new Host(ins, rememberAt);
  const dir = mkdtempSync(join(tmpdir(), 'kml-wrapper-cache-'));
  const fd = openSync(join(dir, 'out'), 'w');
  try {
    const wasi = new WASI({ version: 'preview1', args: [name, ...args], env: {}, returnOnExit: true, stdout: fd });
    host.instance = new WebAssembly.Instance(new WebAssembly.Module(ins.binary), {
      wasi_snapshot_preview1: wasi.wasiImport,
      [ins.hookModule]: host.hooks(),
    } as unknown as WebAssembly.Imports);
    expect(wasi.start(host.instance)).toBe(0);
    host.log!.flush();
    return host;
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The allocations still live at the end (an allocation and its free cancel out, as the log's cancelling does). */
export function liveAllocs(events: Ev[]): Ev[] {
  const live = new Map<number, Ev>();
  for (const e of events) {
    if (e.kind === 'A') live.set(e.ptr, e);
    else live.delete(e.ptr);
  }
  return [...live.values()];
}

/**
 * What the engine ends up with: the blocks live at the end, in allocation order, and the frees
 * of blocks that were not live (double frees), in order, each with its context.
 */
export function outcome(events: Ev[]): { live: string[]; stray: string[] } {
  const live = new Set<number>();
  const stray: string[] = [];
  for (const e of events) {
    if (e.kind === 'A') live.add(e.ptr);
    else if (!live.delete(e.ptr)) stray.push(`F ${e.ptr} ${e.ctx}`);
  }
  return { live: liveAllocs(events).map((e) => `A ${e.ptr} ${e.size} ${e.ctx}`), stray };
}

