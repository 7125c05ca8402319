/**
 * The event log's window (src/wasm/runtime/event-log.ts): safe points (checkpoint) keep the
 * window until it is nearly full or held too long; flush replays everything in program order,
 * without the allocations the wrappers cancelled; the tables start empty. The wrappers are played
 * by this test: it appends events at `pos` as they do (their cancelling of pairs is tested with
 * the real wrappers in test/wasm/wrapper-cancel.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { EventLog, KNOWN_CAPACITY, LOG_CAPACITY } from '../../src/wasm/runtime/event-log.js';
import { NO_WINDOW, RECENT_ENTRIES, RECENT_OFFSET } from '../../src/wasm/instrument/wrappers.js';

const FREE = 0xffffffff;
const CANCELLED = 0xfffffffe;

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
  // The block the log takes is dirty, as a reused heap block would be.
  new Uint8Array(memory.buffer, next, 2 << 20).fill(0xff);
  expect(log.enable(() => { const p = next; next += 2 << 20; return p; })).toBe(true);
  const u32 = new Uint32Array(memory.buffer);
  const append = (ptr: number, size: number): void => {
    const at = g.pos.value as number;
    u32[at >>> 2] = ptr; u32[(at >>> 2) + 1] = size; u32[(at >>> 2) + 2] = 0;
    g.pos.value = at + 12;
  };
  return { log, g, seen, clock, u32, alloc: (p: number, n: number) => append(p, n), free: (p: number) => append(p, FREE) };
}

describe('the event log\'s window', () => {
  it('holds the window across safe points, then replays it in program order, cancelled events left out', () => {
    const { log, g, seen, u32, alloc, free } = setUp();
    alloc(0x100, 8);
    alloc(0x200, 16);
    log.checkpoint();
    expect(seen).toEqual([]);           // held: the window is far from full
    const first = (g.start.value as number) >>> 2;
    u32[first + 1] = CANCELLED;         // what a wrapper does when 0x100 is freed in the window
    alloc(0x300, 24);
    free(0x999);                        // unknown: replayed for its warning
    log.checkpoint();
    alloc(0x100, 32);                   // the address reused: a new block
    log.flush();
    expect(seen).toEqual(['A 512 16', 'A 768 24', 'F 2457', 'A 256 32']);
    expect(g.pos.value).toBe(g.start.value);
  });

  it('the tables start empty in a dirty block: no recent-allocation slot names an event', () => {
    const { g, u32 } = setUp();
    const base = (g.knownBase.value as number) >>> 2;
    expect(g.start.value).toBe((g.knownBase.value as number) + RECENT_OFFSET + RECENT_ENTRIES * 4);
    expect(RECENT_OFFSET).toBe(KNOWN_CAPACITY * 16);
    const tables = u32.subarray(base, base + (RECENT_OFFSET >>> 2) + RECENT_ENTRIES);
    expect(tables.every((v) => v === 0)).toBe(true);
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

  it('after a window whose wrappers cancelled nothing, the next runs without the table, then it is tried again', () => {
    const { log, g, alloc } = setUp();
    const first = g.start.value as number;
    for (let i = 0; i < 2000; i++) alloc(0x100000 + 16 * i, 16);   // nothing cancelled: barren
    log.flush();
    expect(g.start.value).toBe(NO_WINDOW);
    for (let i = 0; i < 2000; i++) alloc(0x100000 + 16 * i, 16);
    log.flush();
    expect(g.start.value).toBe(first);  // one window skipped, then a probe
    // The probe pays: 1000 pairs of the window were dropped by the wrappers (the end lowered).
    for (let i = 0; i < 1000; i++) alloc(0x200000 + 16 * i, 16);
    g.end.value = (g.end.value as number) - 1000 * 12;
    log.flush();
    expect(g.start.value).toBe(first);
    // A small window is not judged alone.
    alloc(0x300000, 16);
    log.flush();
    expect(g.start.value).toBe(first);
  });

  it('a checkpoint replays the window once it is nearly full, and no batch runs past its end', () => {
    const { log, g, seen, alloc } = setUp();
    const limit = (g.start.value as number) + LOG_CAPACITY * 12;
    for (let i = 0; i < LOG_CAPACITY - 1000; i++) alloc(0x1000 + 16 * i, 16);
    log.checkpoint();
    expect(seen).toEqual([]);           // 1000 events of room: held
    expect(g.end.value as number).toBeLessThanOrEqual(limit);
    for (let i = 0; i < 900; i++) alloc(0x100000 + 16 * i, 16);
    log.checkpoint();
    expect(seen).toHaveLength(LOG_CAPACITY - 100);
    expect(seen[0]).toBe('A 4096 16');
  });
});
