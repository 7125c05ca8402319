/**
 * Suppressions and report_objects as a program written for LeakSanitizer meets them (the triage
 * module applies them; this checks the LSan-facing side): lsan_suppress.c defines
 * __lsan_default_suppressions against clang's header (the linker does not export it; kmemleak
 * run's rewriter does), and LSAN_OPTIONS names a suppressions file and report_objects=1. Native
 * LSan on the same source (build.sh --native): 309 bytes in 3 objects with `lose_known`
 * suppressed; with the file, 207 bytes in 2 objects, `lose_listed` and `lose_known` suppressed,
 * and "Objects leaked above" lists 103 and 104.
 */
import { describe, expect, it } from 'vitest';
import { peer, reported, runPeer } from './helpers.js';

const prog = 'lsan_suppress.wasm';
const supp = peer('lsan_suppress.supp');

describe('LeakSanitizer suppressions', () => {
  it("the program's own __lsan_default_suppressions applies", async () => {
    const r = await runPeer(prog, [], { raw: { reportObjects: false } });   // one record per site
    expect(r.out).toBe('suppress: done\n');
    expect(r.err).toMatch(/^kmemleak: summary: 309 bytes in 3 objects at 2 sites/m);
    expect(r.err).toMatch(/Suppressions used:\n\s+count\s+bytes template\n\s+1\s+101 lose_known\n/);
    // one record per site, the larger site first: lose_new's (2 objects), then lose_listed's
    expect(reported(r.err).map((o) => o.fns[2])).toEqual(['lose_new', 'lose_listed']);
    expect(r.err).toContain('  2 objects, 207 bytes at this site');
    expect(r.result.status).toBe(23);
  });

  for (const [how, o] of [
    ['LSAN_OPTIONS suppressions=FILE:report_objects=1', { raw: { reportObjects: false }, env: { LSAN_OPTIONS: `suppressions=${supp}:report_objects=1` } }],
    ['--suppressions FILE --report-objects', { raw: { suppressions: [supp], reportObjects: true } }],
  ] as const) {
    it(`${how}: the file's suppression too, and every object listed`, async () => {
      const r = await runPeer(prog, [], o);
      expect(r.err).toMatch(/^kmemleak: summary: 207 bytes in 2 objects at 1 sites/m);
      expect(reported(r.err).map((x) => x.size)).toEqual([103, 104]);
      expect(r.err).toMatch(/\s+1\s+102 lose_listed\n\s+1\s+101 lose_known\n/);
      expect(r.result.status).toBe(23);
    });
  }

  it('everything suppressed: the program\'s own status', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'kml-peers-')), 'all.supp');
    writeFileSync(file, 'leak:lose_listed\nleak:lose_new\n');
    const r = await runPeer(prog, [], { env: { LSAN_OPTIONS: `suppressions=${file}` } });
    expect(r.result.status).toBe(0);
    expect(reported(r.err)).toEqual([]);
  });
});
