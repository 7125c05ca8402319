/**
 * SARIF 2.1.0 for `kmemleak report` (SPEC §7's rule): one result per site that is not
 * suppressed, rule `memory-leak`, located at the first frame with a file at or below the frame
 * the title names, with the whole backtrace as its stack.
 */
import type { IngestFrame } from './model.js';
import { kernelTitleFrame } from './title.js';
import type { IngestReport, ReportSite } from './sites.js';

interface SarifLocation {
  physicalLocation?: { artifactLocation: { uri: string }; region?: { startLine: number } };
  logicalLocations?: Array<{ name: string; kind: 'function' }>;
}

function location(f: IngestFrame): SarifLocation {
  const loc: SarifLocation = {};
  if (f.file !== undefined) {
    loc.physicalLocation = { artifactLocation: { uri: f.file } };
    if (f.line !== undefined && f.line > 0) loc.physicalLocation.region = { startLine: f.line };
  }
  if (f.function !== null) loc.logicalLocations = [{ name: f.function, kind: 'function' }];
  return loc;
}

function primaryFrame(site: ReportSite): IngestFrame | undefined {
  const from = Math.max(0, kernelTitleFrame(site.backtrace));
  return site.backtrace.slice(from).find((f) => f.file !== undefined) ?? site.backtrace[from];
}

export function formatIngestSarif(report: IngestReport): object {
  const results = report.sites
    .filter((s) => s.suppressed === null)
    .map((s) => {
      const primary = primaryFrame(s);
      return {
        ruleId: 'memory-leak',
        level: s.baseline ? 'note' : 'error',
        message: { text: `${s.title}: ${s.objects} object${s.objects === 1 ? '' : 's'}, ${s.bytes} bytes` },
        locations: primary ? [location(primary)] : [],
        stacks: [{ frames: s.backtrace.map((f) => ({ location: location(f) })) }],
        ...(s.baseline ? { baselineState: 'unchanged' } : {}),
      };
    });
  return {
    version: '2.1.0',
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    runs: [{
      tool: { driver: { name: 'kmemleak', informationUri: 'https://www.kernel.org/doc/html/latest/dev-tools/kmemleak.html', rules: [{ id: 'memory-leak', shortDescription: { text: 'Unreferenced memory (kmemleak)' } }] } },
      results,
    }],
  };
}
