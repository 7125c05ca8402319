/**
 * Runs a peers fixture (test/fixtures/peers, built by its build.sh) through the command line's
 * own option parsing (so LSAN_OPTIONS and the table's options are read as `kmemleak run` reads
 * them) and the runtime, in-process. Every object is listed (--report-objects) unless the test
 * passes `raw: { reportObjects: false }`, so tests can read each leaked block's size.
 */
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toRunOptions, type RawRunOptions } from '../../src/cli/parse-run.js';
import { runModule, type RunResult } from '../../src/wasm/runtime/run.js';

export { reported } from '../runtime/helpers.js';

export const peer = (name: string): string => fileURLToPath(new URL(`../fixtures/peers/${name}`, import.meta.url));

export interface PeerRan { result: RunResult; err: string; out: string }

export async function runPeer(
  module: string,
  args: string[] = [],
  opts: { raw?: Partial<RawRunOptions>; env?: Record<string, string> } = {},
): Promise<PeerRan> {
  const dir = mkdtempSync(join(tmpdir(), 'kml-peers-'));
  const outPath = join(dir, 'stdout');
  const out = openSync(outPath, 'w+');
  let err = '';
  try {
    // Every object in the exit text (--report-objects), as these tests count objects; the per-site
    // report is tested in test/triage/.
    const o = toRunOptions(peer(module), args, { dir: [], env: [], reportObjects: true, ...opts.raw }, opts.env ?? {});
    const result = await runModule(o, { err: (t) => { err += t; }, stdout: out });
    return { result, err, out: readFileSync(outPath, 'utf8') };
  } finally {
    closeSync(out);
  }
}
