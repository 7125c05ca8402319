/**
 * The embedding API's `traceDepth` option (as `kmemleak run --trace-depth`): 0 finds the same
 * leaks with no backtrace and never captures a JS stack, N keeps the top N frames, a WASI
 * command's argv is still start-up data at 0, and bad values are a one-line Error.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { instantiate, WasiShim, type KmemleakHandle } from '../../src/api/index.js';

const leaky = fs.readFileSync(path.join(__dirname, 'fixtures', 'leaky.wasm'));
const hello = fs.readFileSync(path.join(__dirname, 'fixtures', 'hello.wasm'));

interface Leaky { _initialize(): void; leak(n: number, size: number): void }

async function leaksAt(traceDepth: number | undefined) {
  const h: KmemleakHandle = await instantiate(leaky, { host: { callback: () => {} } }, {
    minAgeMs: 0, scan: 'off', log: () => {}, ...(traceDepth !== undefined ? { traceDepth } : {}),
  });
  const ex = h.exports as unknown as Leaky;
  ex._initialize();
  const spy = vi.spyOn(Error, 'captureStackTrace');
  ex.leak(3, 40);
  ex.leak(2, 24);
  const captured = spy.mock.calls.length;
  spy.mockRestore();
  await h.scan();
  await h.scan();
  return { leaks: h.leaks(), captured };
}

describe('instantiate({ traceDepth })', () => {
  afterEach(() => { vi.restoreAllMocks(); });

  it('0: the same leaks as the default, no backtrace, no stack captured', async () => {
    const full = await leaksAt(undefined);
    const off = await leaksAt(0);
    expect(full.leaks.map((l) => [l.address, l.size])).toEqual(off.leaks.map((l) => [l.address, l.size]));
    expect(off.leaks.map((l) => l.size)).toEqual([40, 40, 40, 24, 24]);
    expect(full.captured).toBeGreaterThan(0);
    expect(off.captured).toBe(0);
    for (const l of off.leaks) expect(l.backtrace ?? []).toEqual([]);
    for (const l of full.leaks) expect(l.backtrace!.map((f) => f.function)).toContain('leak');
  });

  it('1 and 2: the top frames of the full backtrace', async () => {
    const full = await leaksAt(16);
    for (const depth of [1, 2]) {
      const cut = await leaksAt(depth);
      expect(cut.leaks).toHaveLength(full.leaks.length);
      cut.leaks.forEach((l, i) => expect(l.backtrace).toEqual(full.leaks[i]!.backtrace!.slice(0, depth)));
      expect(cut.leaks[0]!.backtrace!.map((f) => f.function)).toEqual(['make_block', 'leak'].slice(0, depth));
    }
  });

  it('0 on a WASI command: argv is still start-up data, not a leak', async () => {
    let out = '';
    const shim = new WasiShim({ args: ['hello', 'a', 'b'], stdout: (t) => (out += t) });
    const h = await instantiate(hello, shim.importObject(), { scan: 'off', log: () => {}, traceDepth: 0 });
    expect(shim.start(h.instance)).toBe(0);
    expect(out).toContain('arg2=b');
    expect(await h.exitScan()).toBe(0);
  });

  it.each([-1, 17, 1.5, Number.NaN, '4' as unknown as number])('rejects %s with a one-line Error naming traceDepth', async (bad) => {
    const e = await instantiate(leaky, { host: { callback: () => {} } }, { traceDepth: bad, log: () => {} }).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/^traceDepth: [^\n]+$/);
  });
});
