/**
 * The `scan` import a program calls itself (SPEC §5) runs at once, inside wasm: static data and
 * the live shadow stack are scanned; the i32 locals of the frames below the call are too, since the
 * rewriter spills them to the shadow stack around calls that can reach the scan import
 * (src/wasm/instrument/spill.ts; test/live/locals.test.ts shows the same fixture-free case with
 * spilling off); the minimum age keeps young blocks out of the report. Also the other
 * annotation imports reach the engine through the API.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { instantiate } from '../../src/api/index.js';

const bytes = fs.readFileSync(path.join(__dirname, 'fixtures', 'annotated.wasm'));
type Ex = {
  _initialize(): void;
  scan_with_local(n: number): number;
  scan_with_stack_slot(n: number): number;
  lose_annotated(n: number): void;
};

async function load(minAgeMs: number) {
  const log: string[] = [];
  const h = await instantiate(bytes, {}, { minAgeMs, scan: 'off', log: (l) => log.push(l) });
  const ex = h.exports as unknown as Ex;
  ex._initialize();
  return { h, ex, log };
}

describe('the scan import, called from inside wasm', () => {
  it('sees a pointer held in a wasm local across the call (spilled): nothing reported with no minimum age', async () => {
    const { ex, h } = await load(0);
    expect(ex.scan_with_local(32)).toBe(0);
    expect(h.read()).toBe('');
  });

  it('the minimum age protects young blocks (the default rule for scans inside wasm)', async () => {
    const { ex, h } = await load(5000);
    expect(ex.scan_with_local(32)).toBe(0);
    expect(h.read()).toBe('');
  });

  it('finds a pointer kept on the live shadow stack', async () => {
    const { ex } = await load(0);
    expect(ex.scan_with_stack_slot(32)).toBe(0);
  });

  it('annotations from the program reach the engine (not_leak)', async () => {
    const { ex, h } = await load(0);
    ex.lose_annotated(16);
    expect((await h.scan()) + (await h.scan())).toBe(0);
  });
});
