import { it } from 'vitest';
import * as fs from 'node:fs';
import { instantiateWasmHook, type KmemleakHandle } from '../../src/api/index.js';
import { Parser, Language } from 'web-tree-sitter/debug';
it('ts', async () => {
  const log: string[] = [];
  let k!: KmemleakHandle;
  await Parser.init({ instantiateWasm: instantiateWasmHook(fs.readFileSync('node_modules/web-tree-sitter/debug/web-tree-sitter.wasm'), { minAgeMs: 0, scan: 'off', log: (l) => { console.log('LOG', l); log.push(l) } }, (h) => (k = h), (e) => console.log('ERR', e)) } as any);
  console.log('allocators', k.allocators, log);
  const lang = await Language.load(fs.readFileSync('node_modules/tree-sitter-json/tree-sitter-json.wasm'));
  const p = new Parser(); p.setLanguage(lang);
  const t1 = p.parse('{"a": [1, 2, {"b": null}]}')!;
  console.log(t1.rootNode.toString());
  console.log('scan', await k.scan(), await k.scan(), k.leaks().length);
  for (const l of k.leaks().slice(0, 6)) console.log(l.size, l.comm, l.backtrace?.slice(0, 8).map(f => f.function ?? `f${f.funcIndex}`).join(' < '));
  t1.delete(); p.delete();
  console.log('after delete', await k.scan(), await k.scan(), k.leaks().length);
  console.log(log.slice(0, 5));
});
