// The committed kernel module (src/engine/kernel/flood-wasm.ts) must be what flood.c builds to,
// and the build must refuse a module that could not share a program's memory. Needs clang and
// wasm-ld (Debian: clang lld; .ci/run installs them). Without them this test says so loudly and
// is skipped, except under CI, where it fails.
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';

const haveTools = (() => {
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
    execFileSync('wasm-ld', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

if (!haveTools) {
  const msg = 'flood-kernel-build.test.ts: clang or wasm-ld missing: NOT checking that flood-wasm.ts matches flood.c';
  console.warn(`\n*** ${msg} ***\n`);
  if (process.env['CI']) test('the kernel toolchain is installed (CI)', () => expect.fail(msg));
}

test.skipIf(!haveTools)('flood-wasm.ts is the build of flood.c (run node scripts/build-flood-kernel.mjs)', () => {
  const out = execFileSync(process.execPath, ['scripts/build-flood-kernel.mjs', '--check'], { encoding: 'utf8' });
  expect(out).toContain('up to date');
}, 60_000);

test('the build refuses a kernel with a global (a C stack) or a data segment', async () => {
  // @ts-expect-error: a plain .mjs script without types
  const { checkShareable } = (await import('../../scripts/build-flood-kernel.mjs')) as { checkShareable: (b: Uint8Array) => void };
  const binaryen = (await import('binaryen')).default;
  const make = (withGlobal: boolean, withData: boolean): Uint8Array => {
    const m = new binaryen.Module();
    m.setMemory(1, -1, null, withData ? [{ offset: m.i32.const(1024), data: new Uint8Array([1, 2, 3]), passive: false }] : [], false, false, '0');
    m.addMemoryImport('0', 'env', 'memory');
    if (withGlobal) m.addGlobal('sp', binaryen.i32, true, m.i32.const(65536));
    for (const name of ['flood', 'init', 'scan_range', 'whiten']) {
      m.addFunction(name, binaryen.none, binaryen.none, [], m.nop());
      m.addFunctionExport(name, name);
    }
    const bytes = m.emitBinary();
    m.dispose();
    return bytes;
  };
  expect(() => checkShareable(make(false, false))).not.toThrow();
  expect(() => checkShareable(make(true, false))).toThrow(/global/);
  expect(() => checkShareable(make(false, true))).toThrow(/data section/);
});
