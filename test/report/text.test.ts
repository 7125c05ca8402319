// Report formatting against kernel-format examples written by hand.
import { describe, expect, test } from 'vitest';
import { hexBytes, hexDumpLines, hexDumpRow, parseHexBytes } from '../../src/report/hexdump.js';
import { formatFrame, formatLeak, formatObjectInfo } from '../../src/report/text.js';
import type { LeakRecord } from '../../src/engine/index.js';

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

describe('hex dump (kernel hex_dump_to_buffer layout, 16 bytes a row, groups of 1)', () => {
  test('a full row: 47 hex characters, two spaces, the ASCII column at 49', () => {
    const row = hexDumpRow(ascii('this block is lo'), 0, 16);
    expect(row).toBe('74 68 69 73 20 62 6c 6f 63 6b 20 69 73 20 6c 6f  this block is lo');
    expect(row.indexOf('this')).toBe(49);
  });

  test('a short last row pads the ASCII column to the same place', () => {
    const row = hexDumpRow(ascii('abc'), 0, 3);
    expect(row).toBe('61 62 63' + ' '.repeat(49 - 8) + 'abc');
  });

  test('non-printing bytes (controls, DEL, >= 0x80) print as dots; hex is lowercase', () => {
    const row = hexDumpRow([0x00, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff, 0x41], 0, 8);
    expect(row).toBe('00 1f 20 7e 7f 80 ff 41' + ' '.repeat(49 - 23) + '.. ~...A');
  });

  test('lines carry kmemleak\'s four-space prefix and are 16 bytes each', () => {
    const bytes = [...ascii('this block is lost'), ...new Array(14).fill(0)];
    expect(hexDumpLines(bytes)).toBe(
      '    74 68 69 73 20 62 6c 6f 63 6b 20 69 73 20 6c 6f  this block is lo\n' +
        '    73 74 00 00 00 00 00 00 00 00 00 00 00 00 00 00  st..............\n',
    );
    expect(hexDumpLines([])).toBe('');
  });

  test('hexBytes: space-separated pairs', () => {
    expect(hexBytes([0, 15, 16, 255])).toBe('00 0f 10 ff');
    expect(parseHexBytes('00 0f 10 ff')).toEqual([0, 15, 16, 255]);
    expect(parseHexBytes('')).toEqual([]);
    // Invalid pairs are dropped; either case is read.
    expect(parseHexBytes('0g AB 1 123 ff  7e')).toEqual([0xab, 0xff, 0x7e]);
  });
});

describe('frames (%pS)', () => {
  test('func+0xoff/0xsize', () => {
    expect(formatFrame({ function: 'make_lost', offset: 0x1c, size: 0x40, funcIndex: 3 })).toBe('make_lost+0x1c/0x40');
  });
  test('file:line follows when known', () => {
    expect(formatFrame({ function: 'main', offset: 0, size: 0x80, funcIndex: 1, file: 'simple.c', line: 12 })).toBe(
      'main+0x0/0x80 simple.c:12',
    );
  });
  test('a frame with no name prints wasm-function[N]', () => {
    expect(formatFrame({ function: null, offset: 0xa, size: 0x1f0, funcIndex: 42 })).toBe('wasm-function[42]+0xa/0x1f0');
  });
});

describe('unreferenced object (SPEC §6)', () => {
  const rec: LeakRecord = {
    address: 0x10ab0,
    size: 100,
    comm: '_start',
    pid: 1,
    jiffies: 1234,
    crc: '1a2b3c4d',
    hex: hexBytes([...ascii('this block is lost'), ...new Array(14).fill(0)]),
    trace: 1,
    backtrace: [
      { function: 'make_lost', offset: 0x1c, size: 0x40, funcIndex: 5 },
      { function: '__original_main', offset: 0x20, size: 0x80, funcIndex: 6 },
    ],
  };

  test('the SPEC example, byte for byte', () => {
    expect(formatLeak(rec)).toBe(
      'unreferenced object 0x00010ab0 (size 100):\n' +
        '  comm "_start", pid 1, jiffies 1234\n' +
        '  hex dump (first 32 bytes):\n' +
        '    74 68 69 73 20 62 6c 6f 63 6b 20 69 73 20 6c 6f  this block is lo\n' +
        '    73 74 00 00 00 00 00 00 00 00 00 00 00 00 00 00  st..............\n' +
        '  backtrace (crc 1a2b3c4d):\n' +
        '    make_lost+0x1c/0x40\n' +
        '    __original_main+0x20/0x80\n',
    );
  });

  test('a small object dumps only its bytes; no describer prints raw frames', () => {
    const small: LeakRecord = { ...rec, address: 0x400, size: 5, hex: '68 65 6c 6c 6f', backtrace: undefined };
    expect(formatLeak(small, [7, 0x1a2])).toBe(
      'unreferenced object 0x00000400 (size 5):\n' +
        '  comm "_start", pid 1, jiffies 1234\n' +
        '  hex dump (first 5 bytes):\n' +
        '    68 65 6c 6c 6f                                   hello\n' +
        '  backtrace (crc 1a2b3c4d):\n' +
        '    wasm-function[7]:0x1a2\n',
    );
  });

  test('dump_object_info layout', () => {
    expect(
      formatObjectInfo({
        address: 0x2000,
        size: 24,
        comm: 'main',
        pid: 2,
        jiffies: 9,
        minCount: 1,
        count: -1,
        flags: 1,
        checksum: 0xffffffff,
        backtrace: [{ function: 'f', offset: 1, size: 2, funcIndex: 0 }],
      }),
    ).toBe(
      'Object 0x00002000 (size 24):\n' +
        '  comm "main", pid 2, jiffies 9\n' +
        '  min_count = 1\n' +
        '  count = -1\n' +
        '  flags = 0x1\n' +
        '  checksum = 4294967295\n' +
        '  backtrace:\n' +
        '    f+0x1/0x2\n',
    );
  });
});
