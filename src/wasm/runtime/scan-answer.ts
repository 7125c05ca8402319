/**
 * Why: what `kmemleak ctl PATH scan` prints. kmemleak's checksum rule (SPEC §3) means a new
 * block is reported by the second scan that finds it unreferenced with unchanged contents, and
 * only once it is older than the minimum age: a first `scan` then a read shows nothing, which
 * looks like a broken tool unless the answer says why. The rule itself is kept.
 */

/** The answer to a scan that found `newLeaks` new suspected leaks. */
export function scanAnswer(newLeaks: number, minAgeMs: number, controlPath: string | undefined): string {
  const read = controlPath !== undefined ? `kmemleak ctl ${controlPath}` : 'a read of the control file';
  if (newLeaks > 0) return `kmemleak: ${newLeaks} new suspected memory leaks (see ${read})\n`;
  return 'kmemleak: no new suspected memory leaks\n' +
    `(a block is reported by the second scan that finds it unreferenced with unchanged contents, once older than --min-age ${minAgeMs} ms)\n`;
}
