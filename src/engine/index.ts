/**
 * kmemleak's algorithm over a linear memory (a byte buffer), knowing nothing of WebAssembly.
 * The wasm adapter drives it by address (u32) and stack-depot handle (u32).
 *
 *   const k = new Kmemleak({ minAgeMs, earlyPoolSize, log, reportLocation, now, describer, ... });
 *   k.depot.save(frames: Uint32Array, count): handle     dedup'd backtrace (count = u32 words, <= 32)
 *   k.depot.frames(handle): Uint32Array                   the words (a view: do not modify)
 *   k.setContext(comm, pid)                               context of later allocations; samples the clock
 *   k.attachMemory(() => memory.buffer, heap?)           before it, hook calls go to the early pool;
 *                                                         heap = { memory, mayGrow } lets complete
 *                                                         scans flood in the WebAssembly kernel
 *   k.setRootProvider(add => { add(start, end); ... })    called at each scan start; ends exclusive
 *   k.alloc(ptr, size, minCount, trace); k.free(ptr, trace); k.freePart(ptr, size)
 *   k.notLeak(ptr); k.transientLeak(ptr); k.ignore(ptr); k.noScan(ptr)
 *   k.scanArea(ptr, offset, length); k.updateTrace(ptr, trace)
 *   k.scan(): number            one complete scan now; new suspected leaks
 *   k.exitScan(): number        final scan: min age 0, no checksum greying; stops automatic scans
 *   k.write(cmd): string        control file write: '' on success, else the errno text
 *   k.read(): string            text report of reported, still unreferenced objects
 *   k.leaks(): LeakRecord[]     the same, as records (JSON: src/report/json.ts)
 *   k.leakGraph(): LeakGraph    the same objects' own pointer graph, kinds, retained bytes (SPEC §7)
 *   k.leakRecord(slot, frames?) one object's record, its backtrace as given (no describe call)
 *
 * Additions beyond docs/ARCHITECTURE.md:
 *   k.scanAsync(): Promise<number>  chunked scan that yields between chunks (joins one in progress)
 *   k.stop()                        stops a scan in progress and automatic scanning
 *   k.control(cmd): ControlResult   write() with errno and output (dump= text)
 *   k.dumpObject(addr): string|null dump_object_info text (interior addresses accepted)
 *   k.tick()                        samples the clock (e.g. on each host call)
 *   k.stackEnabled                  stack=on|off, read by the root provider
 *   k.enabled / k.active / k.scanning / k.autoScan, k.describer (settable), k.stats()
 *   EngineOptions: stack, scanPeriodSecs (600, 0 = off), firstScanSecs (60), scheduler,
 *     canScan (veto: a vetoed automatic scan is retried after deferMs), clockEvery, scanChunkWords,
 *     scanKernel ('auto' | 'on' | 'off': kernel/flood-kernel.ts).
 *
 * Invariants and semantics (SPEC §3):
 * - Hooks never throw. Bad input is a warning through `log` naming what was asked (free of an
 *   unknown pointer, annotation of an unknown object, an add whose start is a live object's).
 *   An add that partly overlaps a live object is detected when the address index is rebuilt at
 *   the next scan: the newer object is then untracked with the same warning.
 * - Pointer 0 is ignored by every hook, as kmemleak ignores NULL.
 * - Colours: white while count < min_count; grey when count >= min_count or min_count == 0;
 *   black when min_count == -1. Allocator blocks have min_count 1. Objects created while a scan
 *   runs are not coloured by it. Words are aligned, 4 bytes, little-endian; interior pointers count;
 *   self references do not; white objects are not scanned.
 * - Checksum pass: a white object whose CRC32 changed since the previous scan turns grey for this
 *   scan (an object never checksummed counts as changed unless it is all zeroes, as kmemleak's
 *   initial checksum 0 behaves). The exit scan records checksums without greying.
 * - Report-once; minimum age measured to the scan's start; creation times are sampled (clock.ts:
 *   refreshed every `clockEvery` (32) allocations and at every setContext, so a creation time is
 *   early by at most the time since the sample: the span of up to 31 earlier allocations within
 *   one entry into the program).
 * - freePart keeps the original's backtrace, context and time for the remaining piece(s).
 * - `off` is irreversible: later writes answer EBUSY (except `clear`), hooks are no-ops, metadata
 *   is freed. An early-pool overflow or an internal error turns the detector off with a log line.
 * - Memory per live object: see bench/RESULTS.md "## Engine".
 */

export { Kmemleak, type RootProvider, type EngineStats } from './kmemleak.js';
export type { EngineOptions, Scheduler } from './options.js';
export type { HeapMemory } from './kernel/flood-kernel.js';
export type { LeakRecord } from './leak-record.js';
export { KIND_DIRECT, KIND_INDIRECT, type LeakGraph } from './leak-graph.js';
export type { ControlResult, Errno } from './control.js';
export { ERRNO_TEXT } from './control.js';
export { StackDepot } from './stack-depot.js';
export { crc32 } from './crc32.js';
