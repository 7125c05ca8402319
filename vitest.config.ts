import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // Node 20.20.2's V8 sometimes crashes in its concurrent GC while a wasm memory grows (issue
    // 12); `kmemleak run` runs programs with --single-threaded-gc (bin/kmemleak), so the tests that
    // run programs in-process do too (scan-flush's midscan crashed ~2 runs in 6 without it).
    // And without bytecode flushing, as bin/program-thread.cjs's GC_FLAGS explains.
    poolOptions: { forks: { execArgv: ['--single-threaded-gc', '--no-flush-bytecode'] } },
  },
});
