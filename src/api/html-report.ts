/**
 * The HTML report (src/report/html/) of a running module, for the embedding API: the same page
 * `kmemleak run --html` writes, built from the handle's triaged leaks and sites (SPEC §7), so a
 * browser page can show it live (examples/browser/ puts it in an iframe after each scan).
 * Browser-safe: no Node modules.
 */
import { buildHtmlReport } from '../report/html/page.js';
import type { ViewInput } from '../report/html/view.js';

/** What the page needs of a handle: KmemleakHandle's leaks() (with kind and site) and sites(). */
export interface HtmlReportSource {
  leaks(): ViewInput['leaks'];
  sites(): ViewInput['sites'];
}

export function htmlReport(k: HtmlReportSource, program = 'module.wasm'): string {
  const sites = k.sites();
  const leaks = k.leaks();
  let bytes = 0, direct = 0, indirect = 0, objects = 0;
  let suppressedObjects = 0, suppressedBytes = 0;
  for (const s of sites) {
    if (s.suppressed !== null) {
      suppressedObjects += s.objects;
      suppressedBytes += s.bytes;
      continue;
    }
    objects += s.objects;
    bytes += s.bytes;
    direct += s.direct ?? 0;
    indirect += s.indirect ?? 0;
  }
  return buildHtmlReport({
    program,
    leaks,
    sites,
    summary: { leaks: objects, bytes, sites: sites.length - sites.filter((s) => s.suppressed !== null).length, direct, indirect, suppressed: { objects: suppressedObjects, bytes: suppressedBytes } },
  });
}
