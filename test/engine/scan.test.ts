// Scan semantics (SPEC §3): colours, roots, marking, checksum pass, report-once, ages, read order.
import { describe, expect, test } from 'vitest';
import { crc32 } from 'node:zlib';
import { world } from './harness.js';

describe('marking', () => {
  test('an object referenced from a root is not reported; an unreferenced one is', () => {
    const w = world();
    w.roots.push([0x10, 0x20]);
    w.k.alloc(0x1000, 32, 1, 0);
    w.k.alloc(0x2000, 32, 1, 0);
    w.put32(0x14, 0x1000);
    expect(w.k.exitScan()).toBe(1);
    expect(w.reported()).toEqual([0x2000]);
  });

  test('an interior pointer counts as a reference', () => {
    const w = world();
    w.roots.push([0, 16]);
    w.k.alloc(0x1000, 32, 1, 0);
    w.put32(0, 0x101f);
    expect(w.k.exitScan()).toBe(0);
  });

  test('a pointer one past the end does not reference the object', () => {
    const w = world();
    w.roots.push([0, 16]);
    w.k.alloc(0x1000, 32, 1, 0);
    w.put32(0, 0x1020);
    expect(w.k.exitScan()).toBe(1);
  });

  test('a zero-sized object is referenced by a pointer to its start', () => {
    const w = world();
    w.roots.push([0, 16]);
    w.k.alloc(0x1000, 0, 1, 0);
    w.put32(0, 0x1000);
    expect(w.k.exitScan()).toBe(0);
  });

  test('references are followed transitively through grey objects', () => {
    const w = world();
    w.roots.push([0, 4]);
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.alloc(0x2000, 16, 1, 0);
    w.k.alloc(0x3000, 16, 1, 0);
    w.put32(0, 0x1000);
    w.put32(0x1008, 0x2004);
    w.put32(0x200c, 0x3000);
    expect(w.k.exitScan()).toBe(0);
  });

  test('a reference from an object to itself does not count', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.put32(0x1004, 0x1000);
    expect(w.k.exitScan()).toBe(1);
  });

  test('references from white objects count for nothing: an unreferenced cycle is reported', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.alloc(0x2000, 16, 1, 0);
    w.put32(0x1000, 0x2000);
    w.put32(0x2000, 0x1000);
    expect(w.k.exitScan()).toBe(2);
  });

  test('only aligned words are read', () => {
    const w = world();
    w.roots.push([0, 16]);
    w.k.alloc(0x1000, 16, 1, 0);
    const dv = new DataView(w.mem);
    dv.setUint32(1, 0x1000, true); // unaligned
    expect(w.k.exitScan()).toBe(1);
  });

  test('a root range with unaligned ends reads only the words fully inside it', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.alloc(0x2000, 16, 1, 0);
    w.put32(0x100, 0x1000);
    w.put32(0x104, 0x2000);
    w.roots.push([0x101, 0x107]); // word 0x100 starts before, word 0x104 ends after
    expect(w.k.exitScan()).toBe(2);
    const w2 = world();
    w2.k.alloc(0x1000, 16, 1, 0);
    w2.put32(0x100, 0x1000);
    w2.roots.push([0x100, 0x104]);
    expect(w2.k.exitScan()).toBe(0);
  });

  test('min_count 2 needs two references (they may come from one object)', () => {
    const w = world();
    w.roots.push([0, 8]);
    w.k.alloc(0x1000, 16, 2, 0);
    w.put32(0, 0x1000);
    expect(w.k.exitScan()).toBe(1);
    w.put32(4, 0x1008);
    w.k.alloc(0x3000, 16, 2, 0);
    w.put32(0x1000, 0x3000);
    w.put32(0x1004, 0x3004);
    expect(w.k.exitScan()).toBe(0);
    expect(w.reported()).toEqual([]); // 0x1000 is referenced again
  });

  test('min_count 0 is always grey, scanned, never reported', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 0, 0);
    w.k.alloc(0x2000, 16, 1, 0);
    w.put32(0x1000, 0x2000);
    expect(w.k.exitScan()).toBe(0);
  });

  test('min_count -1 is black: never scanned, never reported', () => {
    const w = world();
    w.roots.push([0, 4]);
    w.k.alloc(0x1000, 16, -1, 0);
    w.k.alloc(0x2000, 16, 1, 0);
    w.put32(0x1000, 0x2000);
    expect(w.k.exitScan()).toBe(1);
    expect(w.reported()).toEqual([0x2000]);
  });

  test('not_leak makes an orphan grey for good, and what it points to stays referenced', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.alloc(0x2000, 16, 1, 0);
    w.put32(0x1000, 0x2000);
    w.k.notLeak(0x1000);
    expect(w.k.exitScan()).toBe(0);
  });

  test('ignore makes it black: not reported, and what only it points to is reported', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.alloc(0x2000, 33, 1, 0);
    w.put32(0x1000, 0x2000);
    w.k.ignore(0x1000);
    expect(w.k.exitScan()).toBe(1);
    expect(w.reported()).toEqual([0x2000]);
  });

  test('no_scan: the object is not scanned but is still reported when unreferenced', () => {
    const w = world();
    w.roots.push([0, 4]);
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.alloc(0x2000, 24, 1, 0);
    w.k.alloc(0x3000, 8, 1, 0);
    w.put32(0, 0x1000);
    w.put32(0x1000, 0x2000);
    w.put32(0x3000, 0x2000);
    w.k.noScan(0x1000);
    w.k.noScan(0x3000);
    expect(w.k.exitScan()).toBe(2);
    expect(w.reported()).toEqual([0x2000, 0x3000]);
  });

  test('scan_area restricts scanning to the areas; several areas per object', () => {
    const w = world();
    w.roots.push([0, 4]);
    w.put32(0, 0x1000);
    w.k.alloc(0x1000, 40, 1, 0);
    for (const [a, slot] of [[0x2000, 0], [0x3000, 32], [0x4000, 16]] as const) {
      w.k.alloc(a, 20, 1, 0);
      w.put32(0x1000 + slot, a);
    }
    w.k.scanArea(0x1000, 0, 4);
    w.k.scanArea(0x1000, 30, 6); // covers the word at 32 only partly? 30..36 holds word 32 fully
    expect(w.k.exitScan()).toBe(1);
    expect(w.reported()).toEqual([0x4000]);
  });

  test('a scan area larger than the object is refused with a warning', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.scanArea(0x1000, 8, 16);
    expect(w.logs).toEqual(['kmemleak: Scan area larger than object 0x00001000']);
  });

  test('objects and roots beyond the end of memory are clipped, not read', () => {
    const w = world({}, 0x10000);
    w.roots.push([0xfff0, 0x20000]);
    w.k.alloc(0xfff8, 0x100, 0, 0); // grey, runs past the end of memory
    w.k.alloc(0x1000, 16, 1, 0);
    w.put32(0xfffc, 0x1000);
    expect(w.k.exitScan()).toBe(0);
  });
});

describe('checksum pass', () => {
  test('a white object whose content changed since the previous scan is grey for this scan, with its children', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.alloc(0x2000, 16, 1, 0);
    w.put32(0x1000, 0x2000); // 0x1000 never checksummed and not zero: changed
    expect(w.k.scan()).toBe(0);
    expect(w.k.scan()).toBe(2); // unchanged: both reported
    expect(w.reported()).toEqual([0x1000, 0x2000]);
  });

  test('an object that keeps changing is never reported by periodic scans', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    for (let i = 1; i <= 4; i++) {
      w.put32(0x1008, i);
      expect(w.k.scan()).toBe(0);
    }
  });

  test('an all-zero object never checksummed counts as unchanged (kmemleak: initial checksum 0)', () => {
    const w = world();
    w.k.alloc(0x1000, 64, 1, 0);
    expect(w.k.scan()).toBe(1);
  });

  test('transient_leak resets the checksum: the next scan greys the object once', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.put32(0x1000, 5);
    expect(w.k.scan()).toBe(0);
    w.k.transientLeak(0x1000);
    expect(w.k.scan()).toBe(0);
    expect(w.k.scan()).toBe(1);
  });

  test('the exit scan records checksums without greying changed objects', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.fill(0x1000, 16, 0x41);
    expect(w.k.exitScan()).toBe(1);
    expect(w.k.leaks()[0]!.crc).toBe(crc32(Buffer.alloc(16, 0x41)).toString(16).padStart(8, '0'));
  });
});

describe('reporting', () => {
  test('report-once: a leak is new only at its first scan, and stays listed', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    expect(w.k.scan()).toBe(1);
    expect(w.k.scan()).toBe(0);
    expect(w.reported()).toEqual([0x1000]);
  });

  test('the scan prints "N new suspected memory leaks (see <location>)" only when N > 0', () => {
    const w = world({ reportLocation: '/tmp/report.txt' });
    expect(w.k.scan()).toBe(0);
    expect(w.logs).toEqual([]);
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.alloc(0x2000, 16, 1, 0);
    w.k.scan();
    expect(w.logs).toEqual(['kmemleak: 2 new suspected memory leaks (see /tmp/report.txt)']);
  });

  test('minimum age is measured to the start of the scan', () => {
    const w = world({ minAgeMs: 5000 });
    w.k.alloc(0x1000, 16, 1, 0); // jiffies 0
    w.time.ms += 4999;
    expect(w.k.scan()).toBe(0);
    w.time.ms += 1;
    expect(w.k.scan()).toBe(1);
  });

  test('the exit scan reports with minimum age 0', () => {
    const w = world({ minAgeMs: 5000 });
    w.k.alloc(0x1000, 16, 1, 0);
    expect(w.k.scan()).toBe(0);
    expect(w.k.exitScan()).toBe(1);
  });

  test('read lists objects in allocation order, even when slots are reused', () => {
    const w = world();
    for (let i = 0; i < 8; i++) w.k.alloc(0x1000 + i * 0x100, 16, 1, 0);
    for (let i = 0; i < 8; i += 2) w.k.free(0x1000 + i * 0x100);
    const later = [0x5000, 0x4000, 0x6000];
    for (const a of later) w.k.alloc(a, 16, 1, 0);
    w.k.exitScan();
    expect(w.reported()).toEqual([0x1100, 0x1300, 0x1500, 0x1700, ...later]);
  });

  test('read no longer lists a reported object that became referenced, nor a freed one', () => {
    const w = world();
    w.roots.push([0, 4]);
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.alloc(0x2000, 16, 1, 0);
    w.k.exitScan();
    expect(w.reported()).toEqual([0x1000, 0x2000]);
    w.put32(0, 0x1000);
    w.k.free(0x2000);
    expect(w.k.scan()).toBe(0);
    expect(w.reported()).toEqual([]);
    w.put32(0, 0);
    w.k.exitScan(); // unreferenced again: listed, but not new
    expect(w.reported()).toEqual([0x1000]);
  });

  test('clear: reported, still unreferenced objects turn grey for good and are still scanned', () => {
    const w = world();
    w.k.alloc(0x1000, 16, 1, 0);
    w.k.exitScan();
    expect(w.k.write('clear')).toBe('');
    expect(w.reported()).toEqual([]);
    w.k.alloc(0x2000, 16, 1, 0);
    w.put32(0x1000, 0x2000);
    expect(w.k.exitScan()).toBe(0); // 0x1000 is grey and scanned: 0x2000 is referenced
    expect(w.reported()).toEqual([]);
  });

  test('leak records carry address, size, context, jiffies, crc, hex, trace and frames', () => {
    const frames = [{ function: 'make_lost', offset: 0x1c, size: 0x40, funcIndex: 5, file: 'simple.c', line: 12 }];
    const w = world({ describer: { describe: (t) => (t === 1 ? frames : []) } }, 1 << 17);
    w.k.setContext('_start', 1);
    w.time.ms += 1234;
    const t = w.k.depot.save(new Uint32Array([5, 0x99]), 2);
    expect(t).toBe(1);
    w.k.alloc(0x10ab0, 100, 1, t);
    const text = 'this block is lost';
    for (let i = 0; i < text.length; i++) w.u8[0x10ab0 + i] = text.charCodeAt(i);
    w.k.exitScan();
    const [r] = w.k.leaks();
    expect(r).toEqual({
      address: 0x10ab0,
      size: 100,
      comm: '_start',
      pid: 1,
      jiffies: 1234,
      crc: crc32(w.u8.subarray(0x10ab0, 0x10ab0 + 100)).toString(16).padStart(8, '0'),
      hex: '74 68 69 73 20 62 6c 6f 63 6b 20 69 73 20 6c 6f 73 74 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
      trace: 1,
      backtrace: frames,
    });
    expect(w.k.read()).toBe(
      'unreferenced object 0x00010ab0 (size 100):\n' +
        '  comm "_start", pid 1, jiffies 1234\n' +
        '  hex dump (first 32 bytes):\n' +
        '    74 68 69 73 20 62 6c 6f 63 6b 20 69 73 20 6c 6f  this block is lo\n' +
        '    73 74 00 00 00 00 00 00 00 00 00 00 00 00 00 00  st..............\n' +
        `  backtrace (crc ${r!.crc}):\n` +
        '    make_lost+0x1c/0x40 simple.c:12\n',
    );
  });
});

describe('address index edge cases', () => {
  test('objects at addresses >= 2^31 are found (u32 words, not signed)', () => {
    const w = world();
    w.roots.push([0, 8]);
    w.k.alloc(0x80001000, 64, 1, 0);
    w.k.alloc(0x80002000, 64, 1, 0);
    w.put32(0, 0x80001010);
    expect(w.k.exitScan()).toBe(1);
    expect(w.reported()).toEqual([0x80002000]);
  });

  test('a snapshot spanning more than 2 GiB (the unsigned path) gives the same answers', () => {
    const w = world();
    w.roots.push([0, 16]);
    w.k.alloc(0x1000, 32, 1, 0);
    w.k.alloc(0x2000, 32, 1, 0);
    w.k.alloc(0xf0000000, 64, 1, 0);
    w.k.alloc(0xf0001000, 64, 1, 0);
    w.put32(0, 0x1008);
    w.put32(4, 0xf000003f);
    w.put32(8, 0xf0000040); // one past the end of the first far object, before the second
    w.put32(12, 0xfffffff0); // above everything
    expect(w.k.exitScan()).toBe(2);
    expect(w.reported()).toEqual([0x2000, 0xf0001000]);
  });

  test('over more than 2 GiB, references are followed transitively', () => {
    const w = world();
    w.roots.push([0, 4]);
    w.k.alloc(0x1000, 32, 1, 0);
    w.k.alloc(0x2000, 32, 2, 0);
    w.k.alloc(0xf0000000, 64, 1, 0);
    w.put32(0, 0x1000);
    w.put32(0x1000, 0x2000);
    w.put32(0x1004, 0x2010);
    expect(w.k.exitScan()).toBe(1);
    expect(w.reported()).toEqual([0xf0000000]);
  });

  test('many small white objects sharing index pages (counts saturate) are still coloured exactly', () => {
    const w = world({}, 1 << 16);
    w.roots.push([0, 0x400]);
    // 200 objects of 4 bytes packed together, and one far away: the index pages are coarse.
    for (let i = 0; i < 200; i++) w.k.alloc(0x1000 + i * 4, 4, 1, 0);
    w.k.alloc(0x40000000, 8, 1, 0);
    for (let i = 0; i < 200; i += 3) w.put32(i * 4, 0x1000 + i * 4 + 3);
    expect(w.k.exitScan()).toBe(200 - 67 + 1);
    const leaked = new Set(w.reported());
    for (let i = 0; i < 200; i++) expect(leaked.has(0x1000 + i * 4)).toBe(i % 3 !== 0);
    expect(leaked.has(0x40000000)).toBe(true);
  });
});

describe('the exit scan borrows the exact-start index (issue 12, peak memory)', () => {
  test('after it, frees and annotations find their objects and a later scan agrees', () => {
    const w = world({}, 1 << 20);
    const rising = (i: number): number => 0x1000 + i * 64;
    const scattered = (i: number): number => 0x60000 + ((i * 7919) % 4000) * 64;
    for (let i = 0; i < 4000; i++) w.k.alloc(rising(i), 32, 1, 0);     // the index's run
    for (let i = 0; i < 4000; i++) w.k.alloc(scattered(i), 32, 1, 0);  // out of order: the hash
    w.k.free(rising(3999));                                              // syncs the hash
    w.roots.push([0, 8]);
    w.put32(0, rising(0));
    w.put32(4, scattered(0));
    expect(w.k.exitScan()).toBe(7997);
    for (let i = 1; i < 3999; i++) w.k.free(rising(i));
    for (let i = 1; i < 4000; i++) w.k.free(scattered(i));
    w.k.write(`dump=0x${rising(0).toString(16)}`);
    expect(w.logs.filter((l) => /unknown/.test(l))).toEqual([]);
    expect(w.k.stats().liveObjects).toBe(2);
    w.put32(4, 0);
    w.k.scan();
    expect(w.k.scan()).toBe(0);                 // reported once already, or referenced
    w.k.alloc(0x90000, 16, 1, 0);
    expect(w.k.exitScan()).toBe(1);
    expect(w.reported()).toEqual([scattered(0), 0x90000]);
  });
});
