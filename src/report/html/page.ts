/**
 * `--html`: one self-contained page (no network: a CSP forbids it; no external scripts, styles or
 * fonts) showing a leak report: the summary, an icicle graph of leaked bytes by backtrace, the
 * sites by retained bytes (bytes when retained is unknown) with counts and kinds, each opening to
 * its objects (hex dump, file:line frames), and a filter box. Browser-safe (the demo builds it live).
 *
 * Invariant: the data is embedded once, as JSON in a non-executed script element, with `<` escaped
 * so no value can close the element.
 */
import { CLIENT_JS } from './client-script.js';
import { buildHtmlData, type ViewInput } from './view.js';

const CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .3em; } h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
#summary { font-weight: 600; }
#flame { position: relative; width: 100%; overflow: hidden; border: 1px solid #ddd; }
#flame .box { position: absolute; height: 17px; box-sizing: border-box; border-right: 1px solid #fff; border-bottom: 1px solid #fff;
  font: 11px/17px ui-monospace, monospace; padding: 0 3px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; cursor: pointer; }
#flame .box.hl { outline: 2px solid #1a4fd6; outline-offset: -2px; font-weight: 700; }
#filter { width: 28em; padding: .3em; }
#count { color: #666; margin-left: .6em; }
.site { border-top: 1px solid #eee; padding: .2em 0; }
.site summary { cursor: pointer; }
.site .title { font-family: ui-monospace, monospace; font-weight: 600; margin-right: .8em; }
.site .counts { color: #555; }
.obj { margin: .4em 0 .6em 1.2em; }
.objhead { font-family: ui-monospace, monospace; }
pre.hex { margin: .2em 0; background: #f6f6f6; padding: .3em .5em; display: inline-block; }
ol.frames { margin: .2em 0; font-family: ui-monospace, monospace; font-size: 12px; }
button.more, #more { margin: .4em 0; }
`;

const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The data as it goes inside <script type="application/json">: `<` escaped, so `</script>` cannot occur. */
function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function buildHtmlReport(input: ViewInput): string {
  const data = buildHtmlData(input);
  const name = escapeHtml(input.program);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>kmemleak: ${name}</title>
<style>${CSS}</style>
</head>
<body>
<h1>kmemleak: ${name}</h1>
<p id="summary"></p>
<h2>Leaked bytes by backtrace <small>(outermost frame at the top; click a box to filter)</small></h2>
<div id="flame"></div>
<h2>Sites</h2>
<input id="filter" type="search" placeholder="filter by function, file or title" aria-label="filter sites"><span id="count"></span>
<div id="sites"></div>
<button id="more" hidden></button>
<noscript>This report needs JavaScript to draw; its data is in the script element below.</noscript>
<script type="application/json" id="kml-data">${embedJson(data)}</script>
<script>${CLIENT_JS}</script>
</body>
</html>
`;
}
