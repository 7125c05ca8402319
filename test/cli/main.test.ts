/**
 * The command line's own behaviour, in-process: help, version, usage errors (one line + hint,
 * exit 2), bad input (one line, exit 1, no stack trace), and pass-through of program arguments.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
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

  it('--control is a seam: refused with a clear line until the control file is served', async () => {
    const r = await cli(['run', '--control', '/tmp/kml.sock', fixture('tool.wasm')]);
    expect(r.code).toBe(2);
    oneLineError(r.err);
    expect(r.err).toMatch(/--control: not yet supported/);
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
