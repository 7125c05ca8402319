// The JSON report (SPEC §6).
import { describe, expect, test } from 'vitest';
import { buildJsonReport, JsonReportWriter } from '../../src/report/json.js';
import type { LeakRecord } from '../../src/engine/index.js';

describe('JSON report', () => {
  const leak: LeakRecord = {
    address: 68272,
    size: 100,
    comm: '_start',
    pid: 1,
    jiffies: 1234,
    crc: '1a2b3c4d',
    hex: '74 68 69',
    trace: 3,
    backtrace: [
      { function: 'make_lost', offset: 28, size: 64, file: 'simple.c', line: 12, funcIndex: 4 },
      { function: null, offset: 2, size: 9, funcIndex: 8 },
    ],
  };

  test('program, leaks with SPEC fields, summary of count and bytes', () => {
    const r = buildJsonReport('simple.wasm', [leak, { ...leak, address: 7, size: 20, backtrace: undefined }]);
    expect(JSON.parse(JSON.stringify(r))).toEqual({
      program: 'simple.wasm',
      leaks: [
        {
          address: 68272,
          size: 100,
          comm: '_start',
          pid: 1,
          jiffies: 1234,
          crc: '1a2b3c4d',
          hex: '74 68 69',
          backtrace: [
            { function: 'make_lost', offset: 28, size: 64, file: 'simple.c', line: 12, funcIndex: 4 },
            { function: null, offset: 2, size: 9, funcIndex: 8 },
          ],
        },
        { address: 7, size: 20, comm: '_start', pid: 1, jiffies: 1234, crc: '1a2b3c4d', hex: '74 68 69', backtrace: [] },
      ],
      summary: { leaks: 2, bytes: 120 },
    });
  });

  test('frame keys come in SPEC order, unknown file and line are omitted (not null)', () => {
    const r = buildJsonReport('p', [leak]);
    expect(Object.keys(r.leaks[0]!.backtrace[0]!)).toEqual(['function', 'offset', 'size', 'file', 'line', 'funcIndex']);
    expect('file' in r.leaks[0]!.backtrace[1]!).toBe(false);
  });

  test('no leaks: empty list and zero summary', () => {
    expect(buildJsonReport('p', [])).toEqual({ program: 'p', leaks: [], summary: { leaks: 0, bytes: 0 } });
  });
});

describe('JsonReportWriter (a leak at a time)', () => {
  const frame = { function: 'make "it"', offset: 1, size: 2, file: 'x.c', line: 3, column: 4, funcIndex: 5 };
  const recs: LeakRecord[] = [
    { address: 16, size: 10, comm: 'a"b\\c', pid: 1, jiffies: 3, crc: '00ff00ff', hex: '01 02', trace: 7, backtrace: [frame, { ...frame, file: undefined, line: undefined, column: undefined }] },
    { address: 32, size: 20, comm: 'c', pid: 2, jiffies: 4, crc: '00000000', hex: '', trace: 0 },
    { address: 64, size: 0, comm: '\u00e9', pid: 3, jiffies: 5, crc: '12345678', hex: '00', trace: 1, backtrace: [] },
  ];
  for (const n of [0, 1, 3]) {
    test(`${n} leaks: byte for byte what JSON.stringify of the whole report gives`, () => {
      let out = '';
      const w = new JsonReportWriter('dir/p "q".wasm', (t) => { out += t; });
      for (const r of recs.slice(0, n)) w.leak(r);
      w.end();
      expect(out).toBe(JSON.stringify(buildJsonReport('dir/p "q".wasm', recs.slice(0, n)), null, 2) + '\n');
    });
  }

  test('records sharing one frozen backtrace (the engine describes a trace once): each written in full, byte for byte', () => {
    const shared = Object.freeze([frame, { ...frame, function: null, file: undefined, line: undefined, column: undefined }]);
    const recs2: LeakRecord[] = [1, 2, 3].map((i) => ({ ...recs[0]!, address: 16 * i, backtrace: shared as unknown as LeakRecord['backtrace'] }));
    let out = '';
    const w = new JsonReportWriter('p.wasm', (t) => { out += t; });
    for (const r of recs2) w.leak(r);
    w.end();
    expect(out).toBe(JSON.stringify(buildJsonReport('p.wasm', recs2), null, 2) + '\n');
    expect(out.match(/"function": "make \\"it\\""/g)).toHaveLength(3);
  });
});
