import { it } from 'vitest';
import * as fs from 'node:fs';
import { emscripten } from '../../src/api/index.js';
// @ts-expect-error no types
import initSqlJs from 'sql.js/dist/sql-wasm-debug.js';
it('z', async () => {
  const { module: SQL, kmemleak: k } = await emscripten(initSqlJs, { wasm: fs.readFileSync('node_modules/sql.js/dist/sql-wasm-debug.wasm'), minAgeMs: 0, scan: 'off', log: () => {} });
  const db = new SQL.Database();
  db.run('create table t(a, b)');
  try { db.run('select * from no_such_table'); } catch (e) { console.log('err', String(e)); }
  db.run('insert into t values (1, 2)');
  console.log('scan', await k.scan(), await k.scan());
  console.log(k.read());
});
