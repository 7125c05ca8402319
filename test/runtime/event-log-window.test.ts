/**
 * The event log's window (src/wasm/runtime/event-log.ts): safe points (checkpoint) run the cancel
 * pass over the events logged since the last one and keep the window; a pair split across safe
 * points is still cancelled; flush replays everything in program order; the window is replayed
 * by a checkpoint once the next batch might not fit in it. The wrappers are played by this test:
 * it appends events at `pos` as they do.
 */
import { describe, expect, it } from 'vitest';
import { EventLog, LOG_CAPACITY } from '../../src/wasm/runtime/event-log.js';

const FREE = 0xffffffff;

function setUp() {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const global = () => new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
  const g = { pos: global(), end: global(), start: global(), knownBase: global(), knownMask: global() };
  const seen: string[] = [];
  const clock = { ms: 1000 };
  const log = new EventLog(memory, g, {
    alloc: (ptr, size) => { seen.push(`A ${ptr} ${size}`); },
    free: (ptr) => { seen.push(`F ${ptr}`); },
  }, () => clock.ms);
  let next = 0x10000;
  expect(log.enable(() => { const p = next; next += 2 << 20; return p; })).toBe(true);
  const u32 = new Uint32Array(memory.buffer);
  const append = (ptr: number, size: number): void => {
    const at = g.pos.value as number;
    u32[at >>> 2] = ptr; u32[(at >>> 2) + 1] = size; u32[(at >>> 2) + 2] = 0;
    g.pos.value = at + 12;
  };
  return { log, g, seen, clock, alloc: (p: number, n: number) => append(p, n), free: (p: number) => append(p, FREE) };
}

describe('the event log\'s window', () => {
  it('cancels a pair split across safe points, and replays the rest in program order at flush', () => {
    const { log, seen, alloc, free } = setUp();
    alloc(0x100, 8);
    alloc(0x200, 16);
    log.checkpoint();
    expect(seen).toEqual([]);           // held: the window is far from full
    free(0x100);                        // the pair spans two safe points
    alloc(0x300, 24);
    free(0x999);                        // unknown: replayed for its warning
    log.checkpoint();
    alloc(0x100, 32);                   // the address reused: a new block
    log.flush();
    expect(seen).toEqual(['A 512 16', 'A 768 24', 'F 2457', 'A 256 32']);
  });

  it('a free after a replay meets its block in the engine, not in the table', () => {
    const { log, seen, alloc, free } = setUp();
    alloc(0x100, 8);
    log.flush();
    free(0x100);
    log.checkpoint();
    log.flush();
    expect(seen).toEqual(['A 256 8', 'F 256']);
  });

  it('a checkpoint replays a window held too long (creation times stay close)', () => {
    const { log, seen, clock, alloc } = setUp();
    alloc(0x100, 8);
    clock.ms += 5;
    log.checkpoint();
    expect(seen).toEqual([]);
    clock.ms += 30;
    log.checkpoint();
    expect(seen).toEqual(['A 256 8']);
  });

  it('after a pass that cancels nothing, the next one is skipped (its pair replayed), then passes resume', () => {
    const { log, seen, alloc, free } = setUp();
    for (let i = 0; i < 2000; i++) alloc(0x100000 + 16 * i, 16);   // nothing to cancel: barren
    log.checkpoint();
    alloc(0x100, 8);
    free(0x100);                        // skipped pass: this pair is not dropped
    log.checkpoint();
    alloc(0x200, 8);
    log.checkpoint();                   // this pass runs again
    free(0x200);
    log.flush();
    expect(seen.slice(2000)).toEqual(['A 256 8', 'F 256']);
  });

  it('a checkpoint replays the window once the next batch might not fit', () => {
    const { log, seen, alloc } = setUp();
    for (let i = 0; i < LOG_CAPACITY - 100; i++) alloc(0x1000 + 16 * i, 16);
    log.checkpoint();
    expect(seen).toHaveLength(LOG_CAPACITY - 100);
    expect(seen[0]).toBe('A 4096 16');
  });
});
