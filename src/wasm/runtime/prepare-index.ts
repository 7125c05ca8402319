/**
 * Why: the prepare cache (prepare-cache.ts) keys an entry by the SHA-256 of the binary, and
 * hashing needs node:crypto, whose loading (with the streams it pulls in) cost every run ~8 ms of
 * CPU, for a binary that has not changed since the last run. This index remembers, per module
 * path and rewrite options, which entry the file had when it was last hashed, by the file's
 * identity (device, inode, size, modification and change times in ns): a run whose file has the
 * same identity goes to the entry without hashing. As make (and git's index) trust a file's
 * times, with git's guard against a write in the same clock tick: an identity is recorded only
 * once the file has not changed for STABLE_MS, so a later write gets a later change time, which no
 * process can set back (utimes sets the modification time, never the change time).
 *
 * Invariants: like an entry, an index file is untrusted input and code we would run (it names
 * the entry): anything unreadable, inconsistent, owned by another user or writable by group or
 * others is a miss, never an error; a write failure is silent; files are written to a temporary
 * name and renamed. A miss only costs the hash.
 */
import { readFileSync, renameSync, statSync, writeFileSync, type BigIntStats } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { makeCacheDir } from './cache-dir.js';

/** A file unchanged for this long (ms, by its change time) may be recorded. */
export const STABLE_MS = 2000;

/** What identifies a file's contents without reading them: equal identities, equal bytes. */
export type FileIdentity = string;

function identityOf(st: BigIntStats): FileIdentity {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/**
 * Reads the file, with its identity when the file did not change while it was read (stat before
 * and after agree); null identity otherwise. Throws what readFileSync throws.
 */
export function readWithIdentity(path: string): { bytes: Uint8Array; identity: FileIdentity | null; changedMs: number } {
  let before: BigIntStats | null = null;
  try { before = statSync(path, { bigint: true }); } catch { /* readFileSync says why */ }
  const bytes = new Uint8Array(readFileSync(path));
  let identity: FileIdentity | null = null;
  let changedMs = Infinity;
  try {
    const after = statSync(path, { bigint: true });
    if (before && after.isFile() && identityOf(before) === identityOf(after) && after.size === BigInt(bytes.length)) {
      identity = identityOf(after);
      changedMs = Number(after.ctimeNs / 1_000_000n);
    }
  } catch { /* no identity: the cache hashes */ }
  return { bytes, identity, changedMs };
}

/** FNV-1a, 64 bits, of a string's UTF-16 units, as 16 hex digits: the index file's name. */
function fnv64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) h = ((h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

interface IndexRecord { version: string; path: string; shape: string; identity: string; entry: string }

function indexFile(dir: string, version: string, path: string, shape: string): { file: string; want: Omit<IndexRecord, 'identity' | 'entry'> } {
  const abs = resolve(path);
  return { file: join(dir, `${fnv64(`${version}\0${abs}\0${shape}`)}.idx`), want: { version, path: abs, shape } };
}

/** The file is ours alone: owned by this user and writable by nobody else (POSIX; else true). */
function ownedByUs(file: string): boolean {
  const st = statSync(file);
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  return (uid < 0 || st.uid === uid) && (st.mode & 0o022) === 0;
}

const ENTRY_NAME = /^[0-9a-f]{64}\.kml$/;

/** The entry file the index names for this file identity, or null. */
export function lookupIndex(dir: string, version: string, path: string, shape: string, identity: FileIdentity): string | null {
  const { file, want } = indexFile(dir, version, path, shape);
  try {
    if (!ownedByUs(file)) return null;
    const r = JSON.parse(readFileSync(file, 'utf8')) as Partial<IndexRecord>;
    if (r.version !== want.version || r.path !== want.path || r.shape !== want.shape || r.identity !== identity) return null;
    return typeof r.entry === 'string' && ENTRY_NAME.test(r.entry) ? join(dir, r.entry) : null;
  } catch {
    return null;
  }
}

/** Records that the file of this identity has the entry `entryFile`, if it is old enough to trust. */
export function recordIndex(dir: string, version: string, path: string, shape: string, identity: FileIdentity | null,
  changedMs: number, entryFile: string, now = Date.now()): void {
  if (identity === null || !(changedMs <= now - STABLE_MS)) return;
  const entry = basename(entryFile);
  if (!ENTRY_NAME.test(entry)) return;
  const { file, want } = indexFile(dir, version, path, shape);
  try {
    if (!makeCacheDir(dir)) return;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ ...want, identity, entry } satisfies IndexRecord), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    /* only slower */
  }
}
