/**
 * `kmemleak report`'s text: per site, its title, then its first record in kmemleak's layout (the
 * fields its generation printed, no more), then one line counting the site; at the end a summary.
 * The output reads back through `kmemleak report` to the same sites (titles and counts lines
 * are not records).
 */
import { hexDumpLines, parseHexBytes } from '../hexdump.js';
import type { IngestFrame } from './model.js';
import type { IngestReport, ReportLeak, ReportSite } from './sites.js';

export function formatIngestFrame(f: IngestFrame): string {
  let s = f.address !== undefined && !f.address.startsWith('wasm-function[') ? `[<${f.address}>] ` : '';
  if (f.function === null) return s + (f.address?.startsWith('wasm-function[') ? f.address : `0x${f.address ?? '?'}`);
  s += f.function;
  if (f.offset !== undefined && f.size !== undefined) s += `+0x${f.offset.toString(16)}/0x${f.size.toString(16)}`;
  if (f.module !== undefined) s += ` [${f.module}]`;
  if (f.file !== undefined) s += f.line !== undefined ? ` ${f.file}:${f.line}${f.column !== undefined ? `:${f.column}` : ''}` : ` ${f.file}`;
  if (f.inline) s += ' [inline]';
  return s;
}

function formatRecord(l: ReportLeak): string {
  let s = `unreferenced object ${l.address ?? '(address cut off)'}${l.size !== null ? ` (size ${l.size})` : ''}:\n`;
  if (l.comm !== undefined) s += `  comm "${l.comm}", pid ${l.pid ?? 0}, jiffies ${l.jiffies ?? 0}${l.age !== undefined ? ` (age ${l.age.toFixed(3)}s)` : ''}\n`;
  const bytes = parseHexBytes(l.hex);
  if (bytes.length > 0) s += `  hex dump (first ${bytes.length} bytes):\n` + hexDumpLines(bytes);
  s += l.crc !== undefined ? `  backtrace (crc ${l.crc}):\n` : '  backtrace:\n';
  for (const f of l.backtrace) s += `    ${formatIngestFrame(f)}\n`;
  return s;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

function kindsText(s: { direct: number | null; indirect: number | null }): string {
  return s.direct === null ? 'kinds unknown: the report has no pointer graph' : `${s.direct} direct, ${s.indirect} indirect`;
}

function siteLine(site: ReportSite, first: ReportLeak): string {
  const flags = [site.baseline ? 'in the baseline' : '', site.suppressed !== null ? `suppressed by ${site.suppressed}` : '', first.truncated ? 'record truncated' : '']
    .filter(Boolean)
    .join('; ');
  return (
    `  ${plural(site.objects, 'object')}, ${site.bytes} bytes at this site (${kindsText(site)})` +
    (site.retained !== null ? `, retained ${site.retained} bytes` : '') +
    `, first at ${first.source}${flags ? `; ${flags}` : ''}\n`
  );
}

export function formatIngestText(report: IngestReport): string {
  const firstOf = new Map<number, ReportLeak>();
  for (const l of report.leaks) if (!firstOf.has(l.site)) firstOf.set(l.site, l);
  let out = '';
  for (const site of report.sites) {
    if (site.suppressed !== null) continue;
    const first = firstOf.get(site.id)!;
    out += `${site.title}\n${formatRecord(first)}${siteLine(site, first)}`;
  }
  const s = report.summary;
  out += `kmemleak: summary: ${s.bytes} bytes in ${plural(s.leaks, 'object')} at ${plural(s.sites, 'site')} (${kindsText(s)})\n`;
  return out + suppressionsUsed(report.sites);
}

const BAR = '-'.repeat(53);

/** LeakSanitizer's `Suppressions used:` table (count, bytes, pattern), as triage's exit report prints it. */
function suppressionsUsed(sites: readonly ReportSite[]): string {
  const used = new Map<string, { count: number; bytes: number }>();
  for (const s of sites) {
    if (s.suppressed === null) continue;
    const u = used.get(s.suppressed) ?? { count: 0, bytes: 0 };
    u.count += s.objects;
    u.bytes += s.bytes;
    used.set(s.suppressed, u);
  }
  if (used.size === 0) return '';
  let out = `${BAR}\nSuppressions used:\n  count      bytes template\n`;
  for (const [pattern, u] of used) out += `${String(u.count).padStart(7)} ${String(u.bytes).padStart(10)} ${pattern}\n`;
  return out + `${BAR}\n`;
}
