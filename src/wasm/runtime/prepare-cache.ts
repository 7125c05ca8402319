/**
 * Why: instrumenting a module and reading its layout cost tens of milliseconds per run (parsing,
 * the call graph, DWARF), which a short program pays on every run. Repeated runs of one binary
 * (test suites, benchmarks, a developer's edit-run loop) reuse the result from a cache on disk,
 * keyed by the SHA-256 of the binary, the options that shape the rewrite, and this file's format
 * version (prepare-index.ts finds the entry of an unchanged file without hashing it). An entry
 * carries a checksum of its contents (not SHA-256: a hit then needs no node:crypto, ~8 ms of a
 * start), against a damaged file; trust comes from who owns the file (below). `KMEMLEAK_CACHE=off` turns it off; `KMEMLEAK_CACHE_DIR` moves it (default
 * $XDG_CACHE_HOME/kmemleak or ~/.cache/kmemleak); its size is bounded (cache-dir.ts).
 *
 * Invariants: a cache entry is untrusted input: anything unreadable or inconsistent is a miss,
 * never an error, and a failure to write is silent (a rewritten module that does not compile is
 * found when run.ts compiles it: a miss there, not validated here, where it cost a start ~3 ms). An entry is code we run: one that another
 * user owns or could have written (group- or world-writable), e.g. in a shared
 * KMEMLEAK_CACHE_DIR, is a miss too. Entries are written to a temporary file and
 * renamed, so a reader never sees half an entry.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheDir, cacheMaxBytes, makeCacheDir, pruneCache, touchCacheFile } from './cache-dir.js';
import { fromParts, toParts, type Instrumented, type InstrumentedMeta } from '../instrument/index.js';
import type { Layout } from '../layout/index.js';
import { DATA, checksumKernel } from './checksum-kernel.js';

/**
 * The entry format AND the rewriter's output version: the key does not cover our own code, so a
 * change to what instrument() or staticLayout() produce must bump this, or runs would be served
 * rewrites from the old code. test/runtime/prepare-cache-version.test.ts fails until it is bumped.
 */
export const CACHE_VERSION = 'KMLC18';
const MAGIC = CACHE_VERSION + '\n';
const DIGEST = 8;   // checksum() of everything after it: a flipped bit anywhere is a miss

/**
 * 64 bits (two multiplicative lanes over little-endian words, then the tail bytes and the
 * length) of bytes[from..): any one-bit change changes it; for damage, not for an adversary.
 */
export function checksum(bytes: Uint8Array, from: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let a = 0x811c9dc5, b = 0x2545f491;
  let i = from;
  for (const end = bytes.length - 3; i < end; i += 4) {
    const w = view.getUint32(i, true);
    a = Math.imul(a ^ w, 0x01000193);
    b = Math.imul((b + w) | 0, 0x9e3779b1) ^ (b >>> 15);
  }
  for (; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193);
    b = Math.imul((b + bytes[i]!) | 0, 0x9e3779b1) ^ (b >>> 15);
  }
  a = Math.imul(a ^ (bytes.length - from), 0x01000193);
  const out = new Uint8Array(DIGEST);
  const o = new DataView(out.buffer);
  o.setUint32(0, (a ^ (a >>> 16)) >>> 0, true);
  o.setUint32(4, (b ^ (b >>> 13)) >>> 0, true);
  return out;
}

export interface CachedPrepare {
  instrumented: Instrumented;
  layout: Layout;
}

/** The entry's file for this binary and these options (null: caching is off). */
export function cacheFile(original: Uint8Array, shape: unknown): string | null {
  const dir = cacheDir();
  if (!dir) return null;
  const h = createHash('sha256');
  h.update(MAGIC);
  h.update(JSON.stringify(shape ?? null));
  h.update(original);
  return join(dir, h.digest('hex') + '.kml');
}

/** The file's size when it is ours alone: owned by this user and writable by nobody else (POSIX); else -1. */
function ownSize(file: string): number {
  const st = statSync(file);
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  return (uid < 0 || st.uid === uid) && (st.mode & 0o022) === 0 ? st.size : -1;
}

/**
 * The entry's bytes when its checksum holds, else null. Read into the checksum kernel's memory
 * and summed there (checksum-kernel.ts: the JavaScript loop runs once per start, interpreted);
 * in JavaScript where WebAssembly cannot be compiled.
 */
function readChecked(file: string, size: number): Uint8Array | null {
  const from = MAGIC.length + DIGEST;
  if (size < from) return null;
  const kernel = checksumKernel(size);
  if (!kernel) {
    const buf = readFileSync(file);
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const digest = checksum(bytes, from);
    for (let i = 0; i < DIGEST; i++) if (digest[i] !== bytes[MAGIC.length + i]) return null;
    return bytes;
  }
  const mem = new Uint8Array(kernel.memory.buffer);
  const fd = openSync(file, 'r');
  try {
    let got = 0;
    while (got < size) {
      const n = readSync(fd, mem, DATA + got, size - got, got);
      if (n <= 0) return null;   // shorter than its stat said: changed under us
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  kernel.sum(DATA + from, DATA + size);
  for (let i = 0; i < DIGEST; i++) if (mem[i] !== mem[DATA + MAGIC.length + i]) return null;
  return mem.subarray(DATA, DATA + size);
}

export function readCached(file: string | null): CachedPrepare | null {
  if (!file) return null;
  try {
    const size = ownSize(file);
    if (size < 0) return null;
    const bytes = readChecked(file, size);
    if (!bytes || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) return null;
    let at = MAGIC.length + DIGEST;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const chunk = (): Uint8Array => {
      const n = view.getUint32(at, true);
      at += 4;
      if (at + n > bytes.length) throw new Error('truncated');
      const c = bytes.slice(at, at + n);   // a copy: aligned, and independent of the file buffer
      at += n;
      return c;
    };
    const head = JSON.parse(new TextDecoder().decode(chunk())) as { meta: InstrumentedMeta; layout: Layout; map: { start: number; end: number } };
    const binary = chunk();
    const newStart = chunk(), origStart = chunk(), fixed = chunk();
    if (newStart.length % 4 || origStart.length % 4 || at !== bytes.length) return null;
    const instrumented = fromParts({
      meta: head.meta,
      binary,
      map: { newStart: new Uint32Array(newStart.buffer), origStart: new Uint32Array(origStart.buffer), fixed, start: head.map.start, end: head.map.end },
    });
    touchCacheFile(file);
    return { instrumented, layout: head.layout };
  } catch {
    return null;
  }
}

export function writeCached(file: string | null, entry: CachedPrepare): void {
  if (!file) return;
  try {
    const parts = toParts(entry.instrumented);
    const head = new TextEncoder().encode(JSON.stringify({ meta: parts.meta, layout: entry.layout, map: { start: parts.map.start, end: parts.map.end } }));
    const blobs = [head, parts.binary,
      new Uint8Array(parts.map.newStart.buffer, parts.map.newStart.byteOffset, parts.map.newStart.byteLength),
      new Uint8Array(parts.map.origStart.buffer, parts.map.origStart.byteOffset, parts.map.origStart.byteLength),
      parts.map.fixed];
    const magic = new TextEncoder().encode(MAGIC);
    const total = magic.length + DIGEST + blobs.reduce((n, b) => n + 4 + b.length, 0);
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    out.set(magic, 0);
    let at = magic.length + DIGEST;
    for (const b of blobs) {
      view.setUint32(at, b.length, true);
      out.set(b, at + 4);
      at += 4 + b.length;
    }
    out.set(checksum(out, magic.length + DIGEST), magic.length);
    const dir = dirname(file);
    if (!makeCacheDir(dir)) return;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, out, { mode: 0o600 });
    renameSync(tmp, file);
    pruneCache(dir, cacheMaxBytes(), file);
  } catch {
    /* a cache that cannot be written is only slower */
  }
}
