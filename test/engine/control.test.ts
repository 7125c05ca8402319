// The control file: write(cmd) as kmemleak_write, the automatic scan timer, dump=, off.
import { describe, expect, test } from 'vitest';
import { FakeScheduler, world } from './harness.js';

describe('control file commands', () => {
  test('scan runs a scan now; commands match by prefix as strncmp does ("scan\\n")', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    expect(w.k.write('scan\n')).toBe('');
    expect(w.logs).toContain('kmemleak: 1 new suspected memory leaks (see kmemleak read())');
  });

  test('an unknown command is EINVAL, answered as text', () => {
    const w = world();
    expect(w.k.write('bogus')).toBe('Invalid argument');
    expect(w.k.control('bogus')).toEqual({ error: 'Invalid argument', errno: 'EINVAL', output: '' });
    expect(w.k.write('')).toBe('Invalid argument');
  });

  test('stack=on|off sets the flag the root provider reads', () => {
    const w = world({ stack: true });
    expect(w.k.stackEnabled).toBe(true);
    expect(w.k.write('stack=off\n')).toBe('');
    expect(w.k.stackEnabled).toBe(false);
    expect(w.k.write('stack=on')).toBe('');
    expect(w.k.stackEnabled).toBe(true);
  });

  test('scan=SECS parses as kstrtouint (base 0), bad numbers are EINVAL, too big ERANGE', () => {
    const w = world();
    expect(w.k.write('scan=10')).toBe('');
    expect(w.k.write('scan=0x10\n')).toBe('');
    expect(w.k.write('scan=010')).toBe('');
    expect(w.k.write('scan=+5')).toBe('');
    expect(w.k.write('scan=ten')).toBe('Invalid argument');
    expect(w.k.write('scan=')).toBe('Invalid argument');
    expect(w.k.write('scan=5 ')).toBe('Invalid argument');
    expect(w.k.write('scan=-1')).toBe('Invalid argument');
    expect(w.k.write('scan=4294967296')).toBe('Numerical result out of range');
  });

  test('off is irreversible: hooks become no-ops, metadata is freed, later commands are EBUSY except clear', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.exitScan();
    expect(w.k.write('off')).toBe('');
    expect(w.logs).toContain('kmemleak: Memory leak detector disabled');
    expect(w.k.enabled).toBe(false);
    expect(w.k.stats().liveObjects).toBe(0);
    w.k.alloc(0x2000, 16, 1, 0);
    w.k.free(0x9999);
    expect(w.k.scan()).toBe(0);
    expect(w.k.read()).toBe('');
    expect(w.k.leaks()).toEqual([]);
    for (const c of ['scan', 'off', 'stack=on', 'scan=on', 'scan=5', 'dump=0x1000', 'junk']) {
      expect(w.k.write(c)).toBe('Device or resource busy');
    }
    expect(w.k.write('clear')).toBe('');
  });

  test('dump=ADDR prints the object info as dump_object_info, interior addresses accepted', () => {
    const frames = [{ function: 'f', offset: 4, size: 16, funcIndex: 2 }];
    const w = world({ describer: { describe: () => frames } });
    w.k.setContext('main', 42);
    w.time.ms += 77;
    w.k.alloc(0x1000, 40, 1, w.k.depot.save(new Uint32Array([2, 9]), 2));
    w.k.exitScan();
    const r = w.k.control('dump=0x1010');
    const expected =
      'Object 0x00001000 (size 40):\n' +
      '  comm "main", pid 42, jiffies 77\n' +
      '  min_count = 1\n' +
      '  count = 0\n' +
      '  flags = 0x3\n' +
      '  checksum = 2383973282\n'.replace('2383973282', String(parseInt(w.k.leaks()[0]!.crc, 16))) +
      '  backtrace:\n' +
      '    f+0x4/0x10\n';
    expect(r).toEqual({ error: null, errno: null, output: expected });
    expect(w.logs).toContain('kmemleak: Object 0x00001000 (size 40):');
    expect(w.logs).toContain('kmemleak:   min_count = 1');
    expect(w.k.write(`dump=${0x1000 + 39}`)).toBe('');
  });

  test('dump= of an unknown address is EINVAL and logs "Unknown object at"', () => {
    const w = world();
    expect(w.k.write('dump=0x5000')).toBe('Invalid argument');
    expect(w.logs).toContain('kmemleak: Unknown object at 0x00005000');
    expect(w.k.write('dump=xyz')).toBe('Invalid argument');
  });

  test('dump of a new object shows count -1 (no colour yet)', () => {
    const w = world();
    w.k.alloc(0x1000, 8, 1, 0);
    expect(w.k.dumpObject(0x1000)).toContain('  count = -1\n');
  });

  test('commands longer than 63 bytes are cut as kmemleak cuts its buffer', () => {
    const w = world();
    expect(w.k.write('scan=' + '0'.repeat(57) + '7')).toBe('');
    expect(w.k.write('scan=' + '0'.repeat(58) + 'x')).toBe('');
    expect(w.k.write('scan=' + '0'.repeat(57) + 'x')).toBe('Invalid argument');
  });
});

describe('automatic scanning', () => {
  function timed(opts = {}) {
    const sched = new FakeScheduler();
    const w = world({ scheduler: sched, scanPeriodSecs: 600, firstScanSecs: 60, ...opts });
    return { sched, w };
  }

  test('the first automatic scan runs after firstScan, then every scanPeriod', async () => {
    const { sched, w } = timed();
    w.k.alloc(0x1000, 16, 1, 0);
    expect(w.k.autoScan).toBe(true);
    await sched.advance(59_999);
    expect(w.logs).toEqual([]);
    await sched.advance(1);
    expect(w.logs).toEqual(['kmemleak: 1 new suspected memory leaks (see kmemleak read())']);
    expect(sched.pending).toEqual([660_000]);
    w.k.alloc(0x2000, 16, 1, 0);
    await sched.advance(599_999);
    expect(w.logs).toHaveLength(1);
    await sched.advance(1);
    expect(w.logs).toHaveLength(2);
  });

  test('scan=off stops it; scan=on restarts it with an immediate scan (the first delay is used once)', async () => {
    const { sched, w } = timed();
    expect(w.k.write('scan=off')).toBe('');
    expect(w.k.autoScan).toBe(false);
    expect(sched.pending).toEqual([]);
    w.k.alloc(0x1000, 16, 1, 0);
    expect(w.k.write('scan=on')).toBe('');
    await sched.advance(0);
    expect(w.logs).toHaveLength(1);
    expect(sched.pending).toEqual([600_000]);
  });

  test('scan=SECS sets the period and restarts; scan=0 stops', async () => {
    const { sched, w } = timed();
    await sched.advance(60_000);
    expect(w.k.write('scan=5')).toBe('');
    await sched.advance(0);
    expect(sched.pending).toEqual([65_000]);
    expect(w.k.write('scan=0')).toBe('');
    expect(w.k.autoScan).toBe(false);
    expect(sched.pending).toEqual([]);
  });

  test('automatic scanning starts only once memory is attached, and not at all with scanPeriodSecs 0', async () => {
    const sched = new FakeScheduler();
    const { Kmemleak } = await import('../../src/engine/index.js');
    const k = new Kmemleak({ scheduler: sched, log: () => {} });
    expect(sched.pending).toEqual([]);
    k.attachMemory(() => new ArrayBuffer(64));
    expect(sched.pending).toEqual([60_000]);
    const k2 = new Kmemleak({ scheduler: sched, scanPeriodSecs: 0, log: () => {} });
    k2.attachMemory(() => new ArrayBuffer(64));
    expect(sched.pending).toEqual([60_000]);
  });

  test('a vetoed automatic scan (canScan false) is deferred, then runs', async () => {
    let safe = false;
    const { sched, w } = timed({ canScan: () => safe, deferMs: 1000 });
    w.k.alloc(0x1000, 16, 1, 0);
    await sched.advance(60_000);
    expect(w.logs).toEqual([]);
    expect(sched.pending).toEqual([61_000]);
    safe = true;
    await sched.advance(1000);
    expect(w.logs).toHaveLength(1);
    expect(sched.pending).toEqual([661_000]);
  });

  test('the exit scan stops automatic scanning', () => {
    const { sched, w } = timed();
    w.k.exitScan();
    expect(w.k.autoScan).toBe(false);
    expect(sched.pending).toEqual([]);
  });

  test('default timers are unref\'d: they do not keep Node alive', async () => {
    const { defaultScheduler } = await import('../../src/engine/options.js');
    const h = defaultScheduler.setTimeout(() => {}, 1e6) as { hasRef(): boolean };
    expect(h.hasRef()).toBe(false);
    defaultScheduler.clearTimeout(h);
  });
});
