/**
 * sql.js (the npm package, its debug build: malloc/free exported, no name section, no DWARF)
 * under the detector through Emscripten's Module.instantiateWasm. What it proves:
 * - the glue's own loading works instrumented, and normal use reports nothing (no false leaks);
 * - a real leak in sql.js is found: Database.run(sql) without parameters passes an error-message
 *   pointer to sqlite3_exec and never frees the message sqlite allocates on an SQL error. It is
 *   reported with a backtrace into sqlite (sqlite3_exec) and comm "sqlite3_exec"; freeing the
 *   message (sqlite3_free) makes the report go away;
 * - a statement prepared and never freed is NOT reported while its connection is open: sqlite
 *   links every statement into its connection, which sqlite's static data reaches, so no
 *   reachability-based detector (kmemleak, LeakSanitizer) can call it lost; Database.close()
 *   finalizes it (see the report to the lead).
 * sql.js caches its module per process, so the tests share one instance (vitest isolates files).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { emscripten, type KmemleakHandle } from '../../src/api/index.js';

const require = createRequire(import.meta.url);
const dist = path.dirname(require.resolve('sql.js/dist/sql-wasm-debug.js'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const initSqlJs = require('sql.js/dist/sql-wasm-debug.js') as (arg: object) => Promise<SqlJs>;

interface Statement {
  stmt: number;
  bind(v: unknown[]): boolean;
  step(): boolean;
  get(): unknown[];
  free(): boolean;
}
interface Database {
  db: number;
  run(sql: string, params?: unknown[]): Database;
  exec(sql: string): unknown[];
  prepare(sql: string): Statement;
  close(): void;
}
interface SqlJs {
  Database: new () => Database;
  _sqlite3_free(p: number): void;
}

let SQL: SqlJs;
let k: KmemleakHandle;
const log: string[] = [];

beforeAll(async () => {
  const r = await emscripten(initSqlJs, {
    wasm: fs.readFileSync(path.join(dist, 'sql-wasm-debug.wasm')),
    minAgeMs: 0,
    scan: 'off',
    log: (l) => log.push(l),
  });
  SQL = r.module;
  k = r.kmemleak;
});

/** kmemleak greys a block whose content changed since the previous scan, so report after two. */
async function scan2(): Promise<number> {
  return (await k.scan()) + (await k.scan());
}

function workload(db: Database): void {
  db.run('CREATE TABLE IF NOT EXISTS t(a INTEGER, b TEXT)');
  for (let i = 0; i < 20; i++) db.run('INSERT INTO t VALUES (?, ?)', [i, `row ${i}`.repeat(i + 1)]);
  const st = db.prepare('SELECT a, b FROM t WHERE a > ? ORDER BY b');
  st.bind([5]);
  let n = 0;
  while (st.step()) n += (st.get()[1] as string).length;
  st.free();
  expect(n).toBeGreaterThan(0);
  db.exec('UPDATE t SET b = upper(b) WHERE a % 2 = 0; DELETE FROM t WHERE a > 15');
}

describe('sql.js under kmemleak', () => {
  it('wraps sql.js allocator (malloc, free, and realloc/calloc found next to them)', () => {
    expect(k.allocators).toEqual(expect.arrayContaining(['malloc', 'free', 'realloc', 'calloc']));
    expect(k.relocatable).toBe(false);
  });

  it('reports nothing for normal use: statements freed, connections closed', async () => {
    const db = new SQL.Database();
    workload(db);
    await scan2();
    expect(k.read()).toBe('');
    db.close();
    expect(await scan2()).toBe(0);
    expect(k.read()).toBe('');
  });

  it("finds sql.js's leak of sqlite's error message (Database.run), with a backtrace into sqlite", async () => {
    const db = new SQL.Database();
    workload(db);
    expect(() => db.run('SELECT * FROM no_such_table')).toThrow(/no such table/);
    db.run('INSERT INTO t VALUES (100, ?)', ['after the error']); // the glue's temp slot moves on
    expect(await scan2()).toBe(1);
    const [leak] = k.leaks();
    expect(leak!.comm).toBe('sqlite3_exec');
    // sqlite's allocator puts an 8-byte size header before the message.
    const text = Buffer.from(leak!.hex.replace(/ /g, ''), 'hex').subarray(8).toString('latin1');
    expect(text).toMatch(/^no such table: no_such_t/);
    expect(leak!.backtrace!.map((f) => f.function)).toContain('sqlite3_exec');
    expect(k.read()).toMatch(/unreferenced object 0x[0-9a-f]{8} \(size \d+\):\n {2}comm "sqlite3_exec", pid 1/);
    expect(k.read()).toMatch(/\n {4}sqlite3_exec\+0x[0-9a-f]+\/0x[0-9a-f]+\n/);
    expect(log.some((l) => /^kmemleak: 1 new suspected memory leaks \(see kmemleak\.read\(\)\)$/.test(l))).toBe(true);
    // Freeing it (what sql.js should do) makes the report go away.
    SQL._sqlite3_free(leak!.address + 8);
    expect(k.read()).toBe('');
    expect(await scan2()).toBe(0);
    db.close();
  });

  it('exec() reports the same SQL error without leaking', async () => {
    const db = new SQL.Database();
    expect(() => db.exec('SELECT * FROM no_such_table')).toThrow(/no such table/);
    db.run('CREATE TABLE u(x)');
    expect(await scan2()).toBe(0);
    db.close();
  });

  it('a statement prepared and never freed stays reachable from its open connection', async () => {
    const db = new SQL.Database();
    workload(db);
    const forgotten = db.prepare('SELECT count(*) FROM t WHERE b LIKE ?');
    forgotten.bind(['%ROW%']);
    forgotten.step();
    db.run('INSERT INTO t VALUES (200, ?)', ['x']);
    // Referenced through the connection's statement list: not a leak by reachability.
    expect(await scan2()).toBe(0);
    expect(k.dump(forgotten.stmt)).toMatch(/^Object 0x/);
    db.close(); // sql.js finalizes the statements it handed out
    expect(await scan2()).toBe(0);
    expect(k.read()).toBe('');
  });

  it('comm is the sqlite export the host called, though the glue calls helpers around it', () => {
    const db = new SQL.Database();
    // The glue called stackAlloc, sqlite3_open and stackRestore: the connection is sqlite3_open's.
    expect(k.dump(db.db)).toMatch(/^Object 0x[0-9a-f]{8} \(size \d+\):\n {2}comm "sqlite3_open", pid 1/);
    db.close();
  });
});
