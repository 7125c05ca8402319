/**
 * Why: LeakSanitizer's suppressions (SPEC §7), so that a code base's existing suppression files
 * work unchanged: `leak:PATTERN` lines, `#` comments, a pattern matching an object when it
 * matches any frame's function, file or module name. Sources: `--suppressions FILE` (repeatable),
 * LSAN_OPTIONS=suppressions=FILE, and the program's own `__lsan_default_suppressions` text.
 *
 * Invariants:
 * - Parsing is LSan's: each line is trimmed of blanks (' ', '\t', '\r'); empty lines and lines
 *   starting with '#' are skipped; every other line is `TYPE:PATTERN`. LSan knows one type,
 *   `leak`; any other type is an error, as LSan dies on it. Unlike LSan, an empty pattern is an
 *   error too (LSan's would silently suppress every leak), and blanks after the colon are dropped.
 * - Errors are SuppressionError: one line naming the source and the line number.
 * - Matching (templateMatch) is LSan's template syntax: `*` is any run of characters, a leading
 *   `^` anchors at the start, a trailing `$` at the end, otherwise the pattern may match anywhere
 *   in the name (a substring). Case-sensitive. An empty name never matches. Where LSan's
 *   left-to-right first-occurrence search misses a match a glob would find (`a*b$` on `ab_ab`),
 *   this matches: the difference only ever suppresses more.
 * - Pure: no I/O (files are read by inputs.ts), so the browser bundle can take it.
 */
/** One `leak:` line. */
export interface Suppression {
  /** The pattern as written after `leak:` (what LSan's `Suppressions used:` table prints). */
  pattern: string;
  /** Where it came from: a file path, or `__lsan_default_suppressions`. */
  source: string;
  /** 1-based line number in the source. */
  line: number;
}

/** A suppression source that cannot be read or parsed; `message` is one line naming source:line. */
export class SuppressionError extends Error {
  constructor(readonly source: string, readonly line: number, why: string) {
    super(line > 0 ? `${source}:${line}: ${why}` : `${source}: ${why}`);
    this.name = 'SuppressionError';
  }
}

/** The one suppression type LeakSanitizer has. */
export const LEAK_TYPE = 'leak';

/** Parses suppressions text; throws SuppressionError at the first bad line. */
export function parseSuppressions(text: string, source: string): Suppression[] {
  const out: Suppression[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/^[ \t\r]+|[ \t\r]+$/g, '');
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new SuppressionError(source, i + 1, `expected leak:PATTERN, got '${clip(line)}'`);
    const type = line.slice(0, colon).trim();
    if (type !== LEAK_TYPE) {
      throw new SuppressionError(source, i + 1, `unknown suppression type '${clip(type)}' (LeakSanitizer's only type is leak:PATTERN)`);
    }
    const pattern = line.slice(colon + 1).trim();
    if (pattern === '') throw new SuppressionError(source, i + 1, 'empty pattern after leak: (it would suppress every leak)');
    out.push({ pattern, source, line: i + 1 });
  }
  return out;
}

function clip(s: string): string {
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** Compiled templates, keyed by the template text (suppression lists are short and reused). */
const compiled = new Map<string, RegExp>();

function compile(template: string): RegExp {
  let re = compiled.get(template);
  if (re) return re;
  let body = template;
  const atStart = body.startsWith('^');
  if (atStart) body = body.slice(1);
  const atEnd = body.endsWith('$');
  if (atEnd) body = body.slice(0, -1);
  const inner = body.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*');
  re = new RegExp((atStart ? '^' : '') + inner + (atEnd ? '$' : ''));
  compiled.set(template, re);
  return re;
}

/** LeakSanitizer's TemplateMatch: does `template` match `name`? (see the invariants) */
export function templateMatch(template: string, name: string | null | undefined): boolean {
  if (!name) return false;
  return compile(template).test(name);
}

/** What a frame offers to suppressions: its function and file names. */
export interface NamedFrame {
  function: string | null;
  file?: string | undefined;
}

/**
 * The suppression (index into `list`) that matches, or -1: LSan's order, the module's name first,
 * then frame by frame from the innermost, the function's name before the file's; for each name
 * the first suppression in `list` order that matches it.
 */
export function matchSuppression(list: readonly Suppression[], frames: readonly NamedFrame[], module: string | null): number {
  if (list.length === 0) return -1;
  let s = firstMatch(list, module);
  for (let i = 0; s < 0 && i < frames.length; i++) {
    const f = frames[i]!;
    s = firstMatch(list, f.function);
    if (s < 0) s = firstMatch(list, f.file);
  }
  return s;
}

function firstMatch(list: readonly Suppression[], name: string | null | undefined): number {
  if (!name) return -1;
  for (let s = 0; s < list.length; s++) if (templateMatch(list[s]!.pattern, name)) return s;
  return -1;
}
