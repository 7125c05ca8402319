/**
 * The prepare cache's index (src/wasm/runtime/prepare-index.ts): a module file whose identity
 * (device, inode, size, times) is the one recorded finds its entry without being hashed; any
 * change to the file, a file changed too recently to trust its times, or an index file others
 * could write, is a miss. And the entry checksum (prepare-cache.ts) sees any one-bit change.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupIndex, readWithIdentity, recordIndex, STABLE_MS } from '../../src/wasm/runtime/prepare-index.js';
import { checksum } from '../../src/wasm/runtime/prepare-cache.js';
import fc from 'fast-check';
import { DATA, checksumKernel } from '../../src/wasm/runtime/checksum-kernel.js';

let dir = '';
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kml-index-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

const ENTRY = join('x', `${'ab'.repeat(32)}.kml`);
const SHAPE = '{"allocator":null}';

describe('the prepare index', () => {
  it('an unchanged file finds the entry recorded for it; the same path with other options or version does not', () => {
    const mod = join(dir, 'prog.wasm');
    writeFileSync(mod, 'one');
    const r = readWithIdentity(mod);
    expect(new TextDecoder().decode(r.bytes)).toBe('one');
    expect(r.identity).not.toBeNull();
    recordIndex(dir, 'V1', mod, SHAPE, r.identity, r.changedMs, ENTRY, r.changedMs + STABLE_MS);
    expect(lookupIndex(dir, 'V1', mod, SHAPE, readWithIdentity(mod).identity!)).toBe(join(dir, `${'ab'.repeat(32)}.kml`));
    expect(lookupIndex(dir, 'V1', mod, '{"allocator":{"malloc":"m"}}', r.identity!)).toBeNull();
    expect(lookupIndex(dir, 'V2', mod, SHAPE, r.identity!)).toBeNull();
  });

  it('a file rewritten with the same size, its modification time put back, is a miss (its change time moved)', async () => {
    const mod = join(dir, 'prog.wasm');
    writeFileSync(mod, 'one');
    const r = readWithIdentity(mod);
    recordIndex(dir, 'V1', mod, SHAPE, r.identity, r.changedMs, ENTRY, r.changedMs + STABLE_MS);
    await new Promise((done) => setTimeout(done, 20));   // past the file system's timestamp tick
    writeFileSync(mod, 'two');
    const t = new Date(Number(BigInt(r.identity!.split(':')[3]!) / 1_000_000n));
    utimesSync(mod, t, t);
    const again = readWithIdentity(mod);
    expect(again.identity).not.toBe(r.identity);
    expect(lookupIndex(dir, 'V1', mod, SHAPE, again.identity!)).toBeNull();
  });

  it('a file changed less than STABLE_MS before is not recorded (a write in the same clock tick could keep its times)', () => {
    const mod = join(dir, 'prog.wasm');
    writeFileSync(mod, 'one');
    const r = readWithIdentity(mod);
    recordIndex(dir, 'V1', mod, SHAPE, r.identity, r.changedMs, ENTRY, r.changedMs + STABLE_MS - 1);
    expect(readdirSync(dir).filter((f) => f.endsWith('.idx'))).toEqual([]);
    expect(lookupIndex(dir, 'V1', mod, SHAPE, r.identity!)).toBeNull();
  });

  it('an index file others could write is a miss (it names code we would run)', () => {
    const mod = join(dir, 'prog.wasm');
    writeFileSync(mod, 'one');
    const r = readWithIdentity(mod);
    recordIndex(dir, 'V1', mod, SHAPE, r.identity, r.changedMs, ENTRY, r.changedMs + STABLE_MS);
    const [idx] = readdirSync(dir).filter((f) => f.endsWith('.idx'));
    chmodSync(join(dir, idx!), 0o666);
    expect(lookupIndex(dir, 'V1', mod, SHAPE, r.identity!)).toBeNull();
  });

  it('a damaged index file, or one naming something that is not an entry, is a miss', () => {
    const mod = join(dir, 'prog.wasm');
    writeFileSync(mod, 'one');
    const r = readWithIdentity(mod);
    recordIndex(dir, 'V1', mod, SHAPE, r.identity, r.changedMs, ENTRY, r.changedMs + STABLE_MS);
    const [idx] = readdirSync(dir).filter((f) => f.endsWith('.idx'));
    writeFileSync(join(dir, idx!), '{"version":', { mode: 0o600 });
    expect(lookupIndex(dir, 'V1', mod, SHAPE, r.identity!)).toBeNull();
    writeFileSync(join(dir, idx!), JSON.stringify({ version: 'V1', path: mod, shape: SHAPE, identity: r.identity, entry: '../../etc/passwd' }), { mode: 0o600 });
    expect(lookupIndex(dir, 'V1', mod, SHAPE, r.identity!)).toBeNull();
  });
});

describe('the entry checksum', () => {
  it('changes with any one bit of the bytes after `from`, and only those', () => {
    const bytes = new Uint8Array(1003);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37) & 0xff;
    const sum = (b: Uint8Array) => Array.from(checksum(b, 5)).join(',');
    const base = sum(bytes);
    const seen = new Set([base]);
    for (let i = 5; i < bytes.length; i += 7) {
      for (const bit of [0, 7]) {
        const b = bytes.slice();
        b[i]! ^= 1 << bit;
        seen.add(sum(b));
      }
    }
    expect(seen.size).toBe(1 + 2 * Math.ceil((bytes.length - 5) / 7));
    const head = bytes.slice();
    head[4]! ^= 1;
    expect(sum(head)).toBe(base);
    expect(sum(bytes.subarray(0, 1002))).not.toBe(base);
  });
});

describe('the entry checksum in WebAssembly (checksum-kernel.ts)', () => {
  it('is the JavaScript checksum, bit for bit, at every length and start', () => {
    const kernel = checksumKernel(300);
    expect(kernel, 'the checksum kernel did not instantiate').not.toBeNull();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(20), (bytes, cut) => {
      const from = Math.min(cut, bytes.length);
      const mem = new Uint8Array(kernel!.memory.buffer);
      mem.set(bytes, DATA);
      kernel!.sum(DATA + from, DATA + bytes.length);
      expect(Array.from(mem.subarray(0, 8))).toEqual(Array.from(checksum(bytes, from)));
    }), { numRuns: 300 });
  });
});

