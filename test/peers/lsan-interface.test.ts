/**
 * LeakSanitizer's interface (sanitizer/lsan_interface.h) end to end, on programs built against
 * clang's own header with -Wl,--allow-undefined (imports env.__lsan_*). Each expectation is what
 * the header documents, and what the same source gives natively under clang -fsanitize=leak
 * (test/fixtures/peers/build.sh --native; checked when the fixtures were written): statuses and
 * the leaked sizes.
 */
import { describe, expect, it } from 'vitest';
import { reported, runPeer } from './helpers.js';

const api = 'lsan_api.wasm';
const sizes = (err: string): number[] => reported(err).map((o) => o.size);

describe('__lsan_ignore_object', () => {
  it('the block it points into (by its start or an interior pointer) is never reported', async () => {
    const r = await runPeer(api, ['ignore']);
    expect(sizes(r.err)).toEqual([42]);   // LSan: "Direct leak of 42 byte(s) in 1 object(s)"
    expect(r.result.status).toBe(23);
    expect(reported(r.err)[0]!.fns.slice(0, 2)).toEqual(['make_block', 'leak_block']);
  });
});

describe('__lsan_disable / __lsan_enable', () => {
  it('nest; blocks allocated in between are never reported', async () => {
    const r = await runPeer(api, ['disable']);
    expect(sizes(r.err)).toEqual([12, 13]);   // LSan: 25 bytes in 2 objects
    expect(r.out).toBe('disable: done\n');
  });

  it('an unmatched __lsan_enable ends the program with exitcode, as LSan dies', async () => {
    const r = await runPeer(api, ['unmatched']);
    expect(r.err).toContain('Unmatched call to __lsan_enable().');
    expect(r.out).toBe('');
    expect(r.result.status).toBe(23);
  });
});

describe('__lsan::ScopedDisabler (C++)', () => {
  it('the new[] in its scope is never reported; the one after it is', async () => {
    const r = await runPeer('lsan_scoped.wasm');
    expect(sizes(r.err)).toEqual([18]);   // LSan: "Direct leak of 18 byte(s) in 1 object(s)"
    expect(r.out).toBe('scoped: done\n');
    expect(r.result.status).toBe(23);
  });
});

describe('__lsan_do_leak_check', () => {
  it('with leaks: the final check runs now and ends the program with exitcode', async () => {
    const r = await runPeer(api, ['final']);
    expect(sizes(r.err)).toEqual([50]);
    expect(r.out).not.toContain('not reached');
    expect(r.result.status).toBe(23);
  });

  it('at most once, and no exit check after it (a later leak is not reported)', async () => {
    const r = await runPeer(api, ['final-clean']);
    expect(r.result).toMatchObject({ status: 0, leaks: 0 });
    expect(r.err).toBe('');
    expect(r.out).toBe('final-clean: done\n');
  });

  it('with exitcode=0 the program goes on after reporting', async () => {
    const r = await runPeer(api, ['final'], { env: { LSAN_OPTIONS: 'exitcode=0' } });
    expect(sizes(r.err)).toEqual([50]);
    expect(r.out).toContain('not reached');
    expect(r.result.status).toBe(0);
  });
});

describe('__lsan_do_recoverable_leak_check', () => {
  it('returns 1 while leaks exist, reports them each time, and leaves the exit check alone', async () => {
    const r = await runPeer(api, ['recoverable']);
    expect(r.out).toBe('check: 0\ncheck: 1\ncheck: 1\nrecoverable: done\n');
    expect(sizes(r.err)).toEqual([60, 60, 60]);   // two checks and the exit check, as LSan prints
    expect(r.result.status).toBe(23);
  });

  it('then _exit(0): no exit check, status 0 (the issue\'s case: was 23)', async () => {
    const r = await runPeer(api, ['recoverable-then-_exit']);
    expect(r.out).toBe('check: 1\n');
    expect(sizes(r.err)).toEqual([61]);
    expect(r.result.status).toBe(0);
  });
});

describe('__lsan_register_root_region / __lsan_unregister_root_region', () => {
  it('a registered region is a root; unregistered, it is not', async () => {
    const r = await runPeer(api, ['root-region']);
    expect(r.out).toBe('check: 0\ncheck: 1\nroot-region: done\n');
    expect(r.result.status).toBe(23);
  });

  it('use_root_regions=0: registered regions are not roots', async () => {
    const r = await runPeer(api, ['root-region'], { env: { LSAN_OPTIONS: 'use_root_regions=0' } });
    expect(r.out).toBe('check: 1\ncheck: 1\nroot-region: done\n');
  });

  it('unregistering a region never registered is LSan\'s error: it ends the program', async () => {
    const r = await runPeer(api, ['unregister-unknown']);
    expect(r.err).toMatch(/__lsan_unregister_root_region\(\): region at 0x[0-9a-f]{8} of size 64 has not been registered\./);
    expect(r.out).toBe('');
    expect(r.result.status).toBe(23);
  });
});

describe("the program's own callbacks", () => {
  it('__lsan_is_turned_off() returning 1: no check reports, the program\'s status', async () => {
    const r = await runPeer('lsan_turned_off.wasm');
    expect(r.out).toBe('check: 0\nturned_off: done\n');
    expect(r.result).toMatchObject({ status: 0, leaks: 0 });
    expect(r.err).toBe('');
  });

  it('__lsan_is_turned_off(): --json is still written, empty', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const json = join(mkdtempSync(join(tmpdir(), 'kml-peers-')), 'r.json');
    const r = await runPeer('lsan_turned_off.wasm', [], { raw: { json } });
    expect(r.result.status).toBe(0);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ leaks: [] });
  });

  it('__lsan_default_options(): applied; unknown flags in it warned about once', async () => {
    const r = await runPeer('lsan_defaults.wasm');
    expect(r.result.status).toBe(7);                       // exitcode=7
    expect(sizes(r.err)).toEqual([91]);                    // max_leaks=1
    expect(r.err).toContain('kmemleak: 1 more leaked objects not shown (max_leaks=1)');
    expect(r.err.match(/__lsan_default_options: ignoring unknown flag 'no_such_flag'/g)).toHaveLength(1);
  });

  it('LSAN_OPTIONS wins over __lsan_default_options, and the command line over both', async () => {
    expect((await runPeer('lsan_defaults.wasm', [], { env: { LSAN_OPTIONS: 'exitcode=9' } })).result.status).toBe(9);
    const cli = await runPeer('lsan_defaults.wasm', [], { env: { LSAN_OPTIONS: 'exitcode=9' }, raw: { exitcode: '4', maxLeaks: '0' } });
    expect(cli.result.status).toBe(4);
    expect(sizes(cli.err)).toEqual([91, 92]);
  });

  it('built against include/sanitizer/lsan_interface.h (no --allow-undefined): same imports, callback exported', async () => {
    const r = await runPeer('lsan_header.wasm');
    expect(r.out).toBe('check: 1\n');
    expect(sizes(r.err)).toEqual([94, 94]);   // the recoverable check and the exit check; 93 was disabled
    expect(r.result.status).toBe(9);          // its __lsan_default_options: exitcode=9
  });
});

describe('--off and detect_leaks=0', () => {
  for (const how of [{ raw: { off: true } }, { env: { LSAN_OPTIONS: 'detect_leaks=0' } }, { raw: { detectLeaks: 'off' } }]) {
    it(`${JSON.stringify(how)}: the calls do nothing, the program runs as it would`, async () => {
      const r = await runPeer(api, ['recoverable'], how);
      expect(r.out).toBe('check: 0\ncheck: 0\ncheck: 0\nrecoverable: done\n');
      expect(r.result.status).toBe(0);
      expect(r.err).toBe('');
    });
  }
});
