/** The browser WASI shim, run on a real WASI command built from fixtures/hello.c. */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WasiShim, WasiExit } from '../../src/api/wasi.js';

const bytes = fs.readFileSync(path.join(__dirname, 'fixtures', 'hello.wasm'));

async function run(args: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const shim = new WasiShim({ args, env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, shim.importObject(module));
  const code = shim.start(instance);
  return { code, out, err, shim };
}

describe('WasiShim', () => {
  it('passes args and env, writes stdout/stderr as UTF-8, provides clocks and randomness', async () => {
    const r = await run(['hello', '0', 'x y'], { GREETING: 'bonjour' });
    expect(r.code).toBe(0);
    expect(r.out).toBe('arg0=hello\narg1=0\narg2=x y\nGREETING=bonjour\nyear>=2020:1\nrandom:1\n');
    expect(r.err).toBe('to stderr: héllo\n');
  });

  it('returns the exit status of proc_exit', async () => {
    const r = await run(['hello', '7']);
    expect(r.code).toBe(7);
    expect(r.shim.exitCode).toBe(7);
    expect(r.out).toContain('GREETING=(none)');
  });

  it('answers every preview1 import a module has, unknown ones with ENOSYS', async () => {
    const shim = new WasiShim();
    const module = await WebAssembly.compile(bytes);
    const obj = shim.importObject(module);
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.module === 'wasi_snapshot_preview1') expect(typeof obj[imp.module]![imp.name]).toBe('function');
    }
    expect(new WasiExit(3).code).toBe(3);
  });
});

describe('WASI commands through kmemleak.instantiate', () => {
  it("run on node:wasi with the wrapped instance, and on the shim; exit scan finds argv not leaked", async () => {
    const { WASI } = await import('node:wasi');
    const { instantiate } = await import('../../src/api/index.js');
    const wasi = new WASI({ version: 'preview1', args: ['hello', '3'], env: {}, returnOnExit: true, stdout: 2 });
    const h = await instantiate(bytes, wasi.getImportObject() as WebAssembly.Imports, { scan: 'off', log: () => {} });
    expect(wasi.start(h.instance)).toBe(3);
    expect(await h.exitScan()).toBe(0); // hello.c frees what it allocates; argv is start-up data
    let out = '';
    const shim = new WasiShim({ args: ['hello'], stdout: (t) => (out += t) });
    const h2 = await instantiate(bytes, shim.importObject(), { scan: 'off', log: () => {} });
    expect(shim.start(h2.instance)).toBe(0);
    expect(out).toContain('arg0=hello');
    expect(await h2.exitScan()).toBe(0);
  });
});
