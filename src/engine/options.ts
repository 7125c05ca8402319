/**
 * Engine options and their defaults (kmemleak's compile-time constants become options here).
 * The scheduler is injectable so tests and embedders control time: every timer the engine arms
 * goes through it, and the default one unrefs its timers so they never keep Node alive.
 */

import type { TraceDescriber } from '../symbolize/frame.js';

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Resolves once other tasks had a chance to run (between chunks of scanAsync()). */
  yield(): Promise<void>;
}

export interface EngineOptions {
  /** Minimum age (ms, to the scan's start) before a periodic scan reports an object. Default 5000. */
  minAgeMs?: number;
  /** Operations kept before attachMemory(); overflow disables the detector. Default 16384. */
  earlyPoolSize?: number;
  /** Where messages go, one line per call, no trailing newline. Default console.error. */
  log?: (line: string) => void;
  /** Shown in "N new suspected memory leaks (see ...)". */
  reportLocation?: string;
  /** Clock in ms (any origin). Default performance.now(). */
  now?: () => number;
  /** Turns trace handles into frames for reports, dump= and warnings. */
  describer?: TraceDescriber;
  /** Initial stack=on|off. Default true. */
  stack?: boolean;
  /** Automatic scan period in seconds; 0 disables automatic scanning. Default 600. */
  scanPeriodSecs?: number;
  /** Delay of the first automatic scan in seconds. Default 60. */
  firstScanSecs?: number;
  /** Timers and yielding. Default: unref'd setTimeout, setImmediate. */
  scheduler?: Scheduler;
  /** Veto for automatic scans: false defers the scan by `deferMs`. */
  canScan?: () => boolean;
  /** Retry delay of a vetoed automatic scan, ms. Default 1000. */
  deferMs?: number;
  /** The clock is sampled every this many hook calls. Default 32; 1 reads it on every call. */
  clockEvery?: number;
  /** Words scanned per chunk of scanAsync() before yielding. Default 1M (4 MiB, a few ms). */
  scanChunkWords?: number;
  /**
   * The WebAssembly flood kernel for scans that run to completion, when attachMemory() was given
   * the heap's WebAssembly.Memory: 'auto' (default) from KERNEL_MIN_OBJECTS objects up, 'on'
   * always, 'off' never (the JavaScript flood).
   */
  scanKernel?: 'auto' | 'on' | 'off';
  /**
   * The scan's grey queue holds max(this, objects / 8) entries (at most one an object); grey
   * objects past that wait in a bitmap until it runs empty. Default 65536; tests set it to 1 so
   * that every scan overflows.
   */
  scanQueueMin?: number;
}

/** scanKernel 'auto': below this many objects the JavaScript flood is as fast. */
export const KERNEL_MIN_OBJECTS = 32768;

export interface ResolvedOptions {
  minAgeMs: number;
  earlyPoolSize: number;
  log: (line: string) => void;
  reportLocation: string;
  now: () => number;
  stack: boolean;
  scanPeriodSecs: number;
  firstScanSecs: number;
  scheduler: Scheduler;
  canScan: (() => boolean) | undefined;
  deferMs: number;
  clockEvery: number;
  scanChunkWords: number;
  scanKernel: 'auto' | 'on' | 'off';
  scanQueueMin: number;
}

export const DEFAULT_MIN_AGE_MS = 5000;
export const DEFAULT_EARLY_POOL_SIZE = 16384;
export const DEFAULT_SCAN_PERIOD_SECS = 600;
export const DEFAULT_FIRST_SCAN_SECS = 60;

export const defaultScheduler: Scheduler = {
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms) as unknown as { unref?: () => void };
    if (typeof h === 'object' && h !== null && typeof h.unref === 'function') h.unref();
    return h;
  },
  clearTimeout(handle) {
    clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
  },
  yield() {
    return new Promise<void>((resolve) => {
      if (typeof setImmediate === 'function') setImmediate(resolve);
      else setTimeout(resolve, 0);
    });
  },
};

const num = (v: number | undefined, d: number, min: number): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= min ? v : d;

export function resolveOptions(o: EngineOptions, now: () => number): ResolvedOptions {
  return {
    minAgeMs: num(o.minAgeMs, DEFAULT_MIN_AGE_MS, 0),
    earlyPoolSize: Math.floor(num(o.earlyPoolSize, DEFAULT_EARLY_POOL_SIZE, 0)),
    log: o.log ?? ((line: string) => console.error(line)),
    reportLocation: o.reportLocation ?? 'kmemleak read()',
    now: o.now ?? now,
    stack: o.stack ?? true,
    scanPeriodSecs: num(o.scanPeriodSecs, DEFAULT_SCAN_PERIOD_SECS, 0),
    firstScanSecs: num(o.firstScanSecs, DEFAULT_FIRST_SCAN_SECS, 0),
    scheduler: o.scheduler ?? defaultScheduler,
    canScan: o.canScan,
    deferMs: num(o.deferMs, 1000, 0),
    clockEvery: Math.max(1, Math.floor(num(o.clockEvery, 32, 1))),
    scanChunkWords: Math.max(1024, Math.floor(num(o.scanChunkWords, 1 << 20, 1))),
    scanKernel: o.scanKernel === 'on' || o.scanKernel === 'off' ? o.scanKernel : 'auto',
    scanQueueMin: Math.max(1, Math.floor(num(o.scanQueueMin, 1 << 16, 1))),
  };
}
