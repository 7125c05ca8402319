/**
 * Why: the `kmemleak run` side of lsan-flags.ts: registers the table's options on the command
 * line, and merges LSAN_OPTIONS (from kmemleak's own environment, as LSan reads it from the
 * process's) under the options given on the command line.
 *
 * Invariants: a bad value, on the command line or in LSAN_OPTIONS, is an InputError(…, 2) naming
 * where it came from; unknown LSAN_OPTIONS flags become one warning line, not an error.
 */
import { Option, type Command } from 'commander';
import { InputError } from '../wasm/runtime/errors.js';
import {
  FLAG_TABLE, parseLsanOptions, readValue, unknownFlagsWarning, type PartialSettings, type SettingKey,
} from './lsan-flags.js';

/** The command-line options defined elsewhere (run's own --exitcode, --stack, --trace-depth). */
const DEFINED_ELSEWHERE = new Set(['--exitcode', '--stack', '--trace-depth']);

function flagOf(cli: string): string {
  return cli.split(' ')[0]!;
}

/** commander's attribute name for a long option (--use-globals -> useGlobals). */
function attributeOf(cli: string): string {
  return flagOf(cli).slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Adds the table's options that `run` does not define itself. */
export function addLsanOptions(cmd: Command): void {
  for (const row of FLAG_TABLE) {
    if (row.external || DEFINED_ELSEWHERE.has(flagOf(row.cli))) continue;
    cmd.addOption(new Option(row.cli, `${row.help} (LSAN_OPTIONS ${row.lsan})`));
  }
}

export interface LsanGiven {
  /** Settings given by LSAN_OPTIONS or the command line; the program's defaults fill the rest. */
  given: PartialSettings;
  /** Lines to print once when the run starts. */
  warnings: string[];
}

/**
 * LSAN_OPTIONS under the command line's table options. `raw` is commander's option record (the
 * values of run's own --exitcode, --stack and --trace-depth are validated by parse-run.ts and
 * passed in `own`).
 */
export function lsanGiven(raw: Record<string, unknown>, own: PartialSettings, hostEnv: NodeJS.ProcessEnv): LsanGiven {
  const warnings: string[] = [];
  const envText = hostEnv['LSAN_OPTIONS'];
  let fromEnv: PartialSettings = {};
  if (envText !== undefined && envText.trim() !== '') {
    const parsed = parseLsanOptions(envText);
    if (parsed.problems.length > 0) throw new InputError(`LSAN_OPTIONS: ${parsed.problems[0]}`, 2);
    const w = unknownFlagsWarning('LSAN_OPTIONS', parsed.unknown);
    if (w) warnings.push(w);
    fromEnv = parsed.values;
  }
  const fromCli: PartialSettings = { ...own };
  for (const row of FLAG_TABLE) {
    if (row.external || DEFINED_ELSEWHERE.has(flagOf(row.cli))) continue;
    const v = raw[attributeOf(row.cli)];
    if (v === undefined) continue;
    const read = readValue(row, String(v));
    if (typeof read === 'string') throw new InputError(`${flagOf(row.cli)}: ${read}`, 2);
    (fromCli as Record<SettingKey, unknown>)[row.key] = read[0];
  }
  return { given: { ...fromEnv, ...fromCli }, warnings };
}
