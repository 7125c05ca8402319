/**
 * wrapWebAssembly(): patching WebAssembly.instantiate / instantiateStreaming / compile for code
 * the user does not control; modules without an allocator pass through untouched; restore().
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { wrapWebAssembly, type KmemleakHandle } from '../../src/api/index.js';

const bytes = fs.readFileSync(path.join(__dirname, 'fixtures', 'leaky.wasm'));
const imports = { host: { callback: () => {} } };
// (module (func (export "two") (result i32) i32.const 2)): no memory, no allocator.
const plain = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 7, 7, 1, 3, 116, 119, 111, 0, 0, 10, 6, 1, 4, 0, 65, 2, 11,
]);
const original = WebAssembly.instantiate;
let restore: (() => void) | null = null;
afterEach(() => {
  restore?.();
  restore = null;
});

type Leaky = { _initialize(): void; leak(n: number, s: number): void };

describe('wrapWebAssembly', () => {
  it('instruments modules instantiated by code that calls WebAssembly.instantiate', async () => {
    const seen: KmemleakHandle[] = [];
    const w = wrapWebAssembly({ minAgeMs: 0, scan: 'off', log: () => {}, onInstance: (h) => seen.push(h) });
    restore = w.restore;
    const { instance } = (await WebAssembly.instantiate(bytes, imports)) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
    const ex = instance.exports as unknown as Leaky;
    ex._initialize();
    ex.leak(2, 24);
    expect(seen.length).toBe(1);
    expect(w.handles).toEqual(seen);
    await seen[0]!.scan();
    expect(await seen[0]!.scan()).toBe(2);
    expect(seen[0]!.leaks().every((l) => l.comm === 'leak' && l.size === 24)).toBe(true);
  });

  it('covers instantiateStreaming and compile-then-instantiate', async () => {
    // Node's own fetch (undici) instantiates its HTTP parser, which has a malloc, the first time
    // a Response needs it: the filter keeps the detector to our module.
    const ours = (_b: Uint8Array, imp: WebAssembly.Imports | undefined) => !!imp && 'host' in imp;
    const w = wrapWebAssembly({ minAgeMs: 0, scan: 'off', log: () => {}, filter: ours });
    restore = w.restore;
    const a = await WebAssembly.instantiateStreaming(new Response(bytes, { headers: { 'content-type': 'application/wasm' } }), imports);
    (a.instance.exports as unknown as Leaky)._initialize();
    const m = await WebAssembly.compile(bytes);
    const inst = (await WebAssembly.instantiate(m, imports)) as WebAssembly.Instance;
    (inst.exports as unknown as Leaky)._initialize();
    (inst.exports as unknown as Leaky).leak(1, 8);
    expect(w.handles.length).toBe(2);
    expect(inst).toBe(w.handles[1]!.instance);
    expect(a.instance).toBe(w.handles[0]!.instance);
    await w.handles[1]!.scan();
    expect(await w.handles[1]!.scan()).toBe(1);
  });

  it('lets modules without an allocator through untouched, and restores the originals', async () => {
    const w = wrapWebAssembly({ log: () => {} });
    const { instance } = (await WebAssembly.instantiate(plain)) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
    expect((instance.exports.two as () => number)()).toBe(2);
    expect(w.handles.length).toBe(0);
    w.restore();
    expect(WebAssembly.instantiate).toBe(original);
  });

  it('the filter decides which modules are instrumented', async () => {
    const w = wrapWebAssembly({ log: () => {}, filter: () => false });
    restore = w.restore;
    await WebAssembly.instantiate(bytes, imports);
    expect(w.handles.length).toBe(0);
  });
});
