/** The export wrappers: comm, live-frame depth, deferred actions at safe points, name learning. */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CallTracker } from '../../src/api/calls.js';

const bytes = fs.readFileSync(path.join(__dirname, 'fixtures', 'leaky.wasm'));

async function setup(onCallback: (t: CallTracker) => void) {
  const entered: string[] = [];
  const t = new CallTracker((c) => entered.push(c));
  const { instance } = await WebAssembly.instantiate(bytes, { host: { callback: () => onCallback(t) } });
  const ex = t.wrapExports(instance.exports) as Record<string, (...a: number[]) => number>;
  return { t, ex, entered, raw: instance.exports };
}

describe('CallTracker', () => {
  it('records the export the host called and keeps it across nested calls', async () => {
    const seen: Array<[string, number]> = [];
    const { ex, entered } = await setup((t) => {
      seen.push([t.comm, t.depth]);
      ex.keep!(8); // a nested call from JS while wasm is live
      seen.push([t.comm, t.depth]);
    });
    ex.leak!(1, 4);
    expect(entered).toEqual(['leak']);
    ex.with_callback!(16);
    expect(entered).toEqual(['leak', 'with_callback']);
    expect(seen).toEqual([
      ['with_callback', 1],
      ['with_callback', 1],
    ]);
  });

  it('defers actions asked for while wasm runs to the moment the outer call returns', async () => {
    const order: string[] = [];
    const { t, ex } = await setup((tr) => {
      const now = tr.whenSafe(() => order.push(`action at depth ${tr.depth}`));
      order.push(`asked (ran now: ${now})`);
    });
    ex.with_callback!(8);
    order.push('returned');
    expect(order).toEqual(['asked (ran now: false)', 'action at depth 0', 'returned']);
    expect(t.whenSafe(() => order.push('immediate'))).toBe(true);
    expect(order.at(-1)).toBe('immediate');
  });

  it('restores depth when wasm traps or the host throws through wasm', async () => {
    const { t, ex } = await setup(() => {
      throw new Error('host failure');
    });
    expect(() => ex.with_callback!(8)).toThrow('host failure');
    expect(t.depth).toBe(0);
    expect(t.inWasm).toBe(false);
  });

  it('tells the next entry that the previous call ended by an exception (globals to reset)', async () => {
    const faults: boolean[] = [];
    const t = new CallTracker((_c, afterFault) => faults.push(afterFault));
    let fail = true;
    const { instance } = await WebAssembly.instantiate(bytes, {
      host: {
        callback: () => {
          if (fail) throw new Error('boom');
        },
      },
    });
    const ex = t.wrapExports(instance.exports) as Record<string, (...a: number[]) => number>;
    expect(() => ex.with_callback!(8)).toThrow('boom');
    fail = false;
    ex.with_callback!(8);
    ex.with_callback!(8);
    expect(faults).toEqual([false, true, false]);
  });

  it('passes non-function exports through and keeps arity', async () => {
    const { ex, raw } = await setup(() => {});
    expect((ex as unknown as Record<string, unknown>).memory).toBe(raw.memory);
    expect(ex.leak!.length).toBe(2);
    expect(ex.release!.length).toBe(1);
    expect(Object.isFrozen(ex)).toBe(true);
  });

  it('learns real names from a glue object holding the wrappers (minified exports)', async () => {
    const entered: string[] = [];
    const t = new CallTracker((c) => entered.push(c));
    const { instance } = await WebAssembly.instantiate(bytes, { host: { callback: () => {} } });
    // Pretend the exports were minified: rename them as an Emscripten release build would.
    const minified = { a: instance.exports.leak, b: instance.exports.keep, memory: instance.exports.memory };
    const ex = t.wrapExports(minified as unknown as WebAssembly.Exports) as Record<string, (...a: number[]) => void>;
    const Module = { _leak: ex.a, _keep: ex.b, HEAP8: null, other: () => 0 };
    expect(t.learnNames(Module)).toBe(2);
    ex.a!(1, 4);
    ex.b!(4);
    expect(entered).toEqual(['leak', 'keep']);
  });
});
