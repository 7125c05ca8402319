/**
 * An inlined frame (Frame.inline) in the reports: text as the kernel's decode_stacktrace.sh
 * prints one (`func file:line [inline]`, no offset), JSON with `"inline": true` after SPEC §6's
 * fields; real frames print exactly as before.
 */
import { describe, expect, it } from 'vitest';
import { backtraceLines, formatFrame } from '../../src/report/text.js';
import { jsonFrame } from '../../src/report/json.js';
import type { Frame } from '../../src/symbolize/frame.js';

const real: Frame = { function: 'make_lost', offset: 7, size: 0x99, file: 'inline.c', line: 15, funcIndex: 5 };
const inl: Frame = { function: 'item_new', offset: 7, size: 0x99, file: 'inline-lib.h', line: 9, column: 21, funcIndex: 5, inline: true };

describe('inlined frames in the reports', () => {
  it('text: func file:line [inline], then the real frame', () => {
    expect(backtraceLines([inl, real])).toBe('    item_new inline-lib.h:9 [inline]\n    make_lost+0x7/0x99 inline.c:15\n');
    expect(formatFrame({ ...inl, file: undefined, line: undefined } as unknown as Frame)).toBe('item_new [inline]');
    expect(formatFrame({ ...inl, function: null })).toBe('(inlined) inline-lib.h:9 [inline]');
  });

  it('JSON: "inline": true on inlined frames only, SPEC §6 fields unchanged', () => {
    expect(jsonFrame(inl)).toEqual({ function: 'item_new', offset: 7, size: 0x99, file: 'inline-lib.h', line: 9, column: 21, funcIndex: 5, inline: true });
    expect(Object.keys(jsonFrame(inl))).toEqual(['function', 'offset', 'size', 'file', 'line', 'column', 'funcIndex', 'inline']);
    expect('inline' in jsonFrame(real)).toBe(false);
  });
});
