/**
 * The command line's own behaviour, in-process: help, version, usage errors (one line + hint,
 * exit 2), bad input (one line, exit 1, no stack trace), and pass-through of program arguments.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli, fixture } from './helpers.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function oneLineError(err: string, hint = true): void {
  const lines = err.trimEnd().split('\n');
  expect(lines.length).toBe(hint ? 2 : 1);
  expect(lines[0]).toMatch(/^kmemleak: /);
  expect(err).not.toMatch(/\n\s+at /);          // no JS stack trace
  if (hint) expect(lines[1]).toMatch(/^Try 'kmemleak( run)? --help' for usage\.$/);
}

describe('kmemleak command line', () => {
  it('--help and run --help print usage on stdout, exit 0', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/Usage: kmemleak/);
    expect(top.out).toMatch(/run \[options\] <module\.wasm> \[args\.\.\.\]/);
    const run = await cli(['run', '--help']);
    expect(run.code).toBe(0);
    for (const opt of ['--json', '--report', '--stack', '--min-age', '--scan', '--first-scan', '--exitcode', '--control', '--off', '--dir', '--env', '--allocator', '--early-pool', '--source-map']) {
      expect(run.out).toContain(opt);
    }
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r).toMatchObject({ code: 0, out: version + '\n' });
  });

  it('no arguments: usage on stderr, exit 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Usage: kmemleak/);
  });

  it('an unknown option: one line and a hint, exit 2', async () => {
    const r = await cli(['run', '--bogus', 'x.wasm']);
    expect(r.code).toBe(2);
    oneLineError(r.err);
    expect(r.err).toMatch(/unknown option '--bogus'/);
  });

  it('a missing module: one line and a hint, exit 2', async () => {
    const r = await cli(['run']);
    expect(r.code).toBe(2);
    oneLineError(r.err);
    expect(r.err).toMatch(/missing required argument 'module\.wasm'/);
  });

  it('an unknown command: exit 2', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    oneLineError(r.err);
  });

  it('a bad option value: exit 2', async () => {
    const r = await cli(['run', '--stack=sideways', fixture('tool.wasm')]);
    expect(r.code).toBe(2);
    oneLineError(r.err);
    expect(r.err).toMatch(/^kmemleak: --stack: expected on or off, got 'sideways'/);
  });

  it('run --control serves the control file while the program runs; ctl scans and reads it', async () => {
    // A real process: the program leaks three blocks, then allocates and frees for minutes (its
    // hooks reach a safe point every batch of events, where the control file is answered) until
    // the test kills it.
    const dir = mkdtempSync(join(tmpdir(), 'kml-ctl-'));
    const sock = join(dir, 'control');
    const bin = fileURLToPath(new URL('../../bin/kmemleak', import.meta.url));
    const child = spawn(bin, ['run', '--control', sock, '--report', '/dev/null', '--min-age', '0', fixture('tool.wasm'), 'leak', '3', 'churn', '2000000000'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let running = true;
    void exited.then(() => { running = false; });
    try {
      for (let i = 0; i < 200 && running && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
      expect(running, 'the program ended before its control file could be used').toBe(true);
      const ctl = (args: string[]) => spawnSync(bin, ['ctl', sock, ...args], { encoding: 'utf8', timeout: 20_000 });
      // Two scans, as with kmemleak: the first sees the new blocks' contents change (grey for it).
      for (let i = 0; i < 2; i++) {
        const scan = ctl(['scan']);
        expect(scan.status, scan.stderr).toBe(0);
      }
      const read = ctl([]);
      expect(read.status, read.stderr).toBe(0);
      expect(read.stdout.match(/^unreferenced object 0x[0-9a-f]{8} \(size 10\):/gm)).toHaveLength(3);
      const bad = ctl(['frobnicate']);
      expect(bad.status).toBe(1);
      expect(bad.stderr + bad.stdout).toMatch(/Invalid argument/);
      expect(running, 'the program kept running while it was controlled').toBe(true);
    } finally {
      child.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ctl is registered beside run (its behaviour is tested with the control file)', async () => {
    const r = await cli(['ctl', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: kmemleak ctl/);
  });

  for (const [name, message] of [
    ['missing.wasm', /^kmemleak: cannot read .*missing\.wasm: no such file$/],
    ['notwasm.wasm', /^kmemleak: .*notwasm\.wasm is not a WebAssembly file \(it does not start with \\0asm\)$/],
    ['reactor.wasm', /^kmemleak: .*reactor\.wasm is not a WASI command: it exports no _start function/],
    ['nowasi.wasm', /^kmemleak: .*nowasi\.wasm is not a WASI preview1 command: it imports nothing from wasi_snapshot_preview1$/],
    ['unknown_import.wasm', /^kmemleak: .*unknown_import\.wasm imports env\.mystery, which kmemleak run cannot provide$/],
  ] as const) {
    it(`bad input ${name}: one line, exit 1`, async () => {
      const r = await cli(['run', fixture(name)]);
      expect(r.code).toBe(1);
      oneLineError(r.err, false);
      expect(r.err.trimEnd()).toMatch(message);
      expect(r.out).toBe('');
    });
  }
});
