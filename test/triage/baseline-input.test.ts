/**
 * A --baseline file that is not JSON at all: a binary file gives one printable line (V8's JSON
 * message used to quote its raw bytes to the terminal), a text report says that --baseline takes
 * the --json report (and which command reads text), and a line is named only when it is right
 * (a text report was "not valid JSON" at its last line).
 */
import { describe, expect, it } from 'vitest';
import { BaselineError, parseBaseline } from '../../src/triage/baseline.js';

function messageOf(text: string): string {
  try {
    parseBaseline(text, 'b.json');
  } catch (e) {
    expect(e).toBeInstanceOf(BaselineError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('a baseline that is not JSON', () => {
  it('binary data: one printable line naming the line', () => {
    const m = messageOf('\n\x7fELF\x02\x01\x01\x00\x1b[31m garbage');
    expect(m).toBe('b.json:2: binary data, not a kmemleak --json report');
  });

  it('a text report: says --baseline takes the --json report', () => {
    const m = messageOf('\nunreferenced object 0x00131520 (size 100):\n  comm "_start", pid 1, jiffies 7\n');
    expect(m).toBe('b.json:2: a text report, not JSON: --baseline takes an earlier --json report (kmemleak report --baseline reads text too)');
  });

  it('other text: not JSON, at its first line', () => {
    expect(messageOf('hello\nworld\n')).toBe('b.json:1: not JSON: --baseline takes an earlier --json report');
  });

  it('broken JSON without a position: no wrong line, no raw newline', () => {
    const m = messageOf('{\n "a": x}\n\n\n');
    expect(m).toMatch(/^b\.json: not valid JSON \(Unexpected token 'x', /);
    expect(m).not.toContain('\n');
  });

  it('broken JSON with a position keeps its line; a report still parses', () => {
    expect(messageOf('{\n  "leaks": [\n    { oops }\n  ]\n}\n')).toMatch(/^b\.json:3: not valid JSON /);
    expect(parseBaseline('{"leaks": [{"backtrace": [{"function": "f"}]}]}', 'b.json').size).toBe(1);
  });
});
