/**
 * SARIF 2.1.0 (`--sarif FILE`) for code-scanning tools (SPEC §7): one result per site that is not
 * suppressed, rule `memory-leak`; its location is the first shown frame that has a file, its
 * stack every shown frame; baseline sites have baselineState "unchanged", new ones "new".
 *
 * Invariants: validates against the official SARIF 2.1.0 schema (test/triage/sarif.test.ts, with
 * ajv); file paths become URI references (absolute paths as file:// URIs); line 0 or an unknown
 * line gives no region; a site's partialFingerprints come from its key, so the same site has the
 * same fingerprint in every run.
 */
import { createHash } from 'node:crypto';
import type { Frame } from '../symbolize/frame.js';
import { frameName, type Site } from '../triage/sites.js';

export const SARIF_RULE = 'memory-leak';
const SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

export interface SarifInput {
  /** The program's file name (a frame's module). */
  program: string;
  /** The triage's sites, in report order; suppressed ones are left out here. */
  sites: readonly Site[];
  toolVersion: string;
}

/** A file name as a SARIF URI reference. */
export function fileUri(file: string): string {
  const enc = encodeURI(file.replace(/\\/g, '/')).replace(/[?#]/g, (c) => encodeURIComponent(c));
  return file.startsWith('/') ? 'file://' + enc : enc;
}

function location(f: Frame, program: string, withPhysical: boolean): Record<string, unknown> {
  const loc: Record<string, unknown> = {};
  if (withPhysical && f.file) {
    const phys: Record<string, unknown> = { artifactLocation: { uri: fileUri(f.file) } };
    if (f.line !== undefined && f.line > 0) {
      phys['region'] = f.column !== undefined && f.column > 0 ? { startLine: f.line, startColumn: f.column } : { startLine: f.line };
    }
    loc['physicalLocation'] = phys;
  }
  loc['logicalLocations'] = [{ name: frameName(f), kind: 'function', decoratedName: `${program}!${frameName(f)}` }];
  return loc;
}

function result(site: Site, program: string): Record<string, unknown> {
  const shown = site.backtrace;
  const at = shown.find((f) => f.file);
  const text = `${site.title}: ${site.objects} objects, ${site.bytes} bytes (${site.direct} direct, ${site.indirect} indirect), retained ${site.retained} bytes`;
  const r: Record<string, unknown> = {
    ruleId: SARIF_RULE,
    ruleIndex: 0,
    level: 'error',
    message: { text },
    locations: at ? [location(at, program, true)] : shown.length > 0 ? [location(shown[0]!, program, false)] : [],
    partialFingerprints: { 'kmemleakSite/v1': createHash('sha256').update(site.key).digest('hex').slice(0, 32) },
    baselineState: site.baseline ? 'unchanged' : 'new',
    properties: { objects: site.objects, bytes: site.bytes, direct: site.direct, indirect: site.indirect, retained: site.retained },
  };
  if (shown.length > 0) {
    r['stacks'] = [{
      message: { text: 'allocation backtrace' },
      frames: shown.map((f) => ({ location: location(f, program, true), module: program })),
    }];
  }
  return r;
}

/** The SARIF log object. */
export function buildSarif(input: SarifInput): Record<string, unknown> {
  return {
    $schema: SCHEMA_URI,
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: 'kmemleak',
          fullName: 'kmemleak for WebAssembly',
          version: input.toolVersion,
          rules: [{
            id: SARIF_RULE,
            name: 'MemoryLeak',
            shortDescription: { text: 'Memory leak' },
            fullDescription: { text: 'A heap block that nothing in the program references any more (kmemleak\'s unreferenced object); the location is where it was allocated.' },
            defaultConfiguration: { level: 'error' },
          }],
        },
      },
      results: input.sites.filter((s) => s.suppressed === null).map((s) => result(s, input.program)),
    }],
  };
}
