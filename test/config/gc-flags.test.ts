/**
 * The test processes run wasm programs in-process and grow their memories: like `kmemleak run`
 * (bin/kmemleak's `#!` flags), they must run with V8's GC single-threaded, or Node 20.20.2's
 * concurrent marking crashes now and then during WebAssembly.Memory.grow (issue 12; it crashed
 * scan-flush.test.ts's midscan case ~2 runs in 6). vitest.config.ts passes the flag to the forks.
 */
import { expect, it } from 'vitest';

it('test workers run with --single-threaded-gc and --no-flush-bytecode (the flags kmemleak run uses)', () => {
  expect(process.execArgv).toContain('--single-threaded-gc');
  expect(process.execArgv).toContain('--no-flush-bytecode');
});
