/**
 * The control file's write side (kmemleak_write): one command per write, matched by prefix as
 * kmemleak matches them with strncmp (so "scan\n" or "offline" are "scan" and "off"), in
 * kmemleak's order: clear, then (refused once the detector is off) off, stack=on, stack=off,
 * scan=on, scan=off, scan=SECS, scan, dump=ADDR; anything else is EINVAL.
 *
 * Errors are answered as the kernel's write() fails: with the errno's text. A disabled detector
 * answers EBUSY (as the seed's kmemleak_write does) to everything but `clear`, which current
 * kmemleak still accepts after `off` to free what is left (here: nothing, off already freed it).
 * Numbers parse as kstrtoul with base 0: decimal, 0x hex, 0 octal, optional '+', one optional
 * trailing newline; too big is ERANGE for scan=SECS (kstrtouint) and EINVAL for dump=.
 */

export const ERRNO_TEXT = {
  EINVAL: 'Invalid argument',
  EBUSY: 'Device or resource busy',
  ERANGE: 'Numerical result out of range',
} as const;
export type Errno = keyof typeof ERRNO_TEXT;

export interface ControlResult {
  /** null on success, else the errno's text (what `echo CMD > kmemleak` prints after "write error:"). */
  error: string | null;
  errno: Errno | null;
  /** Text the command produced (dump=); also logged, as kmemleak prints it to the kernel log. */
  output: string;
}

/** What the commands act on (implemented by the engine). */
export interface ControlTarget {
  isEnabled(): boolean;
  clearReported(): void;
  disable(): void;
  setStack(on: boolean): void;
  startAutoScan(): void;
  stopAutoScan(): void;
  setScanPeriodMs(ms: number): void;
  scanNow(): void;
  /** The object's info (kmemleak's dump_object_info) or null when no object contains addr. */
  dumpObject(addr: number): string | null;
  log(line: string): void;
}

/** kmemleak reads at most 63 bytes of a write. */
const MAX_COMMAND = 63;

const ok = (output = ''): ControlResult => ({ error: null, errno: null, output });
const fail = (errno: Errno): ControlResult => ({ error: ERRNO_TEXT[errno], errno, output: '' });

/** kstrtoul(s, 0): the value, or the errno. */
export function parseKernelUlong(s: string, max: number): number | Errno {
  let i = 0;
  if (s[i] === '+') i++;
  let base = 10;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X')) {
    base = 16;
    i += 2;
  } else if (s[i] === '0') {
    base = 8;
  }
  let end = s.length;
  if (end > i && s[end - 1] === '\n') end--;
  if (end <= i) return 'EINVAL';
  let v = 0;
  let overflow = false;
  for (let k = i; k < end; k++) {
    const d = parseInt(s[k], 16);
    if (Number.isNaN(d) || d >= base) return 'EINVAL';
    v = v * base + d;
    if (v > max) overflow = true;
  }
  return overflow ? 'ERANGE' : v;
}

export function controlWrite(t: ControlTarget, command: string): ControlResult {
  const buf = command.slice(0, MAX_COMMAND);
  const is = (p: string) => buf.startsWith(p);

  if (is('clear')) {
    if (t.isEnabled()) t.clearReported();
    return ok();
  }
  if (!t.isEnabled()) return fail('EBUSY');

  if (is('off')) t.disable();
  else if (is('stack=on')) t.setStack(true);
  else if (is('stack=off')) t.setStack(false);
  else if (is('scan=on')) t.startAutoScan();
  else if (is('scan=off')) t.stopAutoScan();
  else if (is('scan=')) {
    const secs = parseKernelUlong(buf.slice(5), 0xffffffff);
    if (typeof secs !== 'number') return fail(secs);
    t.stopAutoScan();
    if (secs > 0) {
      t.setScanPeriodMs(Math.min(secs * 1000, 0xffffffff));
      t.startAutoScan();
    }
  } else if (is('scan')) t.scanNow();
  else if (is('dump=')) {
    const addr = parseKernelUlong(buf.slice(5), Number.MAX_SAFE_INTEGER);
    if (typeof addr !== 'number') return fail('EINVAL');
    const info = addr <= 0xffffffff ? t.dumpObject(addr) : null;
    if (info === null) {
      t.log(`kmemleak: Unknown object at 0x${hex8(addr)}`);
      return fail('EINVAL');
    }
    for (const line of info.split('\n')) if (line) t.log(`kmemleak: ${line}`);
    return ok(info);
  } else return fail('EINVAL');
  return ok();
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
