/**
 * LSAN_OPTIONS and the `kmemleak run` option for each flag (src/peers/lsan-flags.ts), end to end
 * on lsan_options.c, with the verdicts LeakSanitizer gives natively for the same source; and the
 * flag parser itself (LSan's separators, quotes, booleans, unknown flags).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FLAG_TABLE, parseLsanOptions, splitFlags } from '../../src/peers/lsan-flags.js';
import { InputError } from '../../src/wasm/runtime/errors.js';
import { reported, runPeer } from './helpers.js';

const prog = 'lsan_options.wasm';
const sizes = (err: string): number[] => reported(err).map((o) => o.size);

describe('each flag, as LSAN_OPTIONS and as a kmemleak run option', () => {
  const cases: Array<{ mode: string; flag: string; raw: Record<string, string>; base: number[]; changed: number[] }> = [
    // A block referenced only from a live frame while __lsan_do_leak_check runs.
    { mode: 'stack', flag: 'use_stacks=0', raw: { stack: 'off' }, base: [], changed: [30] },
    // A block referenced only from a global.
    { mode: 'globals', flag: 'use_globals=0', raw: { useGlobals: 'off' }, base: [], changed: [31] },
    // A block referenced only from byte offset 1 of a global (LLVM's use_unaligned.cpp case).
    { mode: 'unaligned', flag: 'use_unaligned=1', raw: { useUnaligned: 'on' }, base: [32], changed: [] },
    { mode: 'three', flag: 'max_leaks=2', raw: { maxLeaks: '2' }, base: [33, 34, 35], changed: [33, 34] },
    { mode: 'three', flag: 'leak_check_at_exit=0', raw: { leakCheckAtExit: 'off' }, base: [33, 34, 35], changed: [] },
    { mode: 'three', flag: 'detect_leaks=0', raw: { detectLeaks: 'off' }, base: [33, 34, 35], changed: [] },
  ];
  for (const c of cases) {
    it(`${c.mode}: ${c.flag}`, async () => {
      const base = await runPeer(prog, [c.mode]);
      expect(sizes(base.err)).toEqual(c.base);
      expect(base.result.status).toBe(c.base.length > 0 ? 23 : 0);
      for (const how of [{ env: { LSAN_OPTIONS: c.flag } }, { raw: c.raw }]) {
        const r = await runPeer(prog, [c.mode], how);
        expect(sizes(r.err)).toEqual(c.changed);
        // max_leaks limits the report, not the verdict
        expect(r.result.status).toBe(c.flag === 'max_leaks=2' || c.changed.length > 0 ? 23 : 0);
        // the stack case checks with __lsan_do_leak_check, which ends the program when it finds leaks
        expect(r.out).toBe(c.mode === 'stack' && c.changed.length > 0 ? '' : `${c.mode}: done\n`);
      }
    });
  }

  it('exitcode (LSAN_OPTIONS exitcode=5, --exitcode 5)', async () => {
    expect((await runPeer(prog, ['three'], { env: { LSAN_OPTIONS: 'exitcode=5' } })).result.status).toBe(5);
    expect((await runPeer(prog, ['three'], { raw: { exitcode: '5' } })).result.status).toBe(5);
  });

  it('use_unaligned with the flood kernel forced on: the JavaScript flood, same verdict', async () => {
    const saved = process.env['KMEMLEAK_SCAN_KERNEL'];
    process.env['KMEMLEAK_SCAN_KERNEL'] = 'on';
    try {
      expect(sizes((await runPeer(prog, ['unaligned'], { raw: { useUnaligned: 'on' } })).err)).toEqual([]);
      expect(sizes((await runPeer(prog, ['unaligned'])).err)).toEqual([32]);
    } finally {
      if (saved === undefined) delete process.env['KMEMLEAK_SCAN_KERNEL'];
      else process.env['KMEMLEAK_SCAN_KERNEL'] = saved;
    }
  });

  it('the command line wins over LSAN_OPTIONS', async () => {
    const r = await runPeer(prog, ['three'], { env: { LSAN_OPTIONS: 'exitcode=5:max_leaks=1' }, raw: { exitcode: '6', maxLeaks: '0' } });
    expect(r.result.status).toBe(6);
    expect(sizes(r.err)).toEqual([33, 34, 35]);
  });

  it('unknown flags: one warning, the run goes on', async () => {
    const r = await runPeer(prog, ['three'], { env: { LSAN_OPTIONS: 'foo=1:bar=2,foo=3 verbosity=1' } });
    expect(r.err.match(/LSAN_OPTIONS: ignoring unknown flags 'foo', 'bar'/g)).toHaveLength(1);
    expect(r.err).not.toContain('verbosity');
    expect(r.result.status).toBe(23);
  });

  it('a bad value is a usage error naming the flag', async () => {
    await expect(runPeer(prog, ['three'], { env: { LSAN_OPTIONS: 'exitcode=lots' } }))
      .rejects.toThrow(new InputError("LSAN_OPTIONS: exitcode: expected a whole number, got 'lots'", 2));
    await expect(runPeer(prog, ['three'], { raw: { useGlobals: 'maybe' } }))
      .rejects.toThrow(/^--use-globals: expected on or off/);
  });
});

describe('the flag parser', () => {
  it("splits at LSan's separators and reads quoted values", () => {
    expect(splitFlags(' a=1:b=2,c=3\td="x y:z"\n e=\'q\' f')).toEqual([['a', '1'], ['b', '2'], ['c', '3'], ['d', 'x y:z'], ['e', 'q'], ['f', null]]);
  });

  it('reads booleans as LSan does (0/1, true/false, yes/no) and as our options (on/off)', () => {
    for (const [text, v] of [['1', true], ['true', true], ['yes', true], ['on', true], ['0', false], ['no', false], ['off', false]] as const) {
      expect(parseLsanOptions(`use_globals=${text}`).values.useGlobals).toBe(v);
    }
    expect(parseLsanOptions('use_globals=2').problems).toEqual(["use_globals: expected on or off (or 1/0, true/false), got '2'"]);
  });

  it('keeps the last value of a repeated flag; collects unknown ones once', () => {
    const p = parseLsanOptions('exitcode=3:exitcode=4:zzz=1:zzz=2:help=1');
    expect(p.values.exitcode).toBe(4);
    expect(p.unknown).toEqual(['zzz']);
  });

  it('malloc_context_size is --trace-depth (0..16)', () => {
    expect(parseLsanOptions('malloc_context_size=3').values.traceDepth).toBe(3);
    expect(parseLsanOptions('malloc_context_size=30').problems[0]).toMatch(/out of range/);
  });
});

describe('README', () => {
  it("lists every flag of the table with its kmemleak run option", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Coming from LeakSanitizer or Valgrind'));
    for (const row of FLAG_TABLE) {
      expect(section).toContain(`| \`${row.lsan}\` | \`${row.cli.split(' ')[0]}`);
    }
  });
});
