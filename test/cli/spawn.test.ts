/**
 * The command line as a process: exit statuses as the shell sees them, stdin/stdout of the
 * program passing through the real file descriptors, KMEMLEAK=off from the environment, and no
 * JS stack trace or Node warning on stderr.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleCli, fixture, spawnCli } from './helpers.js';

let entry = '';
beforeAll(async () => { entry = await bundleCli(); });

const clean = (err: string): void => {
  expect(err).not.toMatch(/ExperimentalWarning|WASI is an experimental/);
  expect(err).not.toMatch(/^\s+at .*(\.m?js|node:)/m);
};

describe('kmemleak run (process)', () => {
  it('a leak: the report on stderr, exit 23; the program\'s stdout untouched', () => {
    const r = spawnCli(entry, ['run', fixture('tool.wasm'), 'leak', '1', 'args', 'x']);
    expect(r.code).toBe(23);
    expect(r.out).toBe(`[${fixture('tool.wasm')}]\n[leak]\n[1]\n[args]\n[x]\n`);
    expect(r.err).toMatch(/^kmemleak: 1 new suspected memory leaks \(see below\)\nunreferenced object 0x[0-9a-f]{8} \(size 10\):\n/);
    clean(r.err);
  });

  it('stdin to the program and its stdout back, byte for byte', () => {
    const input = 'alpha\nbeta \u00e9\n';
    const r = spawnCli(entry, ['run', fixture('tool.wasm'), 'cat'], { input });
    expect(r).toMatchObject({ code: 0, out: input, err: '' });
  });

  it('options after the module are the program\'s, even kmemleak\'s own names', () => {
    const r = spawnCli(entry, ['run', '--stack=on', fixture('tool.wasm'), 'args', '--json', 'x', '--off', '--', '-h']);
    expect(r.out).toBe(`[${fixture('tool.wasm')}]\n[args]\n[--json]\n[x]\n[--off]\n[--]\n[-h]\n`);
    expect(r.code).toBe(0);
  });

  it('the program\'s own exit status', () => {
    expect(spawnCli(entry, ['run', fixture('tool.wasm'), 'return', '5']).code).toBe(5);
    expect(spawnCli(entry, ['run', fixture('tool.wasm'), 'exit', '6']).code).toBe(6);
    expect(spawnCli(entry, ['run', '--exitcode', '0', fixture('tool.wasm'), 'leak', '1', 'exit', '6']).code).toBe(6);
  });

  it('--control on a path that cannot be served: one line, exit 1, the program not run', () => {
    const r = spawnCli(entry, ['run', '--control', '/nonexistent-kml-dir/x.sock', fixture('tool.wasm'), 'leak', '1']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe('kmemleak: control file /nonexistent-kml-dir/x.sock: cannot listen (its directory does not exist)\n');
  });

  it('Ctrl-C ends a program served with --control at once, while its wasm holds the thread', async () => {
    const sock = join(mkdtempSync(join(tmpdir(), 'kml-sig-')), 'c.sock');
    // ~10^9 malloc/free pairs: minutes of work if the signal waited for the program.
    const child = spawn(process.execPath, [entry, 'run', '--control', sock, fixture('tool.wasm'), 'churn', '1000000000'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(sock)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      child.kill('SIGINT');
      const late = new Promise<'late'>((r) => setTimeout(() => r('late'), 10_000));
      expect(await Promise.race([exited, late])).toBe('SIGINT');
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      child.kill('SIGKILL');   // never leave minutes of churn behind a failed check
    }
  });

  it('KMEMLEAK=off runs without the detector', () => {
    const r = spawnCli(entry, ['run', fixture('tool.wasm'), 'leak', '1'], { env: { ...process.env, KMEMLEAK: 'off' } });
    expect(r).toMatchObject({ code: 0, err: '' });
  });

  it('a trap: the error symbolized, exit 134, no JS stack', () => {
    const r = spawnCli(entry, ['run', fixture('tool.wasm'), 'trap']);
    expect(r.code).toBe(134);
    expect(r.err).toMatch(/^RuntimeError: unreachable\n    at trap_here\+/);
    clean(r.err);
  });

  it('--json and --report write their files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kml-cli-'));
    const r = spawnCli(entry, ['run', '--json', join(dir, 'r.json'), '--report', join(dir, 'r.txt'), fixture('tool.wasm'), 'leak', '1']);
    expect(r.code).toBe(23);
    expect(r.err).toBe(`kmemleak: 1 new suspected memory leaks (see ${join(dir, 'r.txt')})\n`);
    expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'))).toMatchObject({ program: 'tool.wasm', summary: { leaks: 1, bytes: 10 } });
    expect(readFileSync(join(dir, 'r.txt'), 'utf8')).toMatch(/^unreferenced object/);
  });

  it('bad input: one line, exit 1, and no report file left behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kml-cli-'));
    const r = spawnCli(entry, ['run', '--json', join(dir, 'r.json'), fixture('notwasm.wasm')]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`kmemleak: ${fixture('notwasm.wasm')} is not a WebAssembly file (it does not start with \\0asm)\n`);
    expect(existsSync(join(dir, 'r.json'))).toBe(false);
  });

  it('a program that never calls malloc runs as without the detector; one line at the end says nothing was tracked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kml-cli-'));
    const r = spawnCli(entry, ['run', '--json', join(dir, 'r.json'), fixture('nomalloc.wasm')]);
    const plain = spawnCli(entry, ['run', '--off', fixture('nomalloc.wasm')]);
    expect(plain).toMatchObject({ code: 3, out: 'nomalloc 1.0\n', err: 'nomalloc: to stderr\n' });
    expect(r.code).toBe(3);
    expect(r.out).toBe(plain.out);
    const lines = r.err.split('\n');
    expect(lines[0]).toBe('nomalloc: to stderr');
    expect(lines[1]).toMatch(/^kmemleak: nothing was tracked: .*nomalloc\.wasm: no allocator found: looked for malloc, .*; name them with --allocator malloc=NAME,free=NAME/);
    expect(lines.slice(2)).toEqual(['']);
    // the report file says there is nothing to report (a stale one never survives)
    expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'))).toMatchObject({ leaks: [], summary: { leaks: 0 } });
    clean(r.err);
  });

  it('a bad --allocator name is still an error: exit 1, the program does not run', () => {
    const r = spawnCli(entry, ['run', '--allocator', 'malloc=nope,free=nope', fixture('nomalloc.wasm')]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^kmemleak: .*nomalloc\.wasm: --allocator malloc=nope: no function named 'nope'/);
  });

  it('a usage error: exit 2', () => {
    const r = spawnCli(entry, ['run', '--min-age', 'soon', fixture('tool.wasm')]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("kmemleak: --min-age: expected a whole number, got 'soon'\nTry 'kmemleak run --help' for usage.\n");
  });
});
