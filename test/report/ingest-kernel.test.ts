/**
 * `kmemleak report` on the kernel's own reports: syzkaller's twelve kmemleak test logs (every
 * generation: 2.6-era without hex dump, 32-bit, hashed pointers, 6.x symbolized with [inline]
 * frames, truncated, two reports in one log) must get the title syzkaller gives them; other
 * generations and log noise are built here from what kmemleak printed in each era.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readReportText } from '../../src/report/ingest/read.js';
import { groupIntoSites } from '../../src/report/ingest/sites.js';
import { parseFrameLine } from '../../src/report/ingest/frame-line.js';
import { stripLogPrefixes } from '../../src/report/ingest/lines.js';

const DIR = fileURLToPath(new URL('../fixtures/kernel-reports/', import.meta.url));
const LOGS = readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();

function sitesOf(text: string, file = 'log') {
  const { records, titles } = readReportText(text, file);
  return groupIntoSites(records, [file], { titles });
}

/** syzkaller's test files: header lines, a blank line, then the console log. */
function splitTestFile(text: string): { title: string; log: string } {
  const blank = text.indexOf('\n\n');
  return { title: /^TITLE: (.*)$/m.exec(text.slice(0, blank))![1], log: text.slice(blank + 2) };
}

describe("syzkaller's kmemleak logs", () => {
  it('has all twelve', () => {
    expect(LOGS.length).toBe(12);
  });

  for (const name of LOGS) {
    it(`${name}: the first report gets syzkaller's title`, () => {
      const { title, log } = splitTestFile(readFileSync(DIR + name, 'utf8'));
      const { records } = readReportText(log, name);
      expect(records.length).toBeGreaterThan(0);
      const report = groupIntoSites(records, [name]);
      // syzkaller titles a log by its first report; ours lists every site.
      const firstSite = report.leaks.find((l) => l.source === `${name}:${records[0].source.line}`)!.site;
      expect(report.sites[firstSite].title).toBe(title);
    });
  }

  it('reads both reports of 151.txt, biggest site first, and notes that kinds are unknown', () => {
    const report = sitesOf(readFileSync(DIR + '151.txt', 'utf8'));
    expect(report.sites.map((s) => [s.title, s.bytes])).toEqual([
      ['memory leak in new_inode_pseudo', 944],
      ['memory leak in inode_init_always', 96],
    ]);
    expect(report.sites[0].direct).toBeNull();
    expect(report.sites[0].retained).toBeNull();
    expect(report.leaks.every((l) => l.kind === 'unknown')).toBe(true);
    expect(report.leaks[0].backtrace[0]).toEqual({ function: 'kmem_cache_alloc', offset: 0x1c0, size: 0x3c0, address: '000000005b8e4771' });
    expect(report.leaks[0].hex.split(' ').length).toBe(32);
    expect(report.leaks[0].age).toBe(15.374);
  });

  it('keeps the cut record of 126.txt as a truncated one titled "corrupted"', () => {
    const report = sitesOf(readFileSync(DIR + '126.txt', 'utf8'));
    expect(report.leaks).toHaveLength(1);
    expect(report.leaks[0]).toMatchObject({ address: null, size: null, truncated: true });
    expect(report.sites[0].title).toBe('memory leak in corrupted');
  });

  it('reads 6.x symbolized frames: [inline] frames, file:line, the crc, no addresses', () => {
    const report = sitesOf(readFileSync(DIR + '752.txt', 'utf8'));
    const bt = report.leaks[0].backtrace;
    expect(report.leaks[0].crc).toBe('c9a1c131');
    expect(bt[0]).toEqual({ function: 'kmemleak_alloc_recursive', file: 'include/linux/kmemleak.h', line: 44, inline: true });
    expect(bt[3]).toEqual({ function: '__kmalloc_cache_noprof', offset: 0x42f, size: 0x5e0, file: 'mm/slub.c', line: 5719 });
    expect(bt.length).toBe(21);
  });

  it('drops the old all-ones end-of-trace entries (55.txt, 312.txt)', () => {
    for (const f of ['55.txt', '312.txt']) {
      const bt = sitesOf(readFileSync(DIR + f, 'utf8')).leaks[0].backtrace;
      expect(bt.every((fr) => fr.function !== null)).toBe(true);
    }
  });
});

describe('other generations and log noise', () => {
  // kmemleak 2.6.29 printed every line of a record to the log with its prefix, and no hex dump.
  const OLD = [
    '[   62.312046] kmemleak: unreferenced object 0xf6c4f3c0 (size 32):',
    '[   62.312050] kmemleak:   comm "swapper", pid 1, jiffies 4294877463',
    '[   62.312054] kmemleak:   backtrace:',
    '[   62.312058] kmemleak:     [<c01a5a9e>] kmemleak_alloc+0x11e/0x2a0',
    '[   62.312062] kmemleak:     [<c019f7f4>] kmem_cache_alloc+0xe4/0x110',
    '[   62.312066] kmemleak:     [<c035d7c1>] acpi_ds_build_internal_package_obj+0x30/0x1a4',
    '[   62.312070] kmemleak:     [<ffffffff>] 0xffffffff',
    '[   62.312080] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)',
  ].join('\n');

  it('strips timestamps and the 2.6-era "kmemleak: " prefix', () => {
    expect(stripLogPrefixes('[   62.312046] kmemleak: unreferenced object 0xf6c4f3c0 (size 32):')).toBe('unreferenced object 0xf6c4f3c0 (size 32):');
    expect(stripLogPrefixes('[  699.495516] kmemleak: 3 new suspected memory leaks')).toBe('kmemleak: 3 new suspected memory leaks');
    expect(stripLogPrefixes('<4>[   12.000001][ T1234]   comm "x", pid 1, jiffies 2')).toBe('comm "x", pid 1, jiffies 2');
    expect(stripLogPrefixes('Mar  5 10:00:00 host kernel: [ 5.1]   backtrace:')).toBe('backtrace:');
    const report = sitesOf(OLD);
    expect(report.leaks).toHaveLength(1);
    expect(report.leaks[0]).toMatchObject({ address: '0xf6c4f3c0', size: 32, comm: 'swapper', pid: 1, hex: '' });
    expect(report.leaks[0].backtrace).toHaveLength(3);
    expect(report.sites[0].title).toBe('memory leak in acpi_ds_build_internal_package_obj');
  });

  it('finds several reports among other log lines, groups them by backtrace (not offsets), biggest first', () => {
    const rec = (addr: string, size: number, off: string, fn: string) => [
      `[  100.000000] unreferenced object ${addr} (size ${size}):`,
      `[  100.000001]   comm "kworker/0:1", pid 42, jiffies 4295000000 (age 12.500s)`,
      '[  100.000002]   hex dump (first 16 bytes):',
      '[  100.000003]     01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10  ................',
      '[  100.000004]   backtrace (crc 0badf00d):',
      `[  100.000005]     [<0000000012345678>] __kmalloc+0x${off}/0x2a0`,
      `[  100.000006]     [<0000000087654321>] ${fn}+0x10/0x80 [nf_tables]`,
      '[  100.000007]     [<00000000abcdef01>] do_syscall_64+0x7c/0x180',
    ];
    const log = [
      '[   99.000000] usb 1-1: new high-speed USB device number 2',
      ...rec('0xffff888000001000', 64, '14f', 'nft_trans_new'),
      '[  100.100000] eth0: link up',
      ...rec('0xffff888000002000', 64, '150', 'nft_trans_new'),
      ...rec('0xffff888000003000', 512, '14f', 'nft_table_new'),
      '[  101.000000] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)',
    ].join('\n');
    const report = sitesOf(log);
    expect(report.sites.map((s) => [s.title, s.objects, s.bytes])).toEqual([
      ['memory leak in nft_table_new', 1, 512],
      ['memory leak in nft_trans_new', 2, 128],
    ]);
    expect(report.leaks[0].backtrace[1]).toMatchObject({ function: 'nft_table_new', module: 'nf_tables' });
    expect(report.summary).toMatchObject({ leaks: 3, bytes: 640, sites: 2, direct: null, indirect: null });
  });

  it('ends a record at an interleaved line and marks one cut before its backtrace as truncated', () => {
    const log = [
      'unreferenced object 0xffff888000004000 (size 8):',
      '  comm "a", pid 1, jiffies 1',
      '  hex dump (first 8 bytes):',
      'INFO: task blocked for more than 120 seconds',
    ].join('\n');
    const r = sitesOf(log).leaks[0];
    expect(r.truncated).toBe(true);
    expect(r.hex).toBe('');
    expect(sitesOf(log).sites[0].title).toBe('memory leak in corrupted');
  });

  it('parses every frame form', () => {
    expect(parseFrameLine('[<ffffffff848a2f5f>] sock_kmalloc+0x7f/0xc0 net/core/sock.c:1774')).toEqual({
      function: 'sock_kmalloc', offset: 0x7f, size: 0xc0, file: 'net/core/sock.c', line: 1774, address: 'ffffffff848a2f5f',
    });
    expect(parseFrameLine('[<c00c89f0>] create_object+0x11c/0x200')).toMatchObject({ function: 'create_object', address: 'c00c89f0' });
    expect(parseFrameLine('0xffffffffffffffff')).toBe('end-marker');
    expect(parseFrameLine('[<ffffffff>] 0xffffffff')).toBe('end-marker');
    expect(parseFrameLine('std::vector<int, std::allocator<int> >::push_back(int const&)+0x1c/0x40 vec.cc:12')).toMatchObject({
      function: 'std::vector<int, std::allocator<int> >::push_back(int const&)', file: 'vec.cc', line: 12,
    });
    expect(parseFrameLine('wasm-function[12]+0x1c/0x40')).toMatchObject({ function: 'wasm-function[12]', offset: 0x1c });
    expect(parseFrameLine('kmemleak: 3 new suspected memory leaks')).toBeNull();
  });
});
