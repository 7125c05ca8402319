// SPEC §7 end to end: `kmemleak run` on a program built for each rule (test/fixtures/triage/,
// rebuilt by its build.sh): sites, kinds, retained bytes, the exit report, suppressions,
// baselines, exit status and SARIF (validated against the official SARIF 2.1.0 schema with ajv).
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { run, tempDir } from '../runtime/helpers.js';
import { toRunOptions } from '../../src/cli/parse-run.js';
import { runModule } from '../../src/wasm/runtime/run.js';
import type { JsonSitesReport } from '../../src/report/json-sites.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/triage/${name}.wasm`, import.meta.url));
const records = (text: string): number => (text.match(/^unreferenced object 0x[0-9a-f]{8} \(size \d+\):$/gm) ?? []).length;
const counts = (text: string): string[] => text.split('\n').filter((l) => / objects, \d+ bytes at this site /.test(l));
const summary = (text: string): string | undefined => text.split('\n').find((l) => l.startsWith('kmemleak: summary: '));

async function runJson(name: string, args: string[] = [], o: Parameters<typeof run>[2] = {}): Promise<{ err: string; status: number; json: JsonSitesReport; dir: string }> {
  const dir = tempDir();
  const json = join(dir, 'r.json');
  const r = await run(fixture(name), args, { json, reportObjects: false, ...o });
  return { err: r.err, status: r.result.status, json: JSON.parse(readFileSync(json, 'utf8')) as JsonSitesReport, dir };
}

// ajv with the official schema (test/triage/sarif-schema-2.1.0.json: see test/triage/README.md).
const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } };
const addFormats = require('ajv-formats') as (a: unknown) => void;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validateSarif = ajv.compile(JSON.parse(readFileSync(new URL('./sarif-schema-2.1.0.json', import.meta.url), 'utf8')) as object);

describe('sites', () => {
  test('1000 objects from one function are one record with its counts line; --report-objects lists all', async () => {
    const { err, json, status } = await runJson('site1000');
    expect(status).toBe(23);
    expect(records(err)).toBe(2);
    expect(counts(err)).toEqual([
      '  1000 objects, 24000 bytes at this site (1000 direct, 0 indirect), retained 24000 bytes',
      '  1 objects, 7 bytes at this site (1 direct, 0 indirect), retained 7 bytes',
    ]);
    expect(summary(err)).toBe('kmemleak: summary: 24007 bytes in 1001 objects at 2 sites (1001 direct, 0 indirect)');
    expect(json.sites.map((s) => [s.id, s.title, s.objects, s.bytes, s.direct, s.indirect, s.retained, s.suppressed, s.baseline])).toEqual([
      [0, 'memory leak in make_items', 1000, 24000, 1000, 0, 24000, null, false],
      [1, 'memory leak in make_other', 1, 7, 1, 0, 7, null, false],
    ]);
    expect(json.leaks).toHaveLength(1001);
    expect(json.leaks.filter((l) => l.site === 0 && l.kind === 'direct')).toHaveLength(1000);
    expect(json.summary).toEqual({ leaks: 1001, bytes: 24007, direct: 1001, indirect: 0, sites: 2, suppressed: { objects: 0, bytes: 0 }, baseline: { objects: 0, bytes: 0, sites: 0 } });
    const all = await run(fixture('site1000'), [], { reportObjects: true });
    expect(records(all.err)).toBe(1001);
    expect(counts(all.err)).toEqual([]);
    expect(summary(all.err)).toBe(summary(err));
  });
});

describe('direct, indirect, retained', () => {
  test('a lost tree is one direct root retaining every node; sites are ordered by retained bytes', async () => {
    const { err, json } = await runJson('tree');
    expect(counts(err)).toEqual([
      '  15 objects, 480 bytes at this site (1 direct, 14 indirect), retained 480 bytes',
      '  1 objects, 16 bytes at this site (1 direct, 0 indirect), retained 416 bytes',
      '  1 objects, 400 bytes at this site (0 direct, 1 indirect), retained 0 bytes',
    ]);
    expect(json.sites.map((s) => s.title)).toEqual(['memory leak in new_node', 'memory leak in make_holder', 'memory leak in make_buffer']);
    const root = json.leaks.filter((l) => l.site === 0 && l.kind === 'direct');
    expect(root).toHaveLength(1);
    expect(root[0]!.hex.split(' ')[8]).toBe('08');   // the first node inserted, key 8
    expect(summary(err)).toBe('kmemleak: summary: 896 bytes in 17 objects at 3 sites (2 direct, 15 indirect)');
  });

  test('cycles: the first allocated node of each lost ring is direct (Valgrind leak-cycle)', async () => {
    const { err, json } = await runJson('cycle');
    expect(counts(err)).toEqual(['  12 objects, 192 bytes at this site (4 direct, 8 indirect), retained 192 bytes']);
    // Allocation order is address order here: nodes 0, 3, 6, 9 are the rings' first.
    expect(json.leaks.map((l) => l.kind[0]).join('')).toBe('diidiidiidii');
  });
});

describe('suppressions', () => {
  test("the program's __lsan_default_suppressions and --suppressions files; LSan's table; exit status", async () => {
    const dir = tempDir();
    const supp = join(dir, 'f.supp');
    writeFileSync(supp, '# from the test\nleak:from_fil*\nleak:never_matches\n');
    const r = await runJson('suppressed', [], { suppressions: [supp] });
    expect(r.status).toBe(23);   // not_suppressed is still reported
    expect(counts(r.err)).toEqual(['  1 objects, 30 bytes at this site (1 direct, 0 indirect), retained 30 bytes']);
    expect(r.err).toContain(
      'kmemleak: summary: 30 bytes in 1 objects at 1 sites (1 direct, 0 indirect)\n' +
      '-----------------------------------------------------\n' +
      'Suppressions used:\n' +
      '  count      bytes template\n' +
      '      1         20 from_fil*\n' +
      '      2         20 from_default\n' +
      '-----------------------------------------------------\n\n');
    expect(r.json.leaks.map((l) => l.size)).toEqual([30]);
    expect(r.json.summary.suppressed).toEqual({ objects: 4, bytes: 90 });   // 10 + 10 + 50 reached + 20
    expect(r.json.sites.filter((s) => s.suppressed !== null).map((s) => [s.title, s.suppressed])).toEqual([
      ['memory leak in from_default', 'from_default'],        // retained 70: it reaches owned_by_suppressed's
      ['memory leak in from_file', 'from_fil*'],
      ['memory leak in owned_by_suppressed', 'from_default'], // not matched, reached from a suppressed object
    ]);
    const quiet = await run(fixture('suppressed'), ['quiet'], { suppressions: [supp] });
    expect(quiet.result.status).toBe(0);   // only suppressed leaks: the program's own status
    expect(records(quiet.err)).toBe(0);
  });

  // kmemleak's line counts the objects newly reported: suppressed ones are not (it said 5 here),
  // so the line, the text's summary and JSON's summary.leaks agree.
  test('"N new suspected memory leaks" counts what is reported, not what is suppressed', async () => {
    const dir = tempDir();
    const supp = join(dir, 'f.supp');
    writeFileSync(supp, 'leak:from_file\n');
    const news = (err: string) => err.split('\n').filter((l) => / new suspected memory leaks /.test(l));
    const one = await runJson('suppressed', [], { suppressions: [supp] });
    expect(news(one.err)).toEqual(['kmemleak: 1 new suspected memory leaks (see below)']);
    expect(one.json.summary.leaks).toBe(1);
    expect(summary(one.err)).toMatch(/ in 1 objects /);
    const none = await run(fixture('suppressed'), ['quiet'], { suppressions: [supp] });
    expect(news(none.err)).toEqual([]);
    const two = await runJson('suppressed');   // from_file not suppressed
    expect(news(two.err)).toEqual(['kmemleak: 2 new suspected memory leaks (see below)']);
    expect(two.json.summary.leaks).toBe(2);
  });

  test('objects a scan reported while the program ran are not new at exit (kernel semantics)', async () => {
    // scanflush.c's own scan reports its 300 lost blocks (the one line); the exit report lists them,
    // and says nothing of new ones.
    const r = await run(fileURLToPath(new URL('../fixtures/runtime/scanflush.wasm', import.meta.url)), [], { minAgeMs: 0, reportObjects: false });
    expect(r.out).toBe('scans 300 0\n');
    expect(r.err.split('\n').filter((l) => / new suspected memory leaks /.test(l))).toEqual(['kmemleak: 300 new suspected memory leaks (see below)']);
    expect(summary(r.err)).toMatch(/ in 300 objects /);
  });
});

describe('suppressions through LSAN_OPTIONS', () => {
  test('suppressions=FILE and report_objects=1 apply as --suppressions and --report-objects do', async () => {
    const dir = tempDir();
    const supp = join(dir, 'lsan.supp');
    writeFileSync(supp, 'leak:from_file\n');
    const o = toRunOptions(fixture('suppressed'), [], { dir: [], env: [] }, { LSAN_OPTIONS: `suppressions=${supp}:report_objects=1` });
    let err = '';
    const out = openSync('/dev/null', 'w');
    try {
      const r = await runModule(o, { err: (t) => { err += t; }, stdout: out });
      expect(r.status).toBe(23);
    } finally {
      closeSync(out);
    }
    expect(err).toContain('      1         20 from_file\n      2         20 from_default\n');
    expect(records(err)).toBe(1);
    expect(counts(err)).toEqual([]);   // report_objects: objects, not sites
    const bad = toRunOptions(fixture('suppressed'), [], { dir: [], env: [] }, { LSAN_OPTIONS: `suppressions=${join(dir, 'none')}` });
    await expect(runModule(bad, { err: () => {} })).rejects.toThrow(/^suppressions: \S*none: cannot read: no such file$/);
  });
});

describe('baselines', () => {
  test('round trip: an earlier --json report as baseline; known sites listed last, not failing', async () => {
    const first = await runJson('baseline');
    expect(first.status).toBe(23);
    const base = join(first.dir, 'r.json');
    const same = await runJson('baseline', [], { baseline: base });
    expect(same.status).toBe(0);
    expect(same.err).toContain(`kmemleak: 1 known sites (in the baseline ${base}): 64 bytes in 1 objects, not failing the run\n`);
    expect(same.json.sites.map((s) => [s.title, s.baseline])).toEqual([['memory leak in old_leak', true]]);
    const sarif = join(first.dir, 'more.sarif');
    const more = await runJson('baseline', ['new'], { baseline: base, sarif });
    expect(more.status).toBe(23);
    const doc = JSON.parse(readFileSync(sarif, 'utf8')) as { runs: Array<{ results: Array<{ baselineState: string; message: { text: string } }> }> };
    expect(validateSarif(doc)).toBe(true);
    expect(doc.runs[0]!.results.map((r) => [r.message.text.split(':')[0], r.baselineState])).toEqual([
      ['memory leak in new_leak', 'new'],
      ['memory leak in old_leak', 'unchanged'],
    ]);
    expect(more.json.sites.map((s) => [s.title, s.baseline])).toEqual([['memory leak in new_leak', false], ['memory leak in old_leak', true]]);
    expect(more.err.indexOf('new_leak+')).toBeGreaterThan(-1);
    expect(more.err.indexOf('new_leak+')).toBeLessThan(more.err.indexOf('known sites'));
  });
});

describe('SARIF 2.1.0', () => {
  test('valid against the official schema; one result per unsuppressed site; baseline state', async () => {
    const dir = tempDir();
    const supp = join(dir, 'f.supp');
    writeFileSync(supp, 'leak:from_file\n');
    const cases: Array<[string, string[], object]> = [['tree', [], {}], ['suppressed', [], { suppressions: [supp] }], ['site1000', [], {}]];
    for (const [name, args, o] of cases) {
      const sarif = join(dir, `${name}.sarif`);
      await run(fixture(name), args, { sarif, ...o });
      const doc = JSON.parse(readFileSync(sarif, 'utf8')) as { runs: Array<{ results: Array<Record<string, any>> }> };
      const ok = validateSarif(doc);
      expect(ok, JSON.stringify(validateSarif.errors)).toBe(true);
      if (name === 'tree') {
        const res = doc.runs[0]!.results;
        expect(res.map((x) => x['message'].text)).toEqual([
          'memory leak in new_node: 15 objects, 480 bytes (1 direct, 14 indirect), retained 480 bytes',
          'memory leak in make_holder: 1 objects, 16 bytes (1 direct, 0 indirect), retained 416 bytes',
          'memory leak in make_buffer: 1 objects, 400 bytes (0 direct, 1 indirect), retained 0 bytes',
        ]);
        expect(res[0]!['ruleId']).toBe('memory-leak');
        expect(res[0]!['locations'][0].physicalLocation.artifactLocation.uri).toBe('tree.c');
        expect(res[0]!['locations'][0].physicalLocation.region.startLine).toBeGreaterThan(0);
        expect(res[0]!['stacks'][0].frames[0].location.logicalLocations[0].name).toBe('new_node');
        expect(res[0]!['baselineState']).toBe('new');
      }
      if (name === 'suppressed') expect(doc.runs[0]!.results.map((x) => x['message'].text.split(':')[0])).toEqual(['memory leak in not_suppressed']);
    }
    // The schema validator does reject what is not SARIF (the test above could fail).
    expect(validateSarif({ version: '2.1.0', runs: [{ results: [] }] })).toBe(false);
  });
});
