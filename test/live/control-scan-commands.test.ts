/**
 * `kmemleak run` reads the scan commands exactly as the engine matches them (kmemleak's strncmp
 * prefixes, kstrtoul numbers): `scan=onion` is `scan=on` and must not leave the automatic-scan
 * clock with a NaN period (every later sleep of the program then waited forever), and `scan scan`
 * is a scan that answers what it found (it used to scan silently).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli } from '../cli/helpers.js';
import { startWaits, timed } from './helpers.js';
import { scanCommandOf } from '../../src/wasm/runtime/scan-command.js';

let entry = '';
beforeAll(async () => { entry = await bundleCli(); });

describe('scan commands read as the engine reads them', () => {
  it('matches prefixes and kernel numbers', () => {
    expect(scanCommandOf('scan')).toEqual({ kind: 'scan' });
    expect(scanCommandOf('scan\n')).toEqual({ kind: 'scan' });
    expect(scanCommandOf('scan scan')).toEqual({ kind: 'scan' });
    expect(scanCommandOf('scan=onion')).toEqual({ kind: 'on' });
    expect(scanCommandOf('scan=offx')).toEqual({ kind: 'off' });
    expect(scanCommandOf('scan=010')).toEqual({ kind: 'period', ms: 8000 });   // octal, as kstrtoul
    expect(scanCommandOf('scan=0x10\n')).toEqual({ kind: 'period', ms: 16000 });
    expect(scanCommandOf('scan=abc')).toBeNull();
    expect(scanCommandOf(' scan')).toBeNull();
    expect(scanCommandOf('clear')).toBeNull();
  });

  it('scan=onion keeps the program\'s sleeps; scan scan answers', async () => {
    const r = await startWaits(entry, ['--min-age', '0', '--scan=off'], ['sleep', '3', '400']);
    try {
      await r.stdoutHas('slept', 10_000);
      const on = await timed(r.sock, 'scan=onion');
      expect(on.answer.ok, on.answer.text).toBe(true);
      const s = await timed(r.sock, 'scan scan');
      expect(s.answer.text).toMatch(/^kmemleak: (no new suspected memory leaks\n|[1-9]\d* new suspected memory leaks )/);
      const code = await Promise.race([r.exited, new Promise((res) => setTimeout(() => res('hung'), 15_000))]);
      expect(code).toBe(23);
      expect(r.out().trim().split('\n')).toHaveLength(3);
    } finally {
      r.child.kill();
    }
  }, 30_000);
});
