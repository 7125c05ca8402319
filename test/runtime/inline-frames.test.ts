/**
 * Inlined frames in kmemleak run's reports (test/fixtures/runtime/inline.c, -O2: the allocation
 * site is in item_new(), inlined into item_named(), inlined into make_lost()). The text report
 * prints them as the kernel's decoded stacks do, `func file:line [inline]` before the frame that
 * holds them; the JSON report gives them `"inline": true`.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, reported, run, tempDir } from './helpers.js';

const inline = fixture('inline.wasm');

describe('inlined frames in the reports', () => {
  it('text: [inline] lines before the frame that holds them', async () => {
    const r = await run(inline);
    expect(r.result).toMatchObject({ status: 23, leaks: 1 });
    const bt = r.err.split(/backtrace \(crc [0-9a-f]{8}\):\n/)[1]!.split('\n');
    expect(bt.slice(0, 3)).toEqual([
      '    item_new ./inline-lib.h:9 [inline]',
      '    item_named ./inline-lib.h:18 [inline]',
      expect.stringMatching(/^    make_lost\+0x[0-9a-f]+\/0x[0-9a-f]+ (\.\/)?inline\.c:15$/),
    ]);
    expect(bt[3]).toMatch(/^    main\+0x[0-9a-f]+\/0x[0-9a-f]+ (\.\/)?inline\.c:20$/);
    // the real frames are as before
    expect(reported(r.err)).toEqual([{ size: 32, fns: expect.arrayContaining(['make_lost', 'main']) }]);
    expect(reported(r.err)[0]!.fns.slice(0, 2)).toEqual(['make_lost', 'main']);
  });

  it('JSON: the same frames, the inlined ones with "inline": true', async () => {
    const json = join(tempDir(), 'r.json');
    const r = await run(inline, ['keep'], { json });
    expect(r.result.leaks).toBe(1);   // the kept item is referenced from static data
    const leaks = (JSON.parse(readFileSync(json, 'utf8')) as { leaks: Array<{ size: number; backtrace: Array<Record<string, unknown>> }> }).leaks;
    const bt = leaks[0]!.backtrace;
    const norm = (p: unknown) => String(p).replace(/^\.\//, '');
    expect(bt.slice(0, 3).map((f) => [f['function'], norm(f['file']), f['line'], f['inline']])).toEqual([
      ['item_new', 'inline-lib.h', 9, true],
      ['item_named', 'inline-lib.h', 18, true],
      ['make_lost', 'inline.c', 15, undefined],
    ]);
    expect(bt[0]).toMatchObject({ offset: bt[2]!['offset'], size: bt[2]!['size'], funcIndex: bt[2]!['funcIndex'] });
    expect(Object.keys(bt[2]!)).not.toContain('inline');
  });
});
