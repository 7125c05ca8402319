/**
 * One input of `kmemleak report` (a file, or standard input as "-"): decides JSON or console text
 * and returns its records. Input that is not a kmemleak report at all (binary data, a text that
 * never mentions kmemleak, JSON of another shape) is an IngestError naming the line where reading
 * stopped. Empty input, or a log where kmemleak reported nothing, is zero records.
 */
import { readJsonRecords } from './json-input.js';
import { splitLines } from './lines.js';
import { IngestError, type IngestRecord } from './model.js';
import { readTextRecords } from './text.js';

export interface ReadInput {
  records: IngestRecord[];
  /** Site titles from our JSON (triage's), keyed by record. */
  titles: Map<IngestRecord, string>;
}

export function readReportText(text: string, file: string): ReadInput {
  const nul = text.indexOf('\u0000');
  if (nul >= 0) throw new IngestError(file, splitLines(text.slice(0, nul)).length + 1, 'binary data, not a kmemleak report');
  const titles = new Map<IngestRecord, string>();
  if (/^\s*\{/.test(text)) {   // our JSON report is one object; a "[" starts a dmesg line
    const j = readJsonRecords(text, file);
    j.records.forEach((r, i) => {
      const site = j.recordSites[i];
      const t = site === undefined ? undefined : j.siteTitles.get(site);
      if (t !== undefined) titles.set(r, t);
    });
    return { records: j.records, titles };
  }
  const lines = splitLines(text);
  const { records } = readTextRecords(lines, file);
  if (records.length === 0 && text.trim() !== '' && !/kmemleak/i.test(text)) {
    throw new IngestError(file, lines.length, 'no kmemleak report in it (no "unreferenced object" record, no kmemleak message)');
  }
  return { records, titles };
}
