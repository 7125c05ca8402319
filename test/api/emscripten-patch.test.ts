/**
 * kmemleak.emscripten() without the wasm bytes: the glue loads its own .wasm file and calls
 * WebAssembly.instantiate, which is patched only while the factory runs (then restored).
 * sql.js's debug build; a separate file because sql.js keeps one module per process.
 */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { emscripten } from '../../src/api/index.js';

const require = createRequire(import.meta.url);
const initSqlJs = require('sql.js/dist/sql-wasm-debug.js') as (arg: object) => Promise<{
  Database: new () => { run(sql: string): void; close(): void };
}>;

describe('emscripten() patching WebAssembly.instantiate around the glue', () => {
  it('instruments the module the glue loads itself, and restores WebAssembly.instantiate', async () => {
    const before = WebAssembly.instantiate;
    const { module: SQL, kmemleak: k } = await emscripten(initSqlJs, { minAgeMs: 0, scan: 'off', log: () => {} });
    expect(WebAssembly.instantiate).toBe(before);
    expect(k.allocators).toContain('malloc');
    const db = new SQL.Database();
    expect(() => db.run('SELECT nothing FROM nowhere')).toThrow();
    db.run('CREATE TABLE t(x)');
    await k.scan();
    expect(await k.scan()).toBe(1);
    expect(k.leaks()[0]!.comm).toBe('sqlite3_exec');
    db.close();
  });
});
