/**
 * Why: programs written for LeakSanitizer call its interface (<sanitizer/lsan_interface.h>);
 * linked for wasm with -Wl,--allow-undefined (or with include/sanitizer/lsan_interface.h) the
 * calls become imports `env.__lsan_*`. Here they get LSan's meaning on kmemleak's engine:
 *
 * - __lsan_ignore_object(p): the block p points into is never reported and stays a source of
 *   pointers (kmemleak_not_leak).
 * - __lsan_disable/__lsan_enable: nesting; blocks allocated in between are never reported.
 *   Unmatched enable: LSan's message, and the run ends with `exitcode` as LSan's Die() does.
 * - __lsan_do_leak_check: the final check, at most once; a later exit check does not run; leaks
 *   with a non-zero exitcode end the program with that status.
 * - __lsan_do_recoverable_leak_check: a check now, printing every block leaked at that point;
 *   returns 1 when there are leaks; any number of times; does not affect the final check.
 * - __lsan_register_root_region/__lsan_unregister_root_region: extra roots (unless
 *   use_root_regions=0); unregistering a region never registered is LSan's error.
 * The program's own __lsan_is_turned_off() (exported by the rewriter when defined) makes every
 * check do nothing when it returns non-zero; detect_leaks=0 does the same.
 *
 * Invariants: imports never throw into wasm except through `host.die` (Node's proc_exit, which
 * unwinds the program as exit would); each check flushes the event log first (host.flush).
 */
import type { LeakCheckSettings } from './lsan-flags.js';

export const LSAN_MODULE = 'env';

export const LSAN_FUNCTIONS = [
  '__lsan_ignore_object', '__lsan_disable', '__lsan_enable', '__lsan_do_leak_check',
  '__lsan_do_recoverable_leak_check', '__lsan_register_root_region', '__lsan_unregister_root_region',
] as const;

/** What the checks need from the run. */
export interface CheckHost {
  /** Replays logged events into the engine. */
  flush(): void;
  /** A complete scan with minimum age 0 (the engine's exit scan). */
  scan(): void;
  /** Prints the report of every block leaked now (recoverable checks); returns how many. */
  printLeaks(): number;
  /** Writes the final reports (text, --json); returns how many blocks were reported. */
  writeFinal(): number;
  /** Ends the program with this status now (Node's proc_exit: unwinds the wasm stack). */
  die(status: number): never;
  /** The program's __lsan_is_turned_off() answer (false when it defines none). */
  turnedOff(): boolean;
  /** __lsan_disable (+1) / __lsan_enable (-1); returns the new depth. */
  ignoreAllocations(delta: 1 | -1): number;
  /** kmemleak_not_leak on the block containing ptr; false when there is none. */
  ignoreObject(ptr: number): boolean;
  /** One line of kmemleak's own output (no trailing newline). */
  log(line: string): void;
}

const hex = (n: number): string => '0x' + (n >>> 0).toString(16).padStart(8, '0');

export class LeakChecks {
  /** The final check has run (__lsan_do_leak_check or the exit check): it never runs again. */
  finalDone = false;
  /** Blocks the final check reported. */
  finalLeaks = 0;
  /** The final reports (text, --json) were written by a check. */
  reportsWritten = false;
  /** The status the program was ended with by a check (LSan's Die), or null. */
  diedWith: number | null = null;
  private readonly regions: Array<[number, number]> = [];

  constructor(public settings: LeakCheckSettings, private readonly host: CheckHost) {}

  private enabled(): boolean {
    return this.settings.detectLeaks && !this.host.turnedOff();
  }

  /** Adds the registered root regions to a scan's roots. */
  addRoots(add: (start: number, end: number) => void): void {
    if (!this.settings.useRootRegions) return;
    for (const [s, e] of this.regions) add(s, e);
  }

  private die(status: number): never {
    this.diedWith = status;
    return this.host.die(status);
  }

  /** A recoverable check: 1 when leaks are found now, else 0. */
  recoverable(): number {
    if (!this.enabled()) return 0;
    this.host.flush();
    this.host.scan();
    return this.host.printLeaks() > 0 ? 1 : 0;
  }

  /**
   * The final check, once: from __lsan_do_leak_check or at a full exit. Returns the number of
   * blocks reported (0 when it had already run or is off). From the program (`fromCall`), leaks
   * with a non-zero exitcode end it at once.
   */
  final(fromCall: boolean): number {
    if (this.finalDone) return 0;
    this.finalDone = true;
    if (!this.enabled()) return 0;
    this.host.flush();
    this.host.scan();
    this.finalLeaks = this.host.writeFinal();
    this.reportsWritten = true;
    if (fromCall && this.finalLeaks > 0 && this.settings.exitcode !== 0) this.die(this.settings.exitcode);
    return this.finalLeaks;
  }

  imports(): Record<string, (...a: number[]) => number | void> {
    return {
      __lsan_ignore_object: (p: number) => {
        if (!this.host.ignoreObject(p >>> 0)) this.host.log(`kmemleak: __lsan_ignore_object(): no heap object found at ${hex(p)}`);
      },
      __lsan_disable: () => { this.host.ignoreAllocations(1); },
      __lsan_enable: () => {
        if (this.host.ignoreAllocations(-1) < 0) {
          this.host.ignoreAllocations(1);
          this.host.log('kmemleak: Unmatched call to __lsan_enable().');
          this.die(this.settings.exitcode);
        }
      },
      __lsan_do_leak_check: () => { this.final(true); },
      __lsan_do_recoverable_leak_check: () => this.recoverable(),
      __lsan_register_root_region: (p: number, size: number) => {
        const s = p >>> 0;
        this.regions.push([s, Math.min(s + (size >>> 0), 0x100000000)]);
      },
      __lsan_unregister_root_region: (p: number, size: number) => {
        const s = p >>> 0;
        const e = Math.min(s + (size >>> 0), 0x100000000);
        const i = this.regions.findIndex(([rs, re]) => rs === s && re === e);
        if (i >= 0) { this.regions.splice(i, 1); return; }
        this.host.log(`kmemleak: __lsan_unregister_root_region(): region at ${hex(s)} of size ${size >>> 0} has not been registered.`);
        this.die(this.settings.exitcode);
      },
    };
  }
}

/** The same imports doing nothing (--off, detect_leaks=0 before start). */
export function disabledLsanImports(): Record<string, (...a: number[]) => number | void> {
  const out: Record<string, (...a: number[]) => number | void> = {};
  for (const name of LSAN_FUNCTIONS) out[name] = () => 0;
  return out;
}
