/**
 * Console lines as kmemleak printed them, whatever carried them: dmesg adds `[  123.456]` (and
 * `[T1234]`/`[C1]` with CONFIG_PRINTK_CALLER), syslog adds `<4>` or `Mon DD hh:mm:ss host kernel: `,
 * a lost-message marker may precede, and kmemleak of the 2.6 era prefixed every line it printed
 * to the log with `kmemleak: `. Each is removed; what is left is the text kmemleak wrote, trimmed
 * (indentation carries no meaning once prefixes of varying width were cut).
 */

const DROPPED = /^\*\* \d+ printk messages dropped \*\*\s*/;
const SYSLOG = /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ kernel: /;
const LEVEL = /^<\d+>/;
const TIMESTAMP = /^\[\s*\d+\.\d+\](?:\[\s*[CT]\d+\])?\s?/;
const KMEMLEAK_PREFIX = /^kmemleak: /;

export function stripLogPrefixes(raw: string): string {
  let s = raw.replace(/\r$/, '');
  s = s.replace(DROPPED, '').replace(SYSLOG, '').replace(LEVEL, '').replace(TIMESTAMP, '');
  s = s.trim();
  // Only a record's own lines lose the prefix: "kmemleak: 3 new suspected memory leaks" stays a log line.
  const rest = s.replace(KMEMLEAK_PREFIX, '');
  return rest !== s && /^(?:unreferenced object|comm "|hex dump|backtrace|\[<|[0-9a-f]{2} )/.test(rest.trimStart()) ? rest.trim() : s;
}

/** Splits a file's text into lines (LF or CRLF), without the final empty line. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
