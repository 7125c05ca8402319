/**
 * `kmemleak report` end to end through main(): formats, exit statuses, standard input, our own
 * reports read back (text and JSON), and input that is not a kmemleak report (one line naming the
 * file and the line where reading stopped, status 1, no stack trace).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, ROOT } from './helpers.js';
import { runReport } from '../../src/cli/report-command.js';
import { buildJsonReport } from '../../src/report/json.js';
import type { LeakRecord } from '../../src/engine/leak-record.js';

const K = (f: string) => join(ROOT, 'test/fixtures/kernel-reports', f);
const tmp = mkdtempSync(join(tmpdir(), 'kml-report-'));
const put = (name: string, data: string | Uint8Array) => { const p = join(tmp, name); writeFileSync(p, data); return p; };

describe('kmemleak report', () => {
  it('prints each site with its title, first record and counts; exit 23 when a site is reported', async () => {
    const r = await cli(['report', K('151.txt'), K('54.txt')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(23);
    const titles = r.out.split('\n').filter((l) => l.startsWith('memory leak in '));
    expect(titles).toEqual(['memory leak in eth_rx_fill', 'memory leak in new_inode_pseudo', 'memory leak in inode_init_always']);
    expect(r.out).toContain('  1 object, 2048 bytes at this site (kinds unknown: the report has no pointer graph), first at ');
    expect(r.out).toMatch(/kmemleak: summary: 3088 bytes in 3 objects at 3 sites \(kinds unknown/);
    expect((await cli(['report', '--exitcode', '0', K('54.txt')])).code).toBe(0);
  });

  it('--json gives SPEC §7 sites and leaks; --sarif one result per site', async () => {
    const j = await cli(['report', '--json', K('752.txt'), K('126.txt')]);
    const doc = JSON.parse(j.out);
    expect(doc.sites.map((s: { title: string }) => s.title)).toEqual(['memory leak in lookup_or_create_module_kobject', 'memory leak in corrupted']);
    expect(doc.sites[0]).toMatchObject({ id: 0, objects: 1, bytes: 96, direct: null, indirect: null, retained: null, suppressed: null, baseline: false });
    expect(doc.leaks[0]).toMatchObject({ address: '0xffff8882d78c9ea0', size: 96, kind: 'unknown', site: 0, crc: 'c9a1c131' });
    expect(doc.summary).toEqual({ leaks: 2, bytes: 96, direct: null, indirect: null, sites: 2, suppressed: { objects: 0, bytes: 0 } });

    const s = JSON.parse((await cli(['report', '--sarif', K('51.txt')])).out);
    expect(s.version).toBe('2.1.0');
    expect(s.runs[0].results).toHaveLength(1);
    // located at the titled frame's file, not the allocator's
    expect(s.runs[0].results[0].locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'net/ipv6/ipv6_sockglue.c' }, region: { startLine: 483 } });
    expect(s.runs[0].results[0].stacks[0].frames).toHaveLength(6);
  });

  it('reads standard input ("-" or no file); empty input is no leak', async () => {
    const log = readFileSync(K('309.txt'), 'utf8');
    let out = '';
    const io = { out: (t: string) => { out += t; }, err: () => {} };
    const code = await runReport([], {}, io, { readStdin: () => log, readFile: () => '' });
    expect(code).toBe(23);
    expect(out.split('\n')[0]).toBe('memory leak in sget');
    out = '';
    expect(await runReport(['-'], {}, io, { readStdin: () => '', readFile: () => '' })).toBe(0);
    expect(out).toBe('kmemleak: summary: 0 bytes in 0 objects at 0 sites (0 direct, 0 indirect)\n');
  });

  it('reads our own reports back: text output round-trips, JSON keeps kinds', async () => {
    const first = await cli(['report', K('151.txt'), K('752.txt')]);
    const again = await cli(['report', put('ours.txt', first.out)]);
    const titles = (t: string) => t.split('\n').filter((l) => l.startsWith('memory leak in '));
    expect(titles(again.out)).toEqual(titles(first.out));

    const frame = (fn: string, line: number) => ({ function: fn, offset: 4, size: 64, file: 'app.c', line, funcIndex: 1 });
    const leak = (address: number, size: number, fn: string): LeakRecord => ({
      address, size, comm: '_start', pid: 1, jiffies: 3, crc: '00000000', hex: '01 02', trace: 1, backtrace: [frame(fn, 10), frame('main', 20)],
    });
    const doc = buildJsonReport('app.wasm', [leak(0x1000, 16, 'make_node'), leak(0x2000, 16, 'make_node'), leak(0x3000, 100, 'alloc_buffer')]) as unknown as {
      leaks: Array<Record<string, unknown>>;
    };
    doc.leaks[0]['kind'] = 'direct';
    doc.leaks[1]['kind'] = 'indirect';
    doc.leaks[2]['kind'] = 'direct';
    const r = JSON.parse((await cli(['report', '--json', put('ours.json', JSON.stringify(doc))])).out);
    // Ours are titled by their first shown frame (SPEC §7), even one named like an allocator.
    expect(r.sites.map((s: { title: string; direct: number; indirect: number }) => [s.title, s.direct, s.indirect])).toEqual([
      ['memory leak in alloc_buffer', 1, 0],
      ['memory leak in make_node', 1, 1],
    ]);
    expect(r.leaks[0]).toMatchObject({ address: '0x00003000', kind: 'direct' });
  });

  it('names the line each record of our JSON starts on (braces inside strings do not count)', async () => {
    const doc = [
      '{',
      '  "leaks": [',
      '    {',
      '      "size": 8, "backtrace": [{ "function": "first_site", "file": "a{[.c" }]',
      '    },',
      '    {',
      '      "size": 16, "backtrace": [{ "function": "second_site", "file": "b}].c" }]',
      '    }',
      '  ]',
      '}',
    ].join('\n');
    const out = (await cli(['report', put('lines.json', doc)])).out;
    const firstAt = (fn: string) => {
      const at = out.indexOf(`memory leak in ${fn}`);
      return /first at .*lines\.json:(\d+)/.exec(out.slice(at))?.[1];
    };
    expect(firstAt('first_site')).toBe('3');
    expect(firstAt('second_site')).toBe('6');
  });

  it("reads our exit report's one record per site with its counts line (SPEC §7)", async () => {
    const exitText = [
      'kmemleak: 4 new suspected memory leaks (see standard error)',
      'unreferenced object 0x00081590 (size 24):',
      '  comm "_start", pid 1, jiffies 175',
      '  hex dump (first 24 bytes):',
      '    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................',
      '    00 00 00 00 00 00 00 00                          ........',
      '  backtrace (crc a3c1ca20):',
      '    build_list+0x11/0x39 leaks.c:38',
      '    __original_main+0x31/0x9b leaks.c:71',
      '  3 objects, 72 bytes at this site (1 direct, 2 indirect), retained 72 bytes',
      'unreferenced object 0x00081520 (size 100):',
      '  comm "_start", pid 1, jiffies 175',
      '  backtrace (crc 0109c778):',
      '    make_greeting+0x17/0x60 leaks.c:29',
      '  1 objects, 100 bytes at this site (1 direct, 0 indirect), retained 100 bytes',
      'kmemleak: summary: 172 bytes in 4 objects at 2 sites (2 direct, 2 indirect)',
    ].join('\n');
    const r = JSON.parse((await cli(['report', '--json', put('exit.txt', exitText)])).out);
    expect(r.sites.map((s: Record<string, unknown>) => [s.title, s.objects, s.bytes, s.direct, s.indirect, s.retained])).toEqual([
      ['memory leak in make_greeting', 1, 100, 1, 0, 100],
      ['memory leak in build_list', 3, 72, 1, 2, 72],
    ]);
    expect(r.summary).toMatchObject({ leaks: 4, bytes: 172, direct: 2, indirect: 2, sites: 2 });
    // and kmemleak report's own text keeps the counts when read again
    const text = (await cli(['report', put('exit2.txt', exitText)])).out;
    expect(text).toContain('  3 objects, 72 bytes at this site (1 direct, 2 indirect), retained 72 bytes, first at ');
    const again = JSON.parse((await cli(['report', '--json', put('again.txt', text)])).out);
    expect(again.summary).toMatchObject({ leaks: 4, bytes: 172, direct: 2, indirect: 2 });
  });

  it("keeps each site's retained bytes reading back kmemleak run's own text and JSON (and its own output again)", async () => {
    const json = join(tmp, 'tree.json');
    const text = join(tmp, 'tree.txt');
    await cli(['run', '--json', json, '--report', text, join(ROOT, 'test/fixtures/triage/tree.wasm')]);
    const ran = JSON.parse(readFileSync(json, 'utf8'));
    const want = ran.sites.map((s: Record<string, unknown>) => [s.title, s.objects, s.direct, s.indirect, s.retained]);
    expect(want.length).toBeGreaterThan(1);
    expect(want.some((w: unknown[]) => typeof w[4] === 'number' && w[4] > 0)).toBe(true);
    const sites = (out: string) => JSON.parse(out).sites.map((s: Record<string, unknown>) => [s.title, s.objects, s.direct, s.indirect, s.retained]);
    expect(sites((await cli(['report', '--json', json])).out)).toEqual(want);
    expect(sites((await cli(['report', '--json', text])).out)).toEqual(want);
    // kmemleak report's own text and JSON read back the same
    const again = put('again-tree.txt', (await cli(['report', json])).out);
    expect(sites((await cli(['report', '--json', again])).out)).toEqual(want);
    const againJson = put('again-tree.json', (await cli(['report', '--json', json])).out);
    expect(sites((await cli(['report', '--json', againJson])).out)).toEqual(want);
  });

  const bad: Array<[string, string | Uint8Array, RegExp]> = [
    ['binary.bin', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x0a, 0x00, 0x01]), /binary\.bin:2: binary data, not a kmemleak report$/],
    ['notes.txt', 'shopping list\neggs\nmilk\n', /notes\.txt:3: no kmemleak report in it/],
    ['broken.json', '{\n  "program": "x",\n  "leaks": [ { "size": 1, \n', /broken\.json:\d+: not valid JSON/],
    ['other.json', '{\n  "name": "kmemleak",\n  "version": "1"\n}\n', /other\.json:1: not a kmemleak JSON report: no "leaks" array$/],
    ['shape.json', '{\n  "leaks": [\n    { "size": "big" }\n  ]\n}\n', /shape\.json:2: not a kmemleak JSON report: leaks\[0\] needs/],
  ];
  for (const [name, data, want] of bad) {
    it(`rejects ${name} with one line and status 1`, async () => {
      const p = put(name, data);
      const r = await cli(['report', K('55.txt'), p]);
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.err).toMatch(/^kmemleak: /);
      expect(r.err.trimEnd()).toMatch(want);
      expect(r.err).toContain(p);
    });
  }

  it('--suppressions (LSan syntax): suppressed sites are counted, not listed, and do not set the status', async () => {
    const sup = put('lsan.supp', '# known\nleak:inode_init_always\n');
    const t = await cli(['report', '--suppressions', sup, K('151.txt')]);
    expect(t.code).toBe(23);
    expect(t.out.split('\n').filter((l) => l.startsWith('memory leak in '))).toEqual(['memory leak in new_inode_pseudo']);
    expect(t.out).toContain('kmemleak: summary: 944 bytes in 1 object at 1 site');
    expect(t.out).toContain('Suppressions used:\n  count      bytes template\n      1         96 inode_init_always\n');
    const j = JSON.parse((await cli(['report', '--json', '--suppressions', sup, K('151.txt')])).out);
    expect(j.leaks).toHaveLength(1);
    expect(j.sites[1]).toMatchObject({ title: 'memory leak in inode_init_always', suppressed: 'inode_init_always' });
    expect(j.summary.suppressed).toEqual({ objects: 1, bytes: 96 });
    const all = put('all.supp', 'leak:kmem_cache_alloc\n');
    expect((await cli(['report', '--suppressions', all, K('151.txt')])).code).toBe(0);
    const bad = put('bad.supp', 'leak:x\nrace:y\n');
    const b = await cli(['report', '--suppressions', bad, K('151.txt')]);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(new RegExp(`^kmemleak: --suppressions: ${bad.replace(/[.]/g, '\\.')}:2: unknown suppression type 'race'.*\n$`));
  });

  it('--baseline: sites of an earlier report (JSON or text) are listed after the new ones and do not count', async () => {
    const earlier = put('earlier.json', (await cli(['report', '--json', K('151.txt')])).out);
    const r = JSON.parse((await cli(['report', '--json', '--baseline', earlier, K('151.txt'), K('752.txt')])).out);
    expect(r.sites.map((s: { title: string; baseline: boolean }) => [s.title, s.baseline])).toEqual([
      ['memory leak in lookup_or_create_module_kobject', false],
      ['memory leak in new_inode_pseudo', true],
      ['memory leak in inode_init_always', true],
    ]);
    expect((await cli(['report', '--baseline', earlier, K('151.txt'), K('752.txt')])).code).toBe(23);
    const t = await cli(['report', '--baseline', K('151.txt'), K('151.txt')]);
    expect(t.code).toBe(0);
    expect(t.out).toContain('; in the baseline\n');
    const b = await cli(['report', '--baseline', put('junk.txt', 'not a report\n'), K('151.txt')]);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/^kmemleak: --baseline: .*junk\.txt:1: no kmemleak report in it/);
  });

  it("prints what the README's example shows", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const m = /\$ kmemleak report (test\/fixtures\/kernel-reports\/53\.txt)\n([\s\S]*?)```/.exec(readme)!;
    const prev = process.cwd();
    process.chdir(ROOT);
    try {
      expect((await cli(['report', m[1]])).out).toBe(m[2]);
    } finally {
      process.chdir(prev);
    }
  });

  it('a missing file is one line, status 1; conflicting formats are a usage error', async () => {
    const r = await cli(['report', join(tmp, 'nope.txt')]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`kmemleak: ${join(tmp, 'nope.txt')}: cannot read (ENOENT)\n`);
    const u = await cli(['report', '--json', '--sarif', K('55.txt')]);
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/^kmemleak: --json, --sarif, --html: choose one\nTry 'kmemleak report --help' for usage\.\n$/);
  });
});
