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
