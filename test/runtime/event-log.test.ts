/**
 * The hooks' fast path (src/wasm/runtime/event-log.ts): events logged in linear memory and
 * replayed in order must give exactly what the slow path gives: the same leaks with the same
 * backtraces, the same warnings with the caller's backtrace, and nothing lost between batches.
 */
import { describe, expect, it } from 'vitest';
import { fixture, run } from './helpers.js';

/** The report without what legitimately differs: addresses (the log's block shifts the heap) and times. */
const norm = (text: string): string => text.replace(/0x[0-9a-f]{8}/g, 'ADDR').replace(/jiffies \d+/g, 'jiffies J');

async function both(args: string[]) {
  const fast = await run(fixture('tool.wasm'), args);
  const saved = process.env['KMEMLEAK_FAST_PATH'];
  process.env['KMEMLEAK_FAST_PATH'] = 'off';
  try {
    const slow = await run(fixture('tool.wasm'), args);
    return { fast, slow };
  } finally {
    if (saved === undefined) delete process.env['KMEMLEAK_FAST_PATH'];
    else process.env['KMEMLEAK_FAST_PATH'] = saved;
  }
}

describe('the event log (fast path)', () => {
  it('malloc/free churn across many batches leaves exactly the one leak, with its exact backtrace', async () => {
    const { fast, slow } = await both(['churn', '20000']);
    expect(fast.result.leaks).toBe(1);
    expect(fast.err).toMatch(/size 24\)[\s\S]*churn_alloc\+0x[0-9a-f]+\/0x[0-9a-f]+ tool\.c:\d+\n    churn\+/);
    expect(norm(fast.err)).toBe(norm(slow.err));
    // the stacks were captured once per calling context, not once per event
    expect(fast.result.captures).toBeLessThan(20);
  });

  it('every leak of a long run is recorded once, in allocation order, whatever the batch boundaries', async () => {
    const { fast, slow } = await both(['leak', '1000', 'churn', '777', 'leak', '300']);
    expect(fast.result.leaks).toBe(1301);
    expect(norm(fast.err)).toBe(norm(slow.err));
    const addrs = [...fast.err.matchAll(/^unreferenced object 0x([0-9a-f]{8})/gm)].map((m) => parseInt(m[1]!, 16));
    expect(addrs).toHaveLength(1301);
  });

  it('a double free replayed from the log is warned about with the backtrace of the second free', async () => {
    const { fast, slow } = await both(['dfree2', '600']);
    const warnings = fast.err.match(/^kmemleak: Freeing unknown object at 0x[0-9a-f]{8}\n    free_twice\+0x[0-9a-f]+\/0x[0-9a-f]+ tool\.c:\d+\n    main\+/gm);
    expect(warnings).toHaveLength(600);
    expect(norm(fast.err)).toBe(norm(slow.err));
    expect(fast.result.status).toBe(slow.result.status);
  });
});
