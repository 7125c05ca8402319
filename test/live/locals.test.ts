/**
 * Live locals are roots (issue 14, point 3): the i32 locals of frames below a call that can reach
 * proc_exit or a blocking WASI call are spilled to the shadow stack around that call
 * (src/wasm/instrument/spill.ts), so a block held only by such a local is not reported by a scan
 * at a wait, even with --min-age 0, nor by the exit scan when exit() is called from a nested
 * function. waits.wasm is built at -O2, where those pointers live in wasm locals. Each case runs
 * with KMEMLEAK_SPILL=off too, to show the test can fail: the block is reported then.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { bundleCli, spawnCli } from '../cli/helpers.js';
import { instrument } from '../../src/wasm/instrument/index.js';
import { WAITS } from './helpers.js';

let entry = '';
beforeAll(async () => { entry = await bundleCli(); });

const run = (args: string[], spill: 'on' | 'off') =>
  spawnCli(entry, ['run', ...args], { env: { ...process.env, KMEMLEAK_SPILL: spill, KMEMLEAK_CACHE: 'off' } });

describe('live locals as roots', () => {
  it('exit() from a nested function: the block the caller holds in a local is not reported', () => {
    const on = run([WAITS, 'exit'], 'on');
    expect(on.out).toBe('exiting from a nested function\n');
    expect(on.err).toBe('');
    expect(on.code).toBe(3);                      // the program's own status
    const off = run([WAITS, 'exit'], 'off');
    expect(off.code).toBe(23);
    expect(off.err).toContain('held by a local ');
  });

  it('exit() called by the frame that holds the block in a local (dead there): not reported', () => {
    // Every local is dead after a call that never returns; sites that can reach proc_exit keep
    // them all anyway, as a native frame keeps the pointer in a register or slot LeakSanitizer scans.
    const on = run([WAITS, 'exithere'], 'on');
    expect(on).toMatchObject({ code: 5, out: 'held by the exiting frame\n', err: '' });
    const off = run([WAITS, 'exithere'], 'off');
    expect(off.code).toBe(23);
  });

  it('the same function returning normally frees the block: nothing to report either way', () => {
    const r = run([WAITS, 'exit', '0'], 'on');
    expect(r).toMatchObject({ code: 0, out: 'held by a local when exit is called\n', err: '' });
  });

  it('a scan at a wait, with --min-age 0, does not report a block held by a local below it', () => {
    const args = ['--min-age', '0', '--scan=1', '--first-scan', '0.1', WAITS, 'held', '2300'];
    const on = run(args, 'on');
    expect(on).toMatchObject({ code: 0, out: 'held only by a local of mode_held\n', err: '' });
    const off = run(args, 'off');                 // the scans at 0.1 s and 1.1 s see no pointer
    expect(off.err).toMatch(/^kmemleak: 1 new suspected memory leaks/);   // freed later: not in the exit report
  }, 30_000);

  it('spills only around calls that can reach the exit or a wait, and the module stays valid', () => {
    const original = new Uint8Array(readFileSync(WAITS));
    const ins = instrument(original);
    expect(ins.stats.spillSites).toBeGreaterThan(0);
    expect(WebAssembly.validate(ins.binary)).toBe(true);
    expect(instrument(original, { spillLocals: false }).stats.spillSites).toBe(0);
  });
});
