// A report pass describes each backtrace once (issue 12: 100K leaks from a few call paths were
// symbolized object by object): records of one trace share one frozen frames array, and the
// text, the records and the JSON are what describing each object would give.
import { expect, test } from 'vitest';
import type { Frame } from '../../src/symbolize/frame.js';
import { buildJsonReport, JsonReportWriter } from '../../src/report/json.js';
import { formatLeak } from '../../src/report/text.js';
import { world } from './harness.js';

test('each trace is described once per report; records share its frames; output is unchanged', () => {
  const w = world({}, 1 << 20);
  const calls = new Map<number, number>();
  w.k.describer = {
    describe(trace: number): Frame[] {
      calls.set(trace, (calls.get(trace) ?? 0) + 1);
      return [{ function: `f${trace}`, offset: 1, size: 2, file: 'a.c', line: trace, funcIndex: trace }];
    },
  };
  const traces = [w.k.depot.save(Uint32Array.of(1, 10), 2), w.k.depot.save(Uint32Array.of(2, 20), 2)];
  for (let i = 0; i < 300; i++) {
    w.fill(0x1000 + 64 * i, 40, 0x41 + (i % 26));
    w.k.alloc(0x1000 + 64 * i, 40, 1, traces[i % 2]!);
  }
  expect(w.k.exitScan()).toBe(300);
  const texts: string[] = [];
  let json = '';
  const writer = new JsonReportWriter('p.wasm', (t) => { json += t; });
  expect(w.k.eachLeak((rec, text) => { texts.push(text); writer.leak(rec); })).toBe(300);
  writer.end();
  expect([...calls.values()]).toEqual([1, 1]);
  const recs = w.k.leaks();
  expect(recs[0]!.backtrace).toBe(recs[2]!.backtrace);
  expect(Object.isFrozen(recs[0]!.backtrace)).toBe(true);
  expect(recs[0]!.backtrace).not.toBe(recs[1]!.backtrace);
  // The same text as formatting each record on its own (hex dump parsed back from the record).
  expect(texts).toEqual(recs.map((r) => formatLeak(r)));
  expect(texts[1]).toContain('    f2+0x1/0x2 a.c:2\n');
  expect(texts[1]).toContain('42 42 42 42');
  expect(json).toBe(JSON.stringify(buildJsonReport('p.wasm', recs), null, 2) + '\n');
  expect(w.k.read()).toBe(texts.join(''));
});
