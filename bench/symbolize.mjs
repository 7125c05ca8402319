// Symbolizer benchmarks (run after `npx tsc -p tsconfig.json`): what it costs to open a binary,
// to decode its DWARF on first use, to symbolize a frame afterwards, and to demangle. Uses the
// committed fixtures of test/fixtures/symbolize. Prints a Markdown section and, with --write,
// replaces the "## Symbolizer" section of bench/RESULTS.md (other sections are left alone).
//
//   node bench/symbolize.mjs [--write]
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Symbolizer, demangle } from '../dist/symbolize/index.js';
import { readModule } from '../dist/symbolize/module.js';

const fixtures = fileURLToPath(new URL('../test/fixtures/symbolize/', import.meta.url));
const lines = [];
const out = (s) => {
  lines.push(s);
  console.log(s);
};
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const time = (f) => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};

/** Function bodies (funcIndex, start, size), read with a minimal parser. */
function bodies(bytes) {
  let pos = 8;
  const leb = () => {
    let v = 0, s = 0, b;
    do { b = bytes[pos++]; v += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80);
    return v;
  };
  let imported = 0;
  const list = [];
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = leb();
    const end = pos + size;
    if (id === 2) {
      const n = leb();
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < 2; j++) { const n = leb(); pos += n; }
        const k = bytes[pos++];
        if (k === 0) { leb(); imported++; } else if (k === 1) { pos++; const f = bytes[pos++]; leb(); if (f & 1) leb(); } else if (k === 2) { const f = bytes[pos++]; leb(); if (f & 1) leb(); } else pos += 2;
      }
    } else if (id === 10) {
      const n = leb();
      for (let i = 0; i < n; i++) { const sz = leb(); list.push([imported + i, pos, sz]); pos += sz; }
    }
    pos = end;
  }
  return list;
}

out('## Symbolizer');
out('');
out(`Machine: ${cpus()[0].model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}. ` +
  `Command: \`npx tsc -p tsconfig.json && node bench/symbolize.mjs\`. Date: 2026-11-22. Medians of 15 runs.`);
out('');
out('| binary | size | DWARF | open (sections) | first frame (decodes all DWARF) | frame after (per call) | names from |');
out('|---|---|---|---|---|---|---|');
for (const name of ['simple.names.wasm', 'simple.dwarf.wasm', 'widget.dwarf.wasm', 'simple.none.wasm']) {
  const bytes = new Uint8Array(readFileSync(fixtures + name));
  const list = bodies(bytes);
  const probes = list.map(([f, s, n]) => [f, s + (n >>> 1)]);
  const open = [], first = [], per = [];
  let sym;
  for (let r = 0; r < 15; r++) {
    open.push(time(() => { sym = Symbolizer.fromBinarySync(bytes); }));
    first.push(time(() => sym.frame(probes[0][0], probes[0][1])));
    const rounds = 20;
    const t = time(() => {
      for (let k = 0; k < rounds; k++) for (const [f, o] of probes) sym.frame(f, o);
    });
    per.push((t * 1e6) / (rounds * probes.length));
  }
  let dwarf = 0;
  for (const [k, v] of readModule(bytes).custom) if (k.startsWith('.debug_')) dwarf += v.length;
  out(`| ${name} | ${(bytes.length / 1024).toFixed(0)} KiB | ${(dwarf / 1024).toFixed(0)} KiB | ${median(open).toFixed(2)} ms | ${median(first).toFixed(2)} ms | ` +
    `${median(per).toFixed(0)} ns | ${sym.sources().join(', ') || 'nothing'} |`);
}

const names = readFileSync(fixtures + 'cxx-names.txt', 'utf8').trim().split('\n').map((l) => l.split('\t')[0]);
const rust = readFileSync(fixtures + 'rust-names.txt', 'utf8').trim().split('\n').map((l) => l.split('\t')[0]);
const rate = (list) => {
  const runs = [];
  for (let r = 0; r < 15; r++) runs.push(time(() => { for (const n of list) demangle(n); }));
  return (median(runs) * 1e3) / list.length;
};
out('');
out(`Demangling: ${rate(names).toFixed(1)} µs per C++ name (${names.length} names from libc++ and the corpus, ` +
  `mean length ${(names.reduce((a, n) => a + n.length, 0) / names.length).toFixed(0)}), ` +
  `${rate(rust).toFixed(1)} µs per Rust name (${rust.length} symbols).`);
out('');
out('The first binary also pays the JIT warm-up. Nothing here runs while the program runs: frames are ' +
  'symbolized when a report is printed, and names are cached per function.');

if (process.argv.includes('--write')) {
  const file = fileURLToPath(new URL('RESULTS.md', import.meta.url));
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const section = lines.join('\n') + '\n';
  const re = /## Symbolizer\n[\s\S]*?(?=\n## |$)/;
  writeFileSync(file, re.test(text) ? text.replace(re, section.trimEnd() + '\n') : text.trimEnd() + '\n\n' + section);
}
