// The event log's tables taken from a block above 2^31 (a program whose heap passed 2 GiB before
// its first new calling context): the log's base and the replayed events stay unsigned.
import { expect, it } from 'vitest';
import { EventLog, MIN_BATCH } from '../../src/wasm/runtime/event-log.js';

it('a log block above 2^31 is used, and its events replay with unsigned pointers', () => {
  const memory = new WebAssembly.Memory({ initial: 32768 + 32, maximum: 65536 });
  const g = () => new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
  const globals = { pos: g(), end: g(), start: g(), knownBase: g(), knownMask: g() };
  const seen: string[] = [];
  const log = new EventLog(memory, globals, {
    alloc: (p, s, t) => seen.push(`alloc ${p.toString(16)} ${s} ${t}`),
    free: (p, t) => seen.push(`free ${p.toString(16)} ${t}`),
  });
  expect(log.enable(() => 0x80000004)).toBe(true);
  expect(globals.knownBase.value >>> 0).toBe(0x80000010);
  const start = globals.pos.value >>> 0;
  expect(start).toBeGreaterThan(0x80000010);
  expect(((globals.end.value >>> 0) - start) / 12).toBe(MIN_BATCH);
  // What the wrappers write: (ptr, size, trace) triples; size 0xffffffff is a free.
  const u32 = new Uint32Array(memory.buffer, start, 6);
  u32.set([0x80200000, 48, 7, 0x80300000, 0xffffffff, 9]);
  globals.pos.value = start + 24;
  log.flush();
  expect(seen).toEqual(['alloc 80200000 48 7', 'free 80300000 9']);
  expect(globals.pos.value >>> 0).toBe(start);
});
