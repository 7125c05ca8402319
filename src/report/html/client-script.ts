/**
 * The HTML report's script, inlined into the page (no external scripts: the page must work from a
 * file, offline, under a CSP that forbids the network). Plain ES5-ish JavaScript in a string, so
 * the page needs no build step; it reads the data embedded once (view.ts's HtmlData) and renders
 * lazily: the icicle graph once, sites a page at a time, a site's objects only when it is opened.
 * Kept free of backquotes and dollar-brace so it can live in this template literal unescaped.
 */
export const CLIENT_JS = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('kml-data').textContent);
  var SITE_PAGE = 200, OBJECT_PAGE = 100, ROW = 18, MIN_WIDTH = 0.0005;
  var F = D.frames, T = D.traces, O = D.objects;
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function num(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function plural(n, one) { return num(n) + ' ' + one + (n === 1 ? '' : 's'); }
  function kinds(d, i) {
    return d < 0 ? 'kinds unknown: the report has no pointer graph' : num(d) + ' direct, ' + num(i) + ' indirect';
  }
  function frameText(id) {
    var f = F[id];
    return f[0] + (f[1] ? ' ' + f[1] + (f[2] ? ':' + f[2] : '') : '');
  }

  // Summary.
  var S = D.summary;
  $('summary').textContent = num(S.bytes) + ' bytes in ' + plural(S.leaks, 'object') + ' at ' + plural(S.sites, 'site') +
    ' (' + kinds(S.direct, S.indirect) + ')' +
    (S.suppressedObjects > 0 ? '; suppressed: ' + plural(S.suppressedObjects, 'object') + ', ' + num(S.suppressedBytes) + ' bytes' : '');

  // Icicle graph: the root is every leaked byte; each level down is one frame further in,
  // outermost frame first; a box's width is the bytes leaked below it.
  var root = { name: 'all', file: '', bytes: 0, kids: {}, list: [] };
  var sitePath = [];
  D.sites.forEach(function (s, i) {
    sitePath.push([]);
    if (s[7] === 2) return;
    var t = T[s[6]], node = root;
    root.bytes += s[2];
    for (var k = t.length - 1; k >= 0; k--) {
      var f = F[t[k]], key = f[0] + '\t' + f[1], child = node.kids[key];
      if (!child) {
        child = { name: f[0], file: f[1], bytes: 0, kids: {}, list: [] };
        node.kids[key] = child;
        node.list.push(child);
      }
      child.bytes += s[2];
      sitePath[i].push(child);
      node = child;
    }
  });
  var flame = $('flame'), depthMax = 0;
  function place(node, x, depth) {
    var w = root.bytes > 0 ? node.bytes / root.bytes : 0;
    if (depth > depthMax) depthMax = depth;
    if (w >= MIN_WIDTH || depth === 0) {
      var b = el('div', 'box', node.name);
      b.style.left = (x * 100) + '%';
      b.style.width = (w * 100) + '%';
      b.style.top = (depth * ROW) + 'px';
      b.title = node.name + (node.file ? ' (' + node.file + ')' : '') + ': ' + num(node.bytes) + ' bytes, ' +
        (root.bytes > 0 ? (100 * node.bytes / root.bytes).toFixed(1) : '0') + '%';
      b.style.background = depth === 0 ? '#bbb' : 'hsl(' + (10 + (hash(node.name) % 40)) + ',80%,' + (62 + (hash(node.file) % 14)) + '%)';
      if (depth > 0) b.onclick = function () { $('filter').value = node.name.replace(/ \[inline\]$/, ''); applyFilter(); };
      node.el = b;
      flame.appendChild(b);
    }
    node.list.sort(function (a, c) { return c.bytes - a.bytes; });
    var cx = x;
    node.list.forEach(function (c) {
      place(c, cx, depth + 1);
      cx += root.bytes > 0 ? c.bytes / root.bytes : 0;
    });
  }
  function hash(s) { var h = 0; for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0; return h; }
  place(root, 0, 0);
  flame.style.height = ((depthMax + 1) * ROW) + 'px';

  var lit = [];
  function highlight(i) {
    lit.forEach(function (b) { b.classList.remove('hl'); });
    lit = [];
    sitePath[i].forEach(function (n) { if (n.el) { n.el.classList.add('hl'); lit.push(n.el); } });
  }

  // Objects of a site, indexed on the first opening.
  var bySite = null;
  function objectsOf(i) {
    if (!bySite) {
      bySite = D.sites.map(function () { return []; });
      for (var j = 0; j < O.site.length; j++) if (O.site[j] >= 0) bySite[O.site[j]].push(j);
    }
    return bySite[i];
  }
  function hexDump(hex) {
    var out = '';
    for (var r = 0; r < hex.length; r += 32) {
      var row = hex.slice(r, r + 32), h = [], a = '';
      for (var k = 0; k < row.length; k += 2) {
        var v = parseInt(row.slice(k, k + 2), 16);
        h.push(row.slice(k, k + 2));
        a += v >= 0x20 && v <= 0x7e ? String.fromCharCode(v) : '.';
      }
      out += h.join(' ') + new Array(50 - h.join(' ').length).join(' ') + a + '\n';   // ASCII at column 49, as the kernel's hex_dump
    }
    return out;
  }
  var KIND = { d: 'direct', i: 'indirect', u: '' };
  function objectEl(j) {
    var box = el('div', 'obj');
    var kind = KIND[O.kind.charAt(j)];
    box.appendChild(el('div', 'objhead', 'unreferenced object ' + (O.addr[j] ? '0x' + O.addr[j] : '(address cut off)') +
      (O.size[j] >= 0 ? ' (size ' + O.size[j] + ')' : '') + (kind ? ', ' + kind : '')));
    if (O.hex[j]) box.appendChild(el('pre', 'hex', hexDump(O.hex[j])));
    var ol = el('ol', 'frames');
    T[O.trace[j]].forEach(function (id) { ol.appendChild(el('li', '', frameText(id))); });
    box.appendChild(ol);
    return box;
  }
  function showObjects(i, into) {
    var list = objectsOf(i), shown = 0;
    var more = el('button', 'more');
    function page() {
      var end = Math.min(list.length, shown + OBJECT_PAGE);
      for (; shown < end; shown++) into.insertBefore(objectEl(list[shown]), more);
      more.hidden = shown >= list.length;
      more.textContent = 'show ' + num(list.length - shown) + ' more objects';
    }
    more.onclick = page;
    into.appendChild(more);
    page();
  }
  var STATE = ['', 'in the baseline', 'suppressed'];
  function siteEl(i) {
    var s = D.sites[i];
    var d = el('details', 'site');
    d.dataset.site = String(i);
    var sum = el('summary');
    sum.appendChild(el('span', 'title', s[0]));
    sum.appendChild(el('span', 'counts', plural(s[1], 'object') + ', ' + num(s[2]) + ' bytes (' + kinds(s[3], s[4]) + ')' +
      (s[5] >= 0 ? ', retained ' + num(s[5]) + ' bytes' : '') + (s[7] ? ' \u2014 ' + STATE[s[7]] + (s[8] ? ' by ' + s[8] : '') : '')));
    d.appendChild(sum);
    var body = el('div', 'objects');
    d.appendChild(body);
    sum.onmouseenter = function () { highlight(i); };
    d.addEventListener('toggle', function () {
      if (d.open) highlight(i);
      if (d.open && !body.firstChild) showObjects(i, body);
    });
    return d;
  }

  // Sites, a page at a time, filtered.
  var list = $('sites'), moreSites = $('more'), matches = [], shownSites = 0;
  function pageSites() {
    var end = Math.min(matches.length, shownSites + SITE_PAGE);
    for (; shownSites < end; shownSites++) list.appendChild(siteEl(matches[shownSites]));
    moreSites.hidden = shownSites >= matches.length;
    moreSites.textContent = 'show ' + num(matches.length - shownSites) + ' more sites';
    $('count').textContent = matches.length === D.sites.length ? plural(D.sites.length, 'site') : num(matches.length) + ' of ' + plural(D.sites.length, 'site');
  }
  moreSites.onclick = pageSites;
  function siteMatches(i, q) {
    var s = D.sites[i];
    if (s[0].toLowerCase().indexOf(q) >= 0) return true;
    return T[s[6]].some(function (id) { return (F[id][0] + ' ' + F[id][1]).toLowerCase().indexOf(q) >= 0; });
  }
  function applyFilter() {
    var q = $('filter').value.trim().toLowerCase();
    matches = [];
    for (var i = 0; i < D.sites.length; i++) if (!q || siteMatches(i, q)) matches.push(i);
    list.textContent = '';
    shownSites = 0;
    pageSites();
  }
  var timer = 0;
  $('filter').addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(applyFilter, 80); });
  applyFilter();
  if (D.sites.length > 0) highlight(0);
})();
`;
