/**
 * Real names of minified exports, read from Emscripten's JS glue. Release builds minify export
 * names (`sqlite3_open` is exported as `Ha`) and strip the name section; the glue maps them back
 * when it stores the exports (`k._sqlite3_open=c.Ha`, `Module["_malloc"]=wasmExports["Ia"]`).
 * Those names let the detector find the allocator (malloc/free) before instantiation, show the
 * export the host called as comm, and name exported functions in backtraces.
 *
 * Invariants: pure text matching, never throws; only pairs whose two names differ are returned;
 * a name mapped twice keeps its first mapping; names are JS identifiers.
 */

const PATTERNS: RegExp[] = [
  // k._sqlite3_open=c.Ha   (minified MODULARIZE output)
  /[A-Za-z_$][\w$]*\._([A-Za-z_][\w]*)\s*=\s*[A-Za-z_$][\w$]*\.([A-Za-z_$][\w$]*)/g,
  // Module["_malloc"] = wasmExports["Ia"]   (unminified, quoted)
  /\[\s*["']_([A-Za-z_][\w]*)["']\s*\]\s*=\s*[A-Za-z_$][\w$]*\[\s*["']([A-Za-z_$][\w$]*)["']\s*\]/g,
];

/** export name -> real (C) name. */
export function exportAliasesFromGlue(source: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const re of PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(source); m; m = re.exec(source)) {
      const real = m[1]!;
      const exp = m[2]!;
      if (real !== exp && !out.has(exp)) out.set(exp, real);
    }
  }
  return out;
}
