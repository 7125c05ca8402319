/**
 * The prepare cache is keyed by the binary and the options, not by our own code: a change to the
 * rewriter's or the layout reader's output must come with a new CACHE_VERSION, or users would be
 * served rewrites made by the old code. This test pins the output for two fixtures to the version.
 *
 * When it fails after a deliberate change to instrument() or staticLayout(): bump CACHE_VERSION in
 * src/wasm/runtime/prepare-cache.ts and put the new version and digest below.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { instrument, toParts } from '../../src/wasm/instrument/index.js';
import { staticLayout } from '../../src/wasm/layout/index.js';
import { CACHE_VERSION } from '../../src/wasm/runtime/prepare-cache.js';
import { fixture } from './helpers.js';

const PINNED = { version: 'KMLC18', digest: 'b3b1fd7d828bf8bf7b52d0e1ebc60e3f02c818a59288c5e8822c29cf9d98d354' };

function outputDigest(): string {
  const h = createHash('sha256');
  // (the last: a one-step -O2 build, whose allocator is found by its code's shape)
  for (const name of ['tool.wasm', 'paths.wasm', 'realloc_only.wasm', '../peers/lsan_exit_o2.wasm']) {
    const original = new Uint8Array(readFileSync(fixture(name)));
    const ins = instrument(original);
    const parts = toParts(ins);
    h.update(parts.binary);
    h.update(JSON.stringify(parts.meta));
    h.update(JSON.stringify(staticLayout(original, { allocatorEntries: ins.allocators.map((a) => a.index) })));
  }
  return h.digest('hex');
}

test('the rewriter output is the one CACHE_VERSION was pinned with', () => {
  const digest = outputDigest();
  expect({ version: CACHE_VERSION, digest }, 'rewriter/layout output changed: bump CACHE_VERSION (see this file)').toEqual(PINNED);
});
