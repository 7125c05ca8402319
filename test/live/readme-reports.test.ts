/**
 * The README's report examples print what they show: the per-site exit report excerpt (tree.wasm),
 * LSan's suppressions table (suppressed.wasm) and the JSON example (corpus/simple.wasm), each run
 * with the command the README names. The JSON example's address was stale once (68384, from an
 * older layout); jiffies differ from run to run and are not compared.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, ROOT } from '../cli/helpers.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The indented block (4 spaces) that follows `marker` in the README, its lines unindented. */
function blockAfter(marker: string): string[] {
  const at = README.indexOf(marker);
  expect(at, marker).toBeGreaterThan(0);
  const lines = README.slice(at + marker.length).split('\n');
  const start = lines.findIndex((l) => l.startsWith('    '));
  const out: string[] = [];
  for (let i = start; i < lines.length && lines[i]!.startsWith('    '); i++) out.push(lines[i]!.slice(4));
  return out;
}

/** Each shown line appears in `text`, in order ("..." stands for lines left out). */
function expectInOrder(shown: string[], text: string): void {
  const lines = text.split('\n');
  let from = 0;
  for (const l of shown) {
    if (l.trim() === '...') continue;
    const k = lines.indexOf(l, from);
    expect(k, `README line not printed (in order): ${JSON.stringify(l)}\n${text}`).toBeGreaterThanOrEqual(0);
    from = k + 1;
  }
}

describe("README's report examples", () => {
  it('the exit report excerpt is what kmemleak run test/fixtures/triage/tree.wasm prints', async () => {
    const shown = blockAfter('(`kmemleak run test/fixtures/triage/tree.wasm`):\n');
    expect(shown.length).toBeGreaterThan(2);
    const r = await cli(['run', join(ROOT, 'test/fixtures/triage/tree.wasm')]);
    expectInOrder(shown, r.err);
  });

  it("LSan's table is what kmemleak run test/fixtures/triage/suppressed.wasm prints", async () => {
    const shown = blockAfter('(`kmemleak run test/fixtures/triage/suppressed.wasm`):\n');
    expect(shown).toContain('Suppressions used:');
    const r = await cli(['run', join(ROOT, 'test/fixtures/triage/suppressed.wasm')]);
    expectInOrder(shown, r.err);
  });

  it('the JSON example is what kmemleak run --json r.json test/fixtures/wasm/corpus/simple.wasm writes', async () => {
    const at = README.indexOf('`kmemleak run --json r.json\ntest/fixtures/wasm/corpus/simple.wasm`');
    expect(at).toBeGreaterThan(0);
    const shown = /```json\n([\s\S]*?)```/.exec(README.slice(at))![1]!;
    // The example elides the hex dump; the rest is JSON.
    const doc = JSON.parse(shown.replace(/"hex": "([0-9a-f ]+) \.\.\."/, '"hex": "$1"'));
    const file = join(mkdtempSync(join(tmpdir(), 'kml-readme-')), 'r.json');
    await cli(['run', '--json', file, join(ROOT, 'test/fixtures/wasm/corpus/simple.wasm')]);
    const got = JSON.parse(readFileSync(file, 'utf8'));
    expect(got.program).toBe(doc.program);
    expect(got.leaks).toHaveLength(doc.leaks.length);
    const [want, leak] = [doc.leaks[0], got.leaks[0]];
    for (const k of ['address', 'size', 'comm', 'pid', 'crc']) expect(leak[k], k).toBe(want[k]);
    expect(leak.hex.startsWith(want.hex)).toBe(true);
    expect(leak.backtrace[0]).toMatchObject(want.backtrace[0]);
    expect(got.summary).toMatchObject(doc.summary);
  });
});
