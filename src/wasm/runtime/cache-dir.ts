/**
 * Why: the on-disk cache's directory and its size. Two things a plain `mkdirSync(recursive)` and
 * an unbounded directory get wrong (issue 12):
 * - Node's recursive mkdir loops forever at 100% CPU where mkdir(2) answers ENOENT although the
 *   parent exists (/proc/anything): the directory is made one level at a time here, each level
 *   tried once, so any failure is just "no cache".
 * - Every binary (and every option set, every kmemleak build's code cache) adds an entry; the
 *   directory is kept under a total size by removing the least recently used files (a hit
 *   refreshes its file's mtime), checked when an entry is written.
 *
 * Invariants: nothing here throws; a cache that cannot be made, read, touched or pruned is silent
 * (runs are only slower). Pruning removes only the cache's own files (*.kml, *.idx, cli-*.v8, and
 * *.tmp left over by a crashed writer for more than an hour), never the entry just written.
 * bin/load-cli.cjs repeats the directory rule, makeCacheDir and touch in CommonJS (it runs before
 * this code is loaded).
 */
import { mkdirSync, readdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Default bound on the cache's total size: ~300 typical entries. KMEMLEAK_CACHE_MAX_MB moves it. */
export const DEFAULT_CACHE_MAX_MB = 100;
const STALE_TMP_MS = 3600_000;

/** The cache directory (null: caching is off): KMEMLEAK_CACHE_DIR, else $XDG_CACHE_HOME/kmemleak or ~/.cache/kmemleak. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env['KMEMLEAK_CACHE'] === 'off') return null;
  const explicit = env['KMEMLEAK_CACHE_DIR'];
  if (explicit) return explicit;
  const xdg = env['XDG_CACHE_HOME'];
  try {
    return join(xdg || join(homedir(), '.cache'), 'kmemleak');
  } catch {
    return null;
  }
}

/** The bound in bytes (KMEMLEAK_CACHE_MAX_MB; a value that is not a number >= 0 keeps the default). */
export function cacheMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['KMEMLEAK_CACHE_MAX_MB'];
  const mb = raw !== undefined && raw.trim() !== '' && Number(raw) >= 0 ? Number(raw) : DEFAULT_CACHE_MAX_MB;
  return mb * 1024 * 1024;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Makes dir and its missing parents, each tried once (private to this user). False: no cache. */
export function makeCacheDir(dir: string): boolean {
  if (isDirectory(dir)) return true;
  const parent = dirname(dir);
  if (parent !== dir && !makeCacheDir(parent)) return false;
  try {
    mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EEXIST' && isDirectory(dir);
  }
}

/** Marks a cache file as just used (least recently used goes first). */
export function touchCacheFile(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    /* a read-only cache still serves hits */
  }
}

const isCacheFile = (name: string): boolean => name.endsWith('.kml') || name.endsWith('.idx') || (name.startsWith('cli-') && name.endsWith('.v8'));

/**
 * Removes the least recently used cache files until the total is at most maxBytes, sparing
 * `keep` (the entry just written). Returns the bytes left.
 */
export function pruneCache(dir: string, maxBytes: number, keep: string | null = null, now = Date.now()): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  const files: Array<{ path: string; size: number; used: number }> = [];
  let total = 0;
  for (const name of names) {
    const path = join(dir, name);
    try {
      const st = statSync(path);
      if (!st.isFile()) continue;
      if (name.endsWith('.tmp')) {
        if (now - st.mtimeMs > STALE_TMP_MS) unlinkSync(path);
        continue;
      }
      if (!isCacheFile(name)) continue;
      total += st.size;
      if (path !== keep) files.push({ path, size: st.size, used: st.mtimeMs });
    } catch {
      /* gone meanwhile, or not ours to remove */
    }
  }
  files.sort((a, b) => a.used - b.used);
  for (const f of files) {
    if (total <= maxBytes) break;
    try {
      unlinkSync(f.path);
      total -= f.size;
    } catch {
      /* another run removed it first */
    }
  }
  return total;
}
