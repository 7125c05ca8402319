// The command line's SPEC §7 input checks (a suppression or baseline file that cannot be read or
// parsed: one line naming the file and line, exit 2, before the program runs) and the README's
// first screen, which must print exactly what it shows (creation times aside).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, cli, ROOT, spawnCli } from '../cli/helpers.js';
import { tempDir } from '../runtime/helpers.js';

const prog = join(ROOT, 'test', 'fixtures', 'triage', 'baseline.wasm');

describe('bad triage inputs', () => {
  const dir = tempDir();
  const cases: Array<[string, string[], RegExp]> = [
    ['a suppression line of an unknown type', ['--suppressions', 'bad.supp'], /^kmemleak: suppressions: \S*bad\.supp:3: unknown suppression type 'race' .*\n$/],
    ['a missing suppressions file', ['--suppressions', 'ok.supp', '--suppressions', 'missing.supp'], /^kmemleak: suppressions: \S*missing\.supp: cannot read: no such file\n$/],
    ['a baseline that is not JSON', ['--baseline', 'bad.json'], /^kmemleak: --baseline: \S*bad\.json:4: not valid JSON .*\n$/],
    ['a baseline that is not a report', ['--baseline', 'other.json'], /^kmemleak: --baseline: \S*other\.json:1: not a kmemleak --json report: no "sites" or "leaks" list\n$/],
  ];
  beforeAll(() => {
    writeFileSync(join(dir, 'bad.supp'), '# ok\nleak:fine\nrace:x\n');
    writeFileSync(join(dir, 'ok.supp'), 'leak:fine\n');
    writeFileSync(join(dir, 'bad.json'), '{\n  "program": "p",\n  "leaks": [\n    { oops }\n  ]\n}\n');
    writeFileSync(join(dir, 'other.json'), '{ "name": "not a report" }\n');
  });
  for (const [what, flags, want] of cases) {
    it(`${what}: one line, exit 2, the program does not run`, async () => {
      const args = flags.map((f) => (/\.(supp|json)$/.test(f) ? join(dir, f) : f));
      const r = await cli(['run', ...args, prog]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(want);
      expect(r.out).toBe('');   // "baseline: done" would be the program's
    });
  }
});

describe("the README's first screen", () => {
  it('prints what the README shows', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const cmd = '$ npm ci && ./bin/kmemleak run examples/leaks.wasm\n';
    const at = readme.indexOf(cmd);
    expect(at).toBeGreaterThan(0);
    const shown = readme.slice(at + cmd.length, readme.indexOf('$ npm test', at));
    const r = spawnCli(await bundleCli(), ['run', 'examples/leaks.wasm']);
    const jiffies = (s: string): string => s.replace(/jiffies \d+/g, 'jiffies N');
    expect(jiffies(r.out + r.err)).toBe(jiffies(shown));
    expect(r.code).toBe(23);
  });
});
