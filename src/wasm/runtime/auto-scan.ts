/**
 * Why: kmemleak's scan thread (SPEC §4 --scan, --first-scan; the control file's scan=on|off|SECS).
 * A WASI program under `kmemleak run` holds the JS thread from _start to exit, so no timer can
 * fire while it runs; instead the allocation hooks call `tick()` and, once a scan is due, it runs
 * right there. Wasm frames are live at that point and their locals are invisible, which is exactly
 * why scans while the program runs only report objects older than the minimum age (--min-age).
 *
 * Invariants: `tick` reads the clock only every CHECK_EVERY calls and allocates nothing; a scan
 * never starts inside another; like the kernel's thread, the first start waits `firstMs`, a later
 * start (scan=on, scan=SECS) scans at the next check, and the period counts from the end of the
 * previous scan. The period survives scan=off, for a later scan=on.
 */
const CHECK_EVERY = 256;

export const DEFAULT_SCAN_PERIOD_MS = 600_000;

export class AutoScan {
  private countdown = CHECK_EVERY;
  private due = Infinity;
  private scanning = false;
  private started = false;
  private periodMs: number;
  /** Automatic scans run so far. */
  scans = 0;

  constructor(
    private readonly scan: () => void,
    periodMs: number | null,
    private readonly firstMs: number,
    private readonly now: () => number,
  ) {
    this.periodMs = periodMs ?? DEFAULT_SCAN_PERIOD_MS;
    if (periodMs !== null) this.start();
  }

  get running(): boolean { return this.due !== Infinity; }
  get period(): number { return this.periodMs; }

  /** scan=on (and the start at launch, unless --scan=off). */
  start(): void {
    if (this.running) return;
    this.due = this.now() + (this.started ? 0 : this.firstMs);
    this.started = true;
  }

  /** scan=off. */
  stop(): void {
    this.due = Infinity;
  }

  /** scan=SECS (here in ms): a new period, and the thread (re)started; 0 stops it. */
  setPeriod(ms: number): void {
    this.stop();
    if (ms <= 0) return;
    this.periodMs = ms;
    this.start();
  }

  /** Milliseconds until the next scan is due (Infinity when none is planned): how long a wait may sleep. */
  msUntilDue(): number {
    return this.due === Infinity ? Infinity : Math.max(0, this.due - this.now());
  }

  /** force: check the clock now (the event log's flush: thousands of events went by unseen). */
  tick(force = false): void {
    if (--this.countdown > 0 && !force) return;
    this.countdown = CHECK_EVERY;
    if (this.scanning || this.now() < this.due) return;
    this.scanning = true;
    try {
      this.scans++;
      this.scan();
    } finally {
      this.scanning = false;
      if (this.running) this.due = this.now() + this.periodMs;
    }
  }
}
