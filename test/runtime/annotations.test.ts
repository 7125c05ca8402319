/**
 * The `kmemleak` imports on a real program (annotate.c through include/kmemleak.h), with a
 * recording engine: each import reaches the engine with its arguments, and the backtraces
 * captured for alloc/update_trace name the calling wasm functions of the original binary.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { parseModule } from '../../src/wasm/binary/index.js';
import { annotationImports, disabledAnnotationImports } from '../../src/wasm/runtime/annotations.js';
import { AllocatorFrames, Backtraces, type FrameSource } from '../../src/wasm/runtime/backtraces.js';
import { FakeEngine } from './fake-engine.js';

const bytes = new Uint8Array(readFileSync(new URL('../fixtures/runtime/annotate.wasm', import.meta.url)));
const names = parseModule(bytes).names!.functions;
const source: FrameSource = { frame: (f, o) => ({ function: names.get(f) ?? null, offset: o, size: 0, funcIndex: f }) };

async function run(hide: (name: string) => boolean = () => false) {
  const k = new FakeEngine();
  const frames: FrameSource = { frame: (f, o) => ({ ...source.frame(f, o), function: hide(names.get(f) ?? '') ? 'malloc' : names.get(f) ?? null }) };
  const traces = new Backtraces(k.depot, null, new AllocatorFrames(frames));
  const wasi = new WASI({ version: 'preview1', args: ['annotate'], env: {}, returnOnExit: true, stdout: 2 });
  const { instance } = await WebAssembly.instantiate(bytes, {
    wasi_snapshot_preview1: wasi.wasiImport,
    kmemleak: annotationImports(k, () => traces.here()),
  } as WebAssembly.Imports);
  expect(wasi.start(instance)).toBe(0);
  const fnames = (h: number) => [...k.traces[h]!].filter((_, i) => i % 2 === 0).map((f) => names.get(f));
  return { k, fnames };
}

describe('annotation imports', () => {
  it('forward every call with unsigned pointers and the caller\'s backtrace', async () => {
    const { k, fnames } = await run();
    const kinds = k.calls.map((c) => c[0]);
    for (const kind of ['alloc', 'free', 'notLeak', 'ignore', 'freePart', 'noScan', 'scanArea', 'updateTrace', 'scan', 'transientLeak']) {
      expect(kinds, kind).toContain(kind);
    }
    const allocs = k.calls.filter((c) => c[0] === 'alloc');
    expect(allocs.map((c) => c[2])).toEqual([21, 22, 23, 24, 26, 40, 28, 29, 32, 31, 30, 25]);
    expect(allocs.every((c) => c[3] === 1 && c[1]! > 65536)).toBe(true);
    // alloc's trace starts at pool_get, called from main
    expect(fnames(allocs[0]![4]!).slice(0, 2)).toEqual(['pool_get', '__original_main']);
    // update_trace's trace starts at retrace
    const upd = k.calls.find((c) => c[0] === 'updateTrace')!;
    expect(fnames(upd[2]!)[0]).toBe('retrace');
    const part = k.calls.find((c) => c[0] === 'freePart')!;
    expect(part[2]).toBe(13);
    const area = k.calls.find((c) => c[0] === 'scanArea')!;
    expect(area.slice(2)).toEqual([4, 4]);
    // the scan import returns the engine's count to the program (printed to fd 2 here)
    expect(k.scans).toBe(1);
  });

  it('drops allocator frames at the top of a trace only', async () => {
    const { k, fnames } = await run((n) => n === 'pool_get');
    const alloc = k.calls.find((c) => c[0] === 'alloc')!;
    expect(fnames(alloc[4]!)[0]).toBe('__original_main');
  });

  it('off: every import is a no-op and scan returns 0', () => {
    const off = disabledAnnotationImports();
    expect(Object.keys(off).sort()).toEqual(Object.keys(annotationImports(new FakeEngine(), () => 0)).sort());
    expect(off['scan']!()).toBe(0);
  });
});
