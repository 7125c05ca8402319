/**
 * realloc on the fast path (src/wasm/instrument/wrappers.ts, reallocRecord): a realloc whose
 * calling context is known is logged as a free of the old block and an allocation of the new one,
 * without a hook call, and the report is the slow path's (KMEMLEAK_FAST_PATH=off: every event a
 * hook call). The fixture allocates only through realloc (realloc(NULL, n), growth in place and
 * moved, free), as Lua's allocator does.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { describe, expect, it } from 'vitest';
import { instrument } from '../../src/wasm/instrument/index.js';
import { EventLog } from '../../src/wasm/runtime/event-log.js';
import { fixture, reported, run } from './helpers.js';

/** The report without what legitimately differs: addresses, times, and the bytes and CRC of blocks
 * that hold heap addresses (the log's block shifts the heap). */
const norm = (text: string): string => text.replace(/0x[0-9a-f]{8}/g, 'ADDR').replace(/jiffies \d+/g, 'jiffies J')
  .replace(/^ +(?:[0-9a-f]{2} )+ .*$/gm, 'HEX').replace(/crc [0-9a-f]{8}/g, 'crc C');

describe('realloc on the fast path', () => {
  it('gives the slow path\'s report: each grown, dropped buffer once, with the realloc caller\'s backtrace', async () => {
    const saved = process.env['KMEMLEAK_CACHE'];
    process.env['KMEMLEAK_CACHE'] = 'off';
    try {
      const fast = await run(fixture('realloc_only.wasm'), ['3000']);
      process.env['KMEMLEAK_FAST_PATH'] = 'off';
      const slow = await run(fixture('realloc_only.wasm'), ['3000']);
      expect(fast.out).toBe('realloc_only: 3000 rounds, 300 leaked\n');
      expect(fast.result.leaks).toBe(300);
      expect(norm(fast.err)).toBe(norm(slow.err));
      for (const o of reported(fast.err)) {
        expect(o.size).toBe(2048);
        expect(o.fns.slice(0, 3)).toEqual(['l_alloc', 'grow_buffer', 'main']);
      }
    } finally {
      delete process.env['KMEMLEAK_FAST_PATH'];
      if (saved === undefined) delete process.env['KMEMLEAK_CACHE'];
      else process.env['KMEMLEAK_CACHE'] = saved;
    }
  });

  it('takes no hook once the context is known: the reallocs arrive through the log, in order', () => {
    const ins = instrument(new Uint8Array(readFileSync(fixture('realloc_only.wasm'))));
    const g = ins.exports.eventLog!;
    let instance: WebAssembly.Instance | null = null;
    let log: EventLog | null = null;
    const events: string[] = [];
    let hookReallocs = 0;
    let hookCalls = 0;
    let logged = 0;
    const contexts = new Map<string, number>();
    const learn = (lo: number, hi: number): void => {
      const key = `${lo >>> 0}:${hi >>> 0}`;
      if (!contexts.has(key)) { contexts.set(key, contexts.size); log!.remember(lo, hi, contexts.size - 1); }
    };
    const setUp = (): void => {
      if (log) return;
      const e = instance!.exports;
      const global = (name: string) => e[name] as WebAssembly.Global;
      log = new EventLog(e[ins.exports.memory] as WebAssembly.Memory, {
        pos: global(g.pos), end: global(g.end), start: global(g.start), knownBase: global(g.knownBase), knownMask: global(g.knownMask),
      }, {
        alloc: (ptr, size) => { logged++; events.push(`A ${ptr} ${size}`); },
        free: (ptr) => { logged++; events.push(`F ${ptr}`); },
      });
      expect(log.enable(e[g.rawMalloc] as (n: number) => number)).toBe(true);
    };
    const hooks = {
      alloc: (ptr: number, size: number, lo: number, hi: number) => { hookCalls++; setUp(); log!.flush(); events.push(`A ${ptr >>> 0} ${size >>> 0}`); learn(lo, hi); },
      free: (ptr: number, lo: number, hi: number) => { hookCalls++; log?.flush(); events.push(`F ${ptr >>> 0}`); if (log) learn(lo, hi); },
      realloc: (old: number, ptr: number, size: number, lo: number, hi: number) => {
        setUp();
        log!.flush();
        hookReallocs++;
        hookCalls++;
        if (old !== 0) events.push(`F ${old >>> 0}`);
        events.push(`A ${ptr >>> 0} ${size >>> 0}`);
        learn(lo, hi);
      },
      flush: () => { log!.flush(); },
    };
    const dir = mkdtempSync(join(tmpdir(), 'kml-realloc-'));
    const fd = openSync(join(dir, 'out'), 'w');
    try {
      const wasi = new WASI({ version: 'preview1', args: ['realloc_only', '200'], env: {}, returnOnExit: true, stdout: fd });
      instance = new WebAssembly.Instance(new WebAssembly.Module(ins.binary), {
        wasi_snapshot_preview1: wasi.wasiImport, [ins.hookModule]: hooks,
      } as unknown as WebAssembly.Imports);
      expect(wasi.start(instance)).toBe(0);
      log!.flush();
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
    // 200 rounds of 9 reallocs and a free each (plus spacers): hooks only at the first sight of a
    // context, everything else through the log
    expect(hookReallocs).toBeGreaterThan(0);
    expect(hookCalls).toBeLessThan(20);
    expect(logged).toBeGreaterThanOrEqual(20);   // the dropped buffers at least; the rest cancel in their batch
    // what the engine is left with: exactly the 20 dropped 2048-byte buffers (and start-up blocks)
    const live = new Map<number, number>();
    for (const e of events) {
      const [k, p, s] = e.split(' ');
      if (k === 'A') live.set(Number(p), Number(s));
      else live.delete(Number(p));
    }
    expect([...live.values()].filter((s) => s === 2048)).toHaveLength(20);
  });
});
