/**
 * Why: kmemleak's scan thread (SPEC §4 --scan, --first-scan). A WASI program under `kmemleak run`
 * holds the JS thread from _start to exit, so no timer can fire while it runs; instead the
 * allocation hooks call `tick()` and, once the period is due, a scan runs right there. Wasm frames
 * are live at that point and their locals are invisible, which is exactly why periodic scans
 * only report objects older than the minimum age (--min-age).
 *
 * Invariants: `tick` reads the clock only every CHECK_EVERY calls and allocates nothing; a scan
 * never starts inside another (re-entrancy guard); the period can change while running (the
 * control file's scan=on|off|SECS), and null stops automatic scanning.
 */
const CHECK_EVERY = 256;

export class AutoScan {
  private countdown = CHECK_EVERY;
  private due: number;
  private scanning = false;
  /** Automatic scans run so far. */
  scans = 0;

  constructor(
    private readonly scan: () => void,
    private periodMs: number | null,
    firstMs: number,
    private readonly now: () => number,
  ) {
    this.due = periodMs === null ? Infinity : now() + firstMs;
  }

  tick(): void {
    if (--this.countdown > 0) return;
    this.countdown = CHECK_EVERY;
    if (this.scanning || this.now() < this.due) return;
    this.scanning = true;
    try {
      this.scans++;
      this.scan();
    } finally {
      this.scanning = false;
      this.due = this.periodMs === null ? Infinity : this.now() + this.periodMs;
    }
  }

  /** scan=SECS (ms here) or scan=off (null). */
  setPeriod(ms: number | null): void {
    this.periodMs = ms;
    this.due = ms === null ? Infinity : this.now() + ms;
  }

  get period(): number | null { return this.periodMs; }
}
