/**
 * `kmemleak run --trace-depth N`: parsed into RunOptions.traceDepth (default 16), bad values are
 * a one-line usage error naming the option (exit 2, as for other bad options), the help lists it,
 * and as a process `--trace-depth 0` reports the leak with no backtrace lines.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { toRunOptions, type RawRunOptions } from '../../src/cli/parse-run.js';
import { InputError } from '../../src/wasm/runtime/errors.js';
import { RUN_DEFAULTS } from '../../src/wasm/runtime/options.js';
import { bundleCli, cli, fixture, spawnCli } from './helpers.js';

const raw = (o: Partial<RawRunOptions> = {}): RawRunOptions => ({ dir: [], env: [], ...o });
const BAD = ['-1', '17', '2.5', 'x', '', '1e1', '0x4'];

function usageError(f: () => unknown): string {
  try { f(); } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).exitCode).toBe(2);
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('toRunOptions: --trace-depth', () => {
  it('defaults to 16 (RUN_DEFAULTS), and takes 0..16', () => {
    expect(RUN_DEFAULTS.traceDepth).toBe(16);
    expect(toRunOptions('m.wasm', [], raw(), {}).traceDepth).toBe(16);
    for (const n of [0, 1, 2, 15, 16]) expect(toRunOptions('m.wasm', [], raw({ traceDepth: String(n) }), {}).traceDepth).toBe(n);
    expect(toRunOptions('m.wasm', [], raw({ traceDepth: ' 3 ' }), {}).traceDepth).toBe(3);
  });

  it.each(BAD)('rejects %j with one line naming the option', (bad) => {
    const msg = usageError(() => toRunOptions('m.wasm', [], raw({ traceDepth: bad }), {}));
    expect(msg).toMatch(/^--trace-depth: /);
    expect(msg).not.toMatch(/\n/);
  });
});

describe('kmemleak run --trace-depth (command line)', () => {
  it('a bad value: exit 2, the error on one line, then the usual usage hint', async () => {
    for (const bad of ['-1', '17', '2.5', 'deep']) {
      const r = await cli(['run', '--trace-depth', bad, fixture('tool.wasm')]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      const lines = r.err.split('\n').filter(Boolean);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^kmemleak: --trace-depth: /);
      expect(lines[1]).toBe("Try 'kmemleak run --help' for usage.");
    }
  });

  it('the help lists the option and its default', async () => {
    const r = await cli(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--trace-depth <n>/);
    expect(r.out).toMatch(/--trace-depth 16\./);
  });
});

describe('kmemleak run --trace-depth (process)', () => {
  let entry = '';
  beforeAll(async () => { entry = await bundleCli(); });

  it('0: the leak is reported with its backtrace header and no frame lines; 16: with frames', () => {
    const off = spawnCli(entry, ['run', '--trace-depth', '0', fixture('tool.wasm'), 'leak', '1']);
    expect(off.code).toBe(23);
    expect(off.err).toMatch(/^kmemleak: 1 new suspected memory leaks \(see below\)\nunreferenced object 0x[0-9a-f]{8} \(size 10\):\n  comm "_start", pid \d+, jiffies \d+\n  hex dump \(first 10 bytes\):\n    4c 4c[^\n]*\n  backtrace \(crc [0-9a-f]{8}\):\n  1 objects, 10 bytes at this site \(1 direct, 0 indirect\), retained 10 bytes\nkmemleak: summary: 10 bytes in 1 objects at 1 sites \(1 direct, 0 indirect\)\n$/);
    const full = spawnCli(entry, ['run', '--trace-depth=16', fixture('tool.wasm'), 'leak', '1']);
    expect(full.code).toBe(23);
    expect(full.err).toMatch(/  backtrace \(crc [0-9a-f]{8}\):\n    leak_one\+0x/);
  });

  it('a bad value as a process: exit 2, no JS stack trace', () => {
    const r = spawnCli(entry, ['run', '--trace-depth=99', fixture('tool.wasm')]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("kmemleak: --trace-depth: 99 is out of range (0..16)\nTry 'kmemleak run --help' for usage.\n");
  });
});
