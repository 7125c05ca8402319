/**
 * kmemleak.emscripten() given something that is not a factory (a user passing the module object,
 * or the glue's path): one clear message naming what it needs, not a TypeError from inside
 * Function.prototype.toString.
 */
import { describe, expect, it } from 'vitest';
import { emscripten } from '../../src/api/index.js';

describe('emscripten() given no factory', () => {
  it.each([[42, 'number'], ['./pt.js', 'string'], [null, 'null'], [{}, 'object']])('rejects %s with one line', async (bad, what) => {
    const f = bad as unknown as (arg: Record<string, unknown>) => object;
    await expect(emscripten(f, { wasm: new Uint8Array(8) })).rejects.toThrow(
      new TypeError(`kmemleak.emscripten needs the Emscripten MODULARIZE factory (a function), got ${what}`));
  });
});
