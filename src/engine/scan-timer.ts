/**
 * Automatic scanning, as kmemleak's scan thread: the first time it starts it waits `firstScan`,
 * later starts (scan=on after scan=off, scan=SECS) scan at once; after each scan it waits the
 * period. A vetoed moment (canScan() false) defers the scan by `deferMs`.
 *
 * Invariants: at most one timer is armed; `generation` changes on every start/stop so a scan
 * that completes after a stop (or a restart) never re-arms the old schedule.
 */

import type { Scheduler } from './options.js';

export class ScanTimer {
  private handle: unknown = null;
  private generation = 0;
  private firstRunPending = true;
  running = false;

  constructor(
    private readonly sched: Scheduler,
    private readonly scan: () => Promise<unknown>,
    public periodMs: number,
    private readonly firstMs: number,
    private readonly canScan: (() => boolean) | undefined,
    private readonly deferMs: number,
  ) {}

  /** kmemleak's start_scan_thread(): no-op when already running. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const gen = ++this.generation;
    const delay = this.firstRunPending ? this.firstMs : 0;
    this.firstRunPending = false;
    this.arm(gen, delay);
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.handle !== null) this.sched.clearTimeout(this.handle);
    this.handle = null;
  }

  private arm(gen: number, ms: number): void {
    this.handle = this.sched.setTimeout(() => this.fire(gen), ms);
  }

  private fire(gen: number): void {
    this.handle = null;
    if (gen !== this.generation || !this.running) return;
    let ok = true;
    try {
      ok = this.canScan ? this.canScan() : true;
    } catch {
      ok = false;
    }
    if (!ok) {
      this.arm(gen, this.deferMs);
      return;
    }
    const rearm = () => {
      if (gen === this.generation && this.running && this.handle === null) this.arm(gen, this.periodMs);
    };
    this.scan().then(rearm, rearm);
  }
}
