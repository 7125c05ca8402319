/**
 * `kmemleak report [--json|--sarif|--html] [-o FILE] [--exitcode N] [--baseline FILE] [--suppressions FILE] [FILE...]`: reads kmemleak
 * reports (the kernel's, any generation, or ours, text or JSON) from files or standard input
 * ("-", or no FILE), groups their records into sites and prints them: text by default, SPEC §7's
 * JSON, SARIF 2.1.0, or the HTML page (src/report/html/).
 *
 * --suppressions and --baseline are triage's (SPEC §7, src/triage/): suppressed sites are counted,
 * not listed; baseline sites are listed after the new ones. Exit status: --exitcode (default 23, as
 * `kmemleak run`) when a new, unsuppressed site is reported, 0 when none;
 * 1 when an input is not a kmemleak report (one line: FILE:LINE where reading stopped, and why);
 * 2 for a usage error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../wasm/runtime/errors.js';
import { readReportText } from '../report/ingest/read.js';
import { IngestError, type IngestRecord } from '../report/ingest/model.js';
import { groupIntoSites, type IngestReport } from '../report/ingest/sites.js';
import { formatIngestText } from '../report/ingest/format-text.js';
import { formatIngestSarif } from '../report/ingest/format-sarif.js';
import { buildHtmlReport } from '../report/html/page.js';
import { readSuppressionFile } from '../triage/inputs.js';
import { SuppressionError, type Suppression } from '../triage/suppressions.js';
import { siteKey } from '../report/ingest/sites.js';
import type { CliIO } from './io.js';

export interface RawReportOptions {
  json?: boolean;
  sarif?: boolean;
  html?: boolean;
  output?: string;
  exitcode?: string;
  suppressions?: string[];
  baseline?: string;
}

export interface ReportDeps {
  readStdin(): string;
  readFile(path: string): string;
}

const defaultDeps: ReportDeps = {
  readStdin: () => readFileSync(0, 'utf8'),
  readFile: (p) => readFileSync(p, 'utf8'),
};

function readInputs(files: string[], deps: ReportDeps): { records: IngestRecord[]; titles: Map<IngestRecord, string>; names: string[] } {
  const names = files.length === 0 ? ['-'] : files;
  const records: IngestRecord[] = [];
  const titles = new Map<IngestRecord, string>();
  for (const name of names) {
    let text: string;
    try {
      text = name === '-' ? deps.readStdin() : deps.readFile(name);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(`${name === '-' ? 'standard input' : name}: cannot read${code ? ` (${code})` : ''}`);
    }
    const got = readReportText(text, name === '-' ? '<stdin>' : name);
    records.push(...got.records);
    for (const [r, t] of got.titles) titles.set(r, t);
  }
  return { records, titles, names };
}

function readSuppressions(files: readonly string[]): Suppression[] {
  try {
    return files.flatMap((f) => readSuppressionFile(f));
  } catch (e) {
    if (e instanceof SuppressionError) throw new InputError(`--suppressions: ${e.message}`);
    throw e;
  }
}

/** An earlier report (any kind `kmemleak report` reads: our JSON, a kernel log): its site keys. */
function readBaseline(file: string, deps: ReportDeps): Set<string> {
  let text: string;
  try {
    text = deps.readFile(file);
  } catch (e) {
    throw new InputError(`--baseline: ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return new Set(readReportText(text, file).records.map((r) => siteKey(r.backtrace)));
  } catch (e) {
    if (e instanceof IngestError) throw new InputError(`--baseline: ${e.message}`);
    throw e;
  }
}

function render(report: IngestReport, raw: RawReportOptions): string {
  if (raw.json) return JSON.stringify(report, null, 2) + '\n';
  if (raw.sarif) return JSON.stringify(formatIngestSarif(report), null, 2) + '\n';
  if (raw.html) return buildHtmlReport(report);
  return formatIngestText(report);
}

export async function runReport(files: string[], raw: RawReportOptions, io: CliIO, deps: ReportDeps = defaultDeps): Promise<number> {
  if ([raw.json, raw.sarif, raw.html].filter(Boolean).length > 1) throw new InputError('--json, --sarif, --html: choose one', 2);
  let exitcode = 23;
  if (raw.exitcode !== undefined) {
    if (!/^\d+$/.test(raw.exitcode) || Number(raw.exitcode) > 255) throw new InputError(`--exitcode: expected 0..255, got '${raw.exitcode}'`, 2);
    exitcode = Number(raw.exitcode);
  }
  let input;
  try {
    input = readInputs(files, deps);
  } catch (e) {
    if (e instanceof IngestError) throw new InputError(e.message);
    throw e;
  }
  const suppressions = readSuppressions(raw.suppressions ?? []);
  const baseline = raw.baseline === undefined ? undefined : readBaseline(raw.baseline, deps);
  const report = groupIntoSites(input.records, input.names, { titles: input.titles, suppressions, baseline });
  const text = render(report, raw);
  if (raw.output !== undefined) {
    try {
      writeFileSync(raw.output, text);
    } catch (e) {
      throw new InputError(`${raw.output}: cannot write (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    io.out(text);
  }
  const counted = report.sites.some((s) => !s.baseline && s.suppressed === null);
  return counted ? exitcode : 0;
}

export function reportCommand(program: Command, io: CliIO, result: { code: number }): void {
  program
    .command('report')
    .description("read kmemleak reports (the kernel's, any generation, or ours: text or JSON) and list their leaks by site")
    .argument('[files...]', 'report files; "-" or none reads standard input')
    .helpOption('-h, --help', 'show this help')
    .option('--json', "print SPEC §7's JSON (sites, leaks, summary)")
    .option('--sarif', 'print SARIF 2.1.0, one result per site')
    .option('--html', 'print one self-contained HTML page (icicle graph, sites, objects, filter)')
    .option('-o, --output <file>', 'write to FILE instead of standard output')
    .option('--exitcode <n>', 'exit status when a new, unsuppressed site is reported', undefined)
    .option('--suppressions <file>', "LeakSanitizer suppressions (leak:PATTERN lines); repeatable", (v: string, p: string[] | undefined) => [...(p ?? []), v])
    .option('--baseline <file>', 'an earlier report (JSON or text): its sites are listed as baseline and do not count')
    .addHelpText('after', [
      '',
      'Titles are the ones syzkaller gives kernel reports: "memory leak in FUNC", FUNC the first frame',
      'that is not an allocator or kmemleak frame. Kernel records have no pointer graph: their kinds',
      '(direct/indirect) and retained bytes are unknown.',
      'Exit status: 23 (--exitcode) when a new (not baseline), unsuppressed site is reported, 0 when none, 1 when an input is not a',
      'kmemleak report, 2 for a usage error.',
      'Example: dmesg | kmemleak report',
    ].join('\n'))
    .action(async (files: string[], raw: RawReportOptions) => {
      result.code = await runReport(files, raw, io);
    });
}
