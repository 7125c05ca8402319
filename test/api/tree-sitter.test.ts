/**
 * web-tree-sitter's debug build (npm) under the detector, with the JSON grammar from the
 * tree-sitter-json package. It is an Emscripten MAIN_MODULE: relocatable (dylink.0), memory,
 * stack pointer and function table imported from its glue, every export placed in the function
 * table by the glue's dynamic linker, and the grammar loaded later as a side module whose static
 * data the linker allocates with calloc. What it proves:
 * - instantiation through Module.instantiateWasm works (exports wrapped, the table holds the
 *   wasm functions behind them, the rewriter's extra exports hidden from the linker);
 * - parsing without tree.delete() leaks trees: reported, backtraces into the parser;
 * - with tree.delete() (and parser.delete()) nothing is reported: the grammar's static data and
 *   the library's own state are roots, not leaks.
 * web-tree-sitter keeps its module per process, so the tests share one init.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { Parser, Language } from 'web-tree-sitter/debug';
import { instantiateWasmHook, type KmemleakHandle } from '../../src/api/index.js';

const require = createRequire(import.meta.url);
const wasm = fs.readFileSync(require.resolve('web-tree-sitter/debug/web-tree-sitter.wasm'));
const grammar = fs.readFileSync(path.join(path.dirname(require.resolve('tree-sitter-json/package.json')), 'tree-sitter-json.wasm'));

let k: KmemleakHandle;
let json: Language;
const log: string[] = [];

beforeAll(async () => {
  await Parser.init({
    instantiateWasm: instantiateWasmHook(wasm, { minAgeMs: 0, scan: 'off', log: (l) => log.push(l) }, (h) => (k = h)),
  } as object);
  json = await Language.load(grammar);
});

async function scan2(): Promise<number> {
  return (await k.scan()) + (await k.scan());
}

const DOCS = ['{"a": [1, 2, {"b": null}]}', '[true, false, "x", {"k": [[]]}]', '{"deep": {"deeper": {"deepest": [1e10]}}}'];

describe('web-tree-sitter under kmemleak', () => {
  it('instruments the relocatable main module and finds its dlmalloc', () => {
    expect(k.relocatable).toBe(true);
    expect(k.allocators).toEqual(expect.arrayContaining(['malloc', 'free', 'calloc', 'realloc']));
  });

  it('reports nothing when trees and parser are deleted', async () => {
    const parser = new Parser();
    parser.setLanguage(json);
    for (const d of DOCS) {
      const tree = parser.parse(d)!;
      expect(tree.rootNode.hasError).toBe(false);
      tree.delete();
    }
    parser.delete();
    expect(await scan2()).toBe(0);
    expect(k.read()).toBe('');
  });

  it('parsing without tree.delete() leaks the trees, with backtraces into the parser', async () => {
    const parser = new Parser();
    parser.setLanguage(json);
    const trees = DOCS.map((d) => parser.parse(d)!);
    parser.delete();
    const found = await scan2();
    expect(found).toBeGreaterThan(0);
    const leaks = k.leaks();
    expect(leaks.length).toBe(found);
    for (const l of leaks) {
      const names = l.backtrace!.map((f) => f.function ?? '');
      expect(names.some((n) => n.startsWith('ts_'))).toBe(true);
    }
    const fromParse = leaks.filter((l) => l.comm === 'ts_parser_parse_wasm');
    expect(fromParse.length).toBeGreaterThan(0);
    expect(fromParse.some((l) => l.backtrace!.some((f) => f.function === 'ts_parser_parse'))).toBe(true);
    expect(k.read()).toMatch(/comm "ts_parser_parse_wasm", pid 1/);
    // Deleting the trees frees them: the report empties.
    for (const t of trees) t.delete();
    expect(k.read()).toBe('');
    expect(await scan2()).toBe(0);
  });

  it("holds the grammar's static data (a side module the glue allocated) as a root", () => {
    const regions = k.rootRegions();
    expect(regions.length).toBe(1);
    const [r] = regions;
    // The dynamic linker calloc'd it from JS (comm "calloc"); its size is the grammar's dylink.0 size.
    expect(k.dump(r!.start)).toMatch(/comm "calloc"/);
    expect(r!.end - r!.start).toBeGreaterThan(1000);
    expect(json.fieldCount).toBeGreaterThan(0);
  });
});
