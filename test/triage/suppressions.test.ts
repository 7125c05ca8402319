// LeakSanitizer's suppression syntax and matching (SPEC §7), src/triage/suppressions.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  matchSuppression,
  parseSuppressions,
  SuppressionError,
  templateMatch,
} from '../../src/triage/suppressions.js';
import { readSuppressionFile } from '../../src/triage/inputs.js';

describe('parseSuppressions', () => {
  test('leak: lines, # comments, blank lines, blanks around a line; line numbers kept', () => {
    const list = parseSuppressions('# header\n\n  leak:foo  \r\n\tleak:*bar*\nleak: ^baz$\n', 'f.supp');
    expect(list).toEqual([
      { pattern: 'foo', source: 'f.supp', line: 3 },
      { pattern: '*bar*', source: 'f.supp', line: 4 },
      { pattern: '^baz$', source: 'f.supp', line: 5 },
    ]);
  });

  test('an unknown type, a line with no colon and an empty pattern name the source and line', () => {
    expect(() => parseSuppressions('leak:a\nrace:b\n', 'x.supp')).toThrow(/^x\.supp:2: unknown suppression type 'race'/);
    expect(() => parseSuppressions('\n\nfoo\n', 'x.supp')).toThrow(/^x\.supp:3: expected leak:PATTERN, got 'foo'$/);
    expect(() => parseSuppressions('leak:   \n', 'x.supp')).toThrow(/^x\.supp:1: empty pattern/);
    try {
      parseSuppressions('bad', 's');
    } catch (e) {
      expect(e).toBeInstanceOf(SuppressionError);
      expect((e as SuppressionError).line).toBe(1);
    }
  });

  test('readSuppressionFile: a missing file is one line naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kml-supp-'));
    expect(() => readSuppressionFile(join(dir, 'nope'))).toThrow(`${join(dir, 'nope')}: cannot read: no such file`);
    expect(() => readSuppressionFile(dir)).toThrow(/cannot read: is a directory$/);
    writeFileSync(join(dir, 'ok'), 'leak:x\n');
    expect(readSuppressionFile(join(dir, 'ok'))).toEqual([{ pattern: 'x', source: join(dir, 'ok'), line: 1 }]);
  });
});

describe('templateMatch (LSan templates)', () => {
  test.each([
    ['foo', 'foo', true],
    ['foo', 'xfooy', true],          // unanchored: a substring
    ['^foo', 'xfoo', false],
    ['^foo', 'foobar', true],
    ['foo$', 'foobar', false],
    ['foo$', 'barfoo', true],
    ['^foo$', 'foo', true],
    ['^foo$', 'foo2', false],
    ['*Leak*Func*', 'LSanTestLeakingFunc', true],
    ['a*c', 'abbbc', true],
    ['a*c', 'ca', false],
    ['^a*c$', 'abc', true],
    ['^a*c$', 'abcd', false],
    ['a.b', 'axb', false],           // '.' is literal
    ['std::vector<int>', 'std::vector<int>::push_back', true],
    ['x', '', false],                // an empty name never matches
  ])('%s on %s -> %s', (t, name, want) => {
    expect(templateMatch(t, name)).toBe(want);
  });
});

describe('matchSuppression', () => {
  const list = parseSuppressions('leak:first_*\nleak:util.c\nleak:prog.wasm\n', 's');
  test('function names, then file names, frame by frame; the module name first', () => {
    expect(matchSuppression(list, [{ function: 'main', file: 'main.c' }], null)).toBe(-1);
    expect(matchSuppression(list, [{ function: 'first_alloc', file: 'a.c' }], null)).toBe(0);
    expect(matchSuppression(list, [{ function: 'helper', file: '/src/util.c' }, { function: 'first_x' }], null)).toBe(1);
    expect(matchSuppression(list, [{ function: 'main', file: 'main.c' }], 'prog.wasm')).toBe(2);
    expect(matchSuppression(list, [{ function: null }], 'other.wasm')).toBe(-1);
    expect(matchSuppression([], [{ function: 'first_alloc' }], 'prog.wasm')).toBe(-1);
  });
});
