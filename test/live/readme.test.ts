/**
 * The README's examples of live use print what they show (issue 14, point 4): the embedding
 * snippet, run as written against the built package (dist/, which `npm test` builds first), and
 * the control-file session, run as written against bin/kmemleak. kmemleak's checksum rule (a new
 * block is reported by the second scan that finds it unreferenced) is kept; the examples scan
 * twice, and a first scan's answer says why it reports nothing.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sleep } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const BIN = join(ROOT, 'bin', 'kmemleak');

describe('README', () => {
  it('the embedding snippet prints the leak it shows', () => {
    const block = /```js\n([\s\S]*?)```/.exec(README.slice(README.indexOf('## Embedding')))![1]!;
    expect(block).toContain("from 'kmemleak'");
    const api = pathToFileURL(join(ROOT, 'dist', 'api', 'index.js')).href;
    const file = join(mkdtempSync(join(tmpdir(), 'kml-readme-')), 'snippet.mjs');
    writeFileSync(file, block.replace("from 'kmemleak'", `from '${api}'`));
    const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^unreferenced object 0x[0-9a-f]{8} \(size 40\):\n {2}comm "leak", pid 1, jiffies \d+\n/);
    expect(r.stdout.match(/^unreferenced object/gm)).toHaveLength(1);   // not the registered one
  });

  it('the exitReport snippet prints the exit report it shows, after the program\'s own output', () => {
    const block = /```js\n([\s\S]*?)```/.exec(README.slice(README.indexOf('**The exit report (`exitReport`).**')))![1]!;
    const api = pathToFileURL(join(ROOT, 'dist', 'api', 'index.js')).href;
    const file = join(mkdtempSync(join(tmpdir(), 'kml-readme-')), 'exit-report.mjs');
    writeFileSync(file, block.replace("from 'kmemleak'", `from '${api}'`).replace('createRequire(import.meta.url)', `createRequire(${JSON.stringify(join(ROOT, 'x.js'))})`));
    const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('leaks: done\n');
    for (const shown of block.split('\n').filter((l) => l.startsWith('// kmemleak') || l.startsWith('// unreferenced'))) {
      const line = shown.slice(3).split(' ...')[0]!;
      expect(r.stderr).toContain(line);
    }
    expect(r.stderr.match(/^unreferenced object/gm)).toHaveLength(2);
  });

  it('the control-file session prints what its comments show', async () => {
    const lines = README.split('\n').filter((l) => l.startsWith('    kmemleak ') && l.includes('/tmp/app.kml'));
    expect(lines).toHaveLength(4);
    const sock = join(mkdtempSync(join(tmpdir(), 'kml-readme-')), 'app.kml');
    const words = (l: string) => l.replace(/#.*$/, '').replace('&', '').trim().split(/\s+/).slice(1).map((w) => (w === '/tmp/app.kml' ? sock : w));
    const child = spawn(BIN, words(lines[0]!), { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const exited = new Promise((r) => child.on('close', r));
    try {
      // Two blocks lost (one a second), as a user typing the commands would find.
      for (let i = 0; i < 400 && !(existsSync(sock) && out.split('slept').length > 2); i++) await sleep(25);
      const ctl = (l: string) => spawnSync(BIN, words(l), { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
      const first = ctl(lines[1]!);
      expect(first.stdout).toMatch(/^kmemleak: no new suspected memory leaks\n\(a block is reported by the second scan that finds it /);
      const second = ctl(lines[2]!);
      expect(second.stdout).toMatch(new RegExp(`^kmemleak: [1-9]\\d* new suspected memory leaks \\(see kmemleak ctl ${sock}\\)\\n$`));
      const read = ctl(lines[3]!);
      expect(read.stdout).toMatch(/^unreferenced object 0x[0-9a-f]{8} \(size 48\):/);
      expect(read.stdout).toContain('lost block 0');
    } finally {
      child.kill();
      await exited;
    }
  }, 40_000);
});
