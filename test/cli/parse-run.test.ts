import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllocator, parseDir, parseEnv, toRunOptions, type RawRunOptions } from '../../src/cli/parse-run.js';
import { InputError } from '../../src/wasm/runtime/errors.js';

const raw = (o: Partial<RawRunOptions> = {}): RawRunOptions => ({ dir: [], env: [], ...o });

function usageError(f: () => unknown): string {
  try { f(); } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).exitCode).toBe(2);
    expect((e as Error).message).not.toMatch(/\n/);
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('toRunOptions', () => {
  it('applies SPEC §4 defaults', () => {
    const o = toRunOptions('m.wasm', ['a'], raw(), {});
    expect(o).toMatchObject({ module: 'm.wasm', args: ['a'], stack: true, minAgeMs: 5000, scanPeriodMs: 600_000, firstScanMs: 60_000, exitcode: 23, off: false, env: {}, preopens: {} });
    expect(o.json).toBeUndefined();
  });

  it('converts each option', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kml-cli-'));
    const map = join(dir, 'm.map');
    writeFileSync(map, '{}');
    const o = toRunOptions('m.wasm', [], raw({
      json: 'j.json', report: 'r.txt', stack: 'off', minAge: '0', scan: '2.5', firstScan: '1', exitcode: '0',
      control: '/tmp/s', dir: [dir, `${dir}:/data`], env: ['A=1', 'B=x=y', 'C='], allocator: 'malloc=my_malloc,free=7',
      earlyPool: '100', sourceMap: map,
    }), {});
    expect(o).toMatchObject({
      json: 'j.json', report: 'r.txt', stack: false, minAgeMs: 0, scanPeriodMs: 2500, firstScanMs: 1000, exitcode: 0,
      control: '/tmp/s', preopens: { [dir]: dir, '/data': dir }, env: { A: '1', B: 'x=y', C: '' },
      allocator: { malloc: 'my_malloc', free: 7 }, earlyPool: 100, sourceMap: map,
    });
  });

  it('--scan off and 0 stop automatic scanning', () => {
    expect(toRunOptions('m', [], raw({ scan: 'off' }), {}).scanPeriodMs).toBeNull();
    expect(toRunOptions('m', [], raw({ scan: '0' }), {}).scanPeriodMs).toBeNull();
  });

  it('--off and KMEMLEAK=off', () => {
    expect(toRunOptions('m', [], raw({ off: true }), {}).off).toBe(true);
    expect(toRunOptions('m', [], raw(), { KMEMLEAK: 'off' }).off).toBe(true);
    expect(toRunOptions('m', [], raw(), { KMEMLEAK: 'on' }).off).toBe(false);
  });

  it('bad values are one-line usage errors naming the option', () => {
    expect(usageError(() => toRunOptions('m', [], raw({ stack: 'maybe' }), {}))).toBe("--stack: expected on or off, got 'maybe'");
    expect(usageError(() => toRunOptions('m', [], raw({ minAge: '-1' }), {}))).toMatch(/^--min-age:/);
    expect(usageError(() => toRunOptions('m', [], raw({ exitcode: '256' }), {}))).toBe('--exitcode: 256 is out of range (0..255)');
    expect(usageError(() => toRunOptions('m', [], raw({ scan: 'soon' }), {}))).toMatch(/^--scan:/);
    expect(usageError(() => toRunOptions('m', [], raw({ firstScan: 'x' }), {}))).toMatch(/^--first-scan:/);
    expect(usageError(() => toRunOptions('m', [], raw({ earlyPool: '0' }), {}))).toMatch(/^--early-pool:/);
    expect(usageError(() => toRunOptions('m', [], raw({ sourceMap: '/nonexistent/x.map' }), {}))).toMatch(/^--source-map:/);
    expect(usageError(() => parseDir('/nonexistent-dir-kml'))).toBe("--dir: '/nonexistent-dir-kml' is not a directory");
    expect(usageError(() => parseEnv('NOVALUE'))).toBe("--env: expected NAME=VALUE, got 'NOVALUE'");
    expect(usageError(() => parseAllocator('malloc'))).toMatch(/^--allocator:/);
  });
});
