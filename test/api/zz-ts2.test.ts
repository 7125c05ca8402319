import { it } from 'vitest';
import * as fs from 'node:fs';
import { instantiate } from '../../src/api/index.js';
import { Parser } from 'web-tree-sitter/debug';
it('ts2', async () => {
  await Parser.init({ instantiateWasm: (imports: any, done: any) => {
    console.log('hook called', Object.keys(imports));
    instantiate(fs.readFileSync('node_modules/web-tree-sitter/debug/web-tree-sitter.wasm'), imports, { scan: 'off', log: (l) => console.log('LOG', l) })
      .then((h) => { console.log('instantiated'); done(h.instance, h.module); console.log('done returned'); })
      .catch((e) => console.log('ERR', e));
    return {};
  } } as any);
  console.log('init finished');
});
