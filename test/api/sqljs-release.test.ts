/**
 * sql.js's release build: exports minified (`Ha` is sqlite3_open), no name section. The glue's
 * text maps the names back (`k._sqlite3_open=c.Ha`); kmemleak.emscripten() reads them to find
 * malloc/free, to name comm and to name exported frames. The optimizer inlined realloc into
 * sqlite's own wrapper in this build, so only malloc and free can be wrapped: a block grown in
 * place keeps its first size, which can cost false reports; this test checks the names and the
 * real leak, not an exact count.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { emscripten } from '../../src/api/index.js';
import { exportAliasesFromGlue } from '../../src/api/emscripten-glue.js';

const require = createRequire(import.meta.url);
const dist = path.dirname(require.resolve('sql.js/dist/sql-wasm.js'));
const initSqlJs = require('sql.js/dist/sql-wasm.js') as (arg: object) => Promise<{
  Database: new () => { run(sql: string, p?: unknown[]): void; close(): void };
}>;

describe('sql.js release build (minified exports)', () => {
  it("reads the glue's names for minified exports", () => {
    const aliases = exportAliasesFromGlue(fs.readFileSync(path.join(dist, 'sql-wasm.js'), 'utf8'));
    const real = new Set(aliases.values());
    for (const n of ['malloc', 'free', 'sqlite3_open', 'sqlite3_exec', 'sqlite3_prepare_v2']) expect(real.has(n)).toBe(true);
    for (const exp of aliases.keys()) expect(exp.length).toBeLessThanOrEqual(3);
  });

  it('finds the allocator by the glue names, and reports the leak with real names', async () => {
    const { module: SQL, kmemleak: k } = await emscripten(initSqlJs, {
      wasm: fs.readFileSync(path.join(dist, 'sql-wasm.wasm')),
      minAgeMs: 0,
      scan: 'off',
      log: () => {},
    });
    expect(k.allocators).toEqual(['malloc', 'free']);
    const db = new SQL.Database();
    db.run('CREATE TABLE t(a)');
    expect(() => db.run('SELECT * FROM no_such_table')).toThrow(/no such table/);
    db.run('INSERT INTO t VALUES (1)');
    await k.scan();
    await k.scan();
    const msg = k.leaks().find((l) => Buffer.from(l.hex.replace(/ /g, ''), 'hex').toString('latin1').includes('no such t'));
    expect(msg).toBeDefined();
    expect(msg!.comm).toBe('sqlite3_exec');
    expect(msg!.backtrace!.some((f) => f.function === 'sqlite3_exec')).toBe(true);
    db.close();
  });
});
