// The embedding API's SPEC §7 surface: leaks() with kind and site, sites(), and the
// `suppressions` option (LSan text), on the API fixture test/api/fixtures/leaky.wasm.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { instantiate } from '../../src/api/index.js';

const bytes = fs.readFileSync(path.join(__dirname, '..', 'api', 'fixtures', 'leaky.wasm'));

async function load(opts: { suppressions?: string | string[] } = {}) {
  const h = await instantiate(bytes, { host: { callback: () => {} } }, { minAgeMs: 0, scan: 'off', log: () => {}, ...opts });
  const ex = h.exports as unknown as { _initialize(): void; leak(n: number, size: number): void };
  ex._initialize();
  return { h, ex };
}

describe('embedding API: sites, kinds, suppressions', () => {
  it('leaks() records carry kind and site; sites() groups them', async () => {
    const { h, ex } = await load();
    ex.leak(3, 40);
    await h.scan();
    await h.scan();
    const leaks = h.leaks();
    expect(leaks.map((l) => [l.size, l.kind, l.site])).toEqual([[40, 'direct', 0], [40, 'direct', 0], [40, 'direct', 0]]);
    const sites = h.sites();
    expect(sites).toHaveLength(1);
    expect(sites[0]).toMatchObject({ id: 0, objects: 3, bytes: 120, direct: 3, indirect: 0, retained: 120, suppressed: null, baseline: false });
    expect(sites[0]!.title).toMatch(/^memory leak in /);
    expect(h.read().match(/^unreferenced object/gm)).toHaveLength(3);   // the control file: every object
  });

  it('the suppressions option leaves matched objects out of leaks(); sites() lists them with the pattern', async () => {
    const { h, ex } = await load({ suppressions: '# from the host\nleak:make_block\n' });
    ex.leak(2, 24);
    await h.scan();
    await h.scan();
    expect(h.leaks()).toEqual([]);
    expect(h.sites().map((s) => [s.objects, s.suppressed])).toEqual([[2, 'make_block']]);
    expect(h.read().match(/^unreferenced object/gm)).toHaveLength(2);
  });

  it('a bad suppression line rejects instantiation with one line naming it', async () => {
    await expect(load({ suppressions: ['leak:ok', 'leak:ok\nrace:x'] })).rejects.toThrow(/^suppressions\[1\]:2: unknown suppression type 'race'/);
  });
});
