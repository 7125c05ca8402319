/**
 * Why: LeakSanitizer keeps every run-time flag in one table (lsan_flags.inc); so does this file.
 * Each row names the LSAN_OPTIONS flag, the `kmemleak run` option that sets the same thing, and
 * how its value is read. The command line registers its options from this table, LSAN_OPTIONS
 * and the program's own `__lsan_default_options()` are parsed against it, and the README's table
 * says the same (a test keeps them in step).
 *
 * Precedence, lowest first: the defaults, the program's `__lsan_default_options()`, the
 * LSAN_OPTIONS environment variable, the `kmemleak run` options (as LSan puts LSAN_OPTIONS over
 * the compiled-in defaults, and an explicit command line over both).
 *
 * Invariants: parsing is pure; a bad value is a one-line problem naming the flag; a flag not in
 * the table is collected as unknown (warned about once by the caller), never an error, as LSan
 * does; LSan's separators (space, ',', ':', newline, tab) and quoting ('...' or "...") are accepted.
 */

/** What the checks do, resolved from every source. */
export interface LeakCheckSettings {
  exitcode: number;
  useStacks: boolean;
  useGlobals: boolean;
  useUnaligned: boolean;
  useRootRegions: boolean;
  leakCheckAtExit: boolean;
  /** 0: report every leak. */
  maxLeaks: number;
  detectLeaks: boolean;
  /** Frames kept per backtrace (LSan's malloc_context_size; our --trace-depth). */
  traceDepth: number;
  /** A suppressions file (LSan syntax), or '' for none. */
  suppressions: string;
  reportObjects: boolean;
}

export type SettingKey = keyof LeakCheckSettings;

type Kind = 'bool' | 'int' | 'path';

export interface FlagRow {
  /** The LSAN_OPTIONS name. */
  lsan: string;
  /** The `kmemleak run` option (long form, with its value placeholder). */
  cli: string;
  key: SettingKey;
  kind: Kind;
  min?: number;
  max?: number;
  /** What it means here (README and --help). */
  help: string;
  /** False: the value is needed before the program starts (not settable by __lsan_default_options). */
  late: boolean;
  /** The option is defined elsewhere on the command line (the triage module's), not from this table. */
  external?: boolean;
}

/** LeakSanitizer's flags that mean something here, and the kmemleak run option for each. */
export const FLAG_TABLE: readonly FlagRow[] = [
  { lsan: 'exitcode', cli: '--exitcode <n>', key: 'exitcode', kind: 'int', min: 0, max: 255, late: true,
    help: "exit status when the final check reports leaks; 0 keeps the program's own" },
  { lsan: 'detect_leaks', cli: '--detect-leaks <on|off>', key: 'detectLeaks', kind: 'bool', late: true,
    help: 'off: no leak check at all (the __lsan_* calls do nothing)' },
  { lsan: 'leak_check_at_exit', cli: '--leak-check-at-exit <on|off>', key: 'leakCheckAtExit', kind: 'bool', late: true,
    help: 'off: no check when main returns or exit() is called; __lsan_do_leak_check still checks' },
  { lsan: 'use_stacks', cli: '--stack <on|off>', key: 'useStacks', kind: 'bool', late: true,
    help: 'scan live shadow-stack frames' },
  { lsan: 'use_globals', cli: '--use-globals <on|off>', key: 'useGlobals', kind: 'bool', late: true,
    help: 'scan the static data (.data, .bss)' },
  { lsan: 'use_root_regions', cli: '--use-root-regions <on|off>', key: 'useRootRegions', kind: 'bool', late: true,
    help: 'scan the regions given to __lsan_register_root_region' },
  { lsan: 'use_unaligned', cli: '--use-unaligned <on|off>', key: 'useUnaligned', kind: 'bool', late: true,
    help: 'take a pointer at every byte offset, not only at aligned words (slower; the JavaScript flood)' },
  { lsan: 'max_leaks', cli: '--max-leaks <n>', key: 'maxLeaks', kind: 'int', min: 0, max: 2 ** 31 - 1, late: true,
    help: 'report at most N leaked objects (0: all); the exit status still says leaks were found' },
  { lsan: 'malloc_context_size', cli: '--trace-depth <n>', key: 'traceDepth', kind: 'int', min: 0, max: 16, late: false,
    help: 'frames kept per backtrace, 0..16; 0 turns stacks off' },
  { lsan: 'suppressions', cli: '--suppressions <file>', key: 'suppressions', kind: 'path', late: true, external: true,
    help: 'a suppressions file in LSan syntax (leak:PATTERN lines)' },
  { lsan: 'report_objects', cli: '--report-objects', key: 'reportObjects', kind: 'bool', late: true, external: true,
    help: 'list the address and size of each leaked object under its site' },
];

export const SETTING_DEFAULTS: Readonly<LeakCheckSettings> = {
  exitcode: 23,
  useStacks: true,
  useGlobals: true,
  useUnaligned: false,
  useRootRegions: true,
  leakCheckAtExit: true,
  maxLeaks: 0,
  detectLeaks: true,
  traceDepth: 16,
  suppressions: '',
  reportObjects: false,
};

/**
 * LSan flags that are accepted and have no effect here (said once, not warned about as unknown):
 * what they tune does not exist in a wasm program or is always so.
 */
export const INERT_FLAGS: Readonly<Record<string, string>> = {
  use_registers: 'wasm has no registers to scan (locals are the live helper\'s)',
  use_tls: 'no thread-local storage apart from static data',
  use_ld_allocations: 'no dynamic loader',
  use_poisoned: 'no poisoning',
  verbosity: '',
  fast_unwind_on_malloc: 'backtraces are exact',
  symbolize: 'always symbolized',
  print_suppressions: '',
  log_pointers: '',
  log_threads: '',
  help: '',
};

export type PartialSettings = Partial<LeakCheckSettings>;

export interface ParsedFlags {
  values: PartialSettings;
  /** Flags set here, by LSan name, in order. */
  set: string[];
  /** Names not in the table (nor inert). */
  unknown: string[];
  /** Bad values, one line each ("exitcode: expected a whole number, got 'x'"). */
  problems: string[];
}

const ROW_BY_LSAN = new Map(FLAG_TABLE.map((r) => [r.lsan, r]));
const ROW_BY_KEY = new Map(FLAG_TABLE.map((r) => [r.key, r]));

export function rowFor(key: SettingKey): FlagRow {
  return ROW_BY_KEY.get(key)!;
}

/** A boolean as LSan reads it (0/1/true/false/yes/no) or as our options write it (on/off). */
export function parseBool(text: string): boolean | null {
  const v = text.trim().toLowerCase();
  if (v === '1' || v === 'true' || v === 'yes' || v === 'on') return true;
  if (v === '0' || v === 'false' || v === 'no' || v === 'off') return false;
  return null;
}

/** Reads one value for a row; returns [value] or a problem text. */
export function readValue(row: FlagRow, text: string): [LeakCheckSettings[SettingKey]] | string {
  if (row.kind === 'bool') {
    const b = parseBool(text);
    return b === null ? `expected on or off (or 1/0, true/false), got '${text}'` : [b];
  }
  if (row.kind === 'int') {
    const t = text.trim();
    if (!/^\d+$/.test(t)) return `expected a whole number, got '${text}'`;
    const n = Number(t);
    if (n < (row.min ?? 0) || n > (row.max ?? 2 ** 31 - 1)) return `${n} is out of range (${row.min ?? 0}..${row.max})`;
    return [n];
  }
  return [text];
}

/** Splits an LSAN_OPTIONS string into name=value pairs (LSan's separators and quotes). */
export function splitFlags(text: string): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = [];
  const sep = (c: string): boolean => c === ' ' || c === ',' || c === ':' || c === '\n' || c === '\t' || c === '\r';
  let i = 0;
  while (i < text.length) {
    while (i < text.length && sep(text[i]!)) i++;
    if (i >= text.length) break;
    const nameStart = i;
    while (i < text.length && text[i] !== '=' && !sep(text[i]!)) i++;
    const name = text.slice(nameStart, i);
    if (text[i] !== '=') { out.push([name, null]); continue; }
    i++;
    let value: string;
    const q = text[i];
    if (q === '"' || q === "'") {
      const close = text.indexOf(q, i + 1);
      const end = close < 0 ? text.length : close;
      value = text.slice(i + 1, end);
      i = close < 0 ? text.length : close + 1;
    } else {
      const start = i;
      while (i < text.length && !sep(text[i]!)) i++;
      value = text.slice(start, i);
    }
    out.push([name, value]);
  }
  return out;
}

/** Parses LSAN_OPTIONS text (or __lsan_default_options' string) against the table. */
export function parseLsanOptions(text: string): ParsedFlags {
  const res: ParsedFlags = { values: {}, set: [], unknown: [], problems: [] };
  for (const [name, value] of splitFlags(text)) {
    const row = ROW_BY_LSAN.get(name);
    if (!row) {
      if (!(name in INERT_FLAGS) && !res.unknown.includes(name)) res.unknown.push(name);
      continue;
    }
    if (value === null) { res.problems.push(`${name}: expected ${name}=VALUE`); continue; }
    const v = readValue(row, value);
    if (typeof v === 'string') { res.problems.push(`${name}: ${v}`); continue; }
    (res.values as Record<string, unknown>)[row.key] = v[0];
    if (!res.set.includes(name)) res.set.push(name);
  }
  return res;
}

/** The settings from every source: `over` wins over `under` key by key. */
export function layer(under: PartialSettings, over: PartialSettings): PartialSettings {
  return { ...under, ...over };
}

/** The warning for unknown flags, said once per source ("LSAN_OPTIONS", "__lsan_default_options"). */
export function unknownFlagsWarning(source: string, unknown: readonly string[]): string | null {
  if (unknown.length === 0) return null;
  const list = unknown.map((n) => `'${n}'`).join(', ');
  return `kmemleak: ${source}: ignoring unknown flag${unknown.length > 1 ? 's' : ''} ${list} (known: ${FLAG_TABLE.map((r) => r.lsan).join(', ')})`;
}
