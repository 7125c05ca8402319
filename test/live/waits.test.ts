/**
 * Blocking WASI calls are safe points (issue 14, points 1 and 2): while waits.wasm sleeps, blocks
 * on its stdin (a socket, a real pipe) or polls it, control commands are answered and automatic
 * scans run, and the program's waits and input are unchanged. A read of the control file answers
 * at once even while the program computes without allocating. Timings are only checked loosely
 * here (the answer arrives while the program still waits); the figures are in bench/RESULTS.md.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleCli } from '../cli/helpers.js';
import { WAITS, sleep, startWaits, timed, type StdinKind } from './helpers.js';

let entry = '';
beforeAll(async () => { entry = await bundleCli(); });

describe('a sleeping program', () => {
  it('answers scan and read while it sleeps; its sleeps keep their length', async () => {
    const r = await startWaits(entry, ['--min-age', '0', '--scan=off'], ['sleep', '3', '1000']);
    await r.stdoutHas('slept', 10_000);
    // Between its first and second "slept" lines the program is inside nanosleep.
    const a = await timed(r.sock, 'scan');
    const b = await timed(r.sock, 'scan');
    const read = await timed(r.sock, '');
    const during = r.out().split('\n').filter(Boolean).length;
    expect(a.answer.ok && b.answer.ok && read.answer.ok).toBe(true);
    // The first scan says why it reports nothing yet; the second reports the lost block.
    expect(a.answer.text).toMatch(/^kmemleak: no new suspected memory leaks\n\(a block is reported by the second scan that finds it unreferenced/);
    expect(b.answer.text).toBe(`kmemleak: 1 new suspected memory leaks (see kmemleak ctl ${r.sock})\n`);
    expect(during).toBeLessThan(3);              // answered before the program woke up for good
    // Two scans: the first lost block is reported (kmemleak's checksum rule needs two).
    expect(read.answer.text).toContain('lost block 0');
    expect(await r.exited).toBe(23);
    const slept = r.out().trim().split('\n').map((l) => Number(l.split(' ')[1]));
    expect(slept).toHaveLength(3);
    for (const ms of slept) {
      expect(ms).toBeGreaterThanOrEqual(1000);
      expect(ms).toBeLessThan(1500);
    }
  }, 30_000);

  it('runs automatic scans on schedule while it sleeps', async () => {
    const r = await startWaits(entry, ['--min-age', '0', '--scan=1', '--first-scan', '0.2'], ['sleep', '2', '5000']);
    await r.stdoutHas('slept', 20_000);          // block 0 is lost from here on (block 1 took its place)
    // No command is sent: only the automatic scans (one a second) can report it, the second one
    // that finds it unreferenced. Reads do not scan.
    let text = '';
    for (let i = 0; i < 30 && !text.includes('lost block 0'); i++) {
      await sleep(100);
      text = (await timed(r.sock, '')).answer.text;
    }
    expect(text).toContain('lost block 0');
    expect(r.out().split('\n').filter(Boolean)).toHaveLength(1);   // still inside its second sleep
    expect(r.err()).toMatch(/^kmemleak: 1 new suspected memory leaks \(see kmemleak ctl /);
    expect(await r.exited).toBe(23);
  }, 40_000);
});

describe.each<StdinKind>(['socket', 'pipe'])('a program blocked on its stdin (%s)', (kind) => {
  it('answers while it waits for input, and reads every byte in order', async () => {
    const r = await startWaits(entry, ['--min-age', '0', '--scan=off'], ['lines'], kind);
    const lines = ['first line\n', 'second line\n', 'third line, ' + 'x'.repeat(200) + '\n'];
    r.child.stdin!.write(lines[0]);
    await r.stdoutHas(lines[0]!);
    r.child.stdin!.write(lines[1]);
    await r.stdoutHas(lines[1]!);                // line 1's copy is lost now (line 2's is held)
    await sleep(100);
    expect((await timed(r.sock, 'scan')).answer.ok).toBe(true);
    expect((await timed(r.sock, 'scan')).answer.ok).toBe(true);
    const read = await timed(r.sock, '');
    expect(read.answer.text, r.err()).toContain('first line');
    expect(read.answer.text).not.toContain('second line');
    r.child.stdin!.end(lines[2]);
    expect(await r.exited).toBe(23);
    expect(r.out()).toBe(lines.join(''));
  }, 30_000);

  it('poll(): timeouts and input as without kmemleak, commands answered meanwhile', async () => {
    const r = await startWaits(entry, ['--min-age', '0', '--scan=off'], ['poll', '300'], kind);
    await r.stdoutHas('timeout\n');
    expect((await timed(r.sock, 'scan')).answer.ok).toBe(true);
    r.child.stdin!.write('ping\n');
    await r.stdoutHas('ping\n');
    r.child.stdin!.end();
    expect(await r.exited).toBe(23);
    expect(r.out()).toMatch(/^(timeout\n)+ping\n(timeout\n)*$/);
  }, 30_000);
});

describe('bulk input', () => {
  it('a large input through a pipe arrives whole and in order (streaming reads)', async () => {
    const r = await startWaits(entry, ['--scan=off'], ['stdin'], 'pipe');
    let input = '';
    for (let i = 0; i < 20000; i++) input += `${i}\n`;
    r.child.stdin!.end(input);
    await r.exited;
    expect(r.out()).toBe(input);
  }, 30_000);
});

describe('a read never waits for the program', () => {
  it('answers from the last scan while the program computes without allocating', async () => {
    const r = await startWaits(entry, ['--min-age', '0', '--scan=off'], ['spin', '4000']);
    await sleep(200);                             // inside its 1 s sleep
    expect((await timed(r.sock, 'scan')).answer.ok).toBe(true);
    expect((await timed(r.sock, 'scan')).answer.ok).toBe(true);
    await r.stdoutHas('spinning\n');
    const read = await timed(r.sock, '');
    expect(read.answer.ok).toBe(true);
    expect(read.answer.text).toContain('lost before spin');
    expect(r.out()).toBe('spinning\n');         // answered while the program still computed
    await r.exited;
  }, 30_000);
});

describe('bin/kmemleak (the real entry, with its program thread)', () => {
  it('leaves the program\'s descriptors blocking, so its output through a socket arrives whole', async () => {
    const bin = fileURLToPath(new URL('../../bin/kmemleak', import.meta.url));
    const c = spawn(bin, ['run', '--scan=off', WAITS, 'stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    const closed = new Promise((r) => c.on('close', r));
    c.stdin.write('first\n');
    for (let i = 0; i < 400 && !out.includes('first\n'); i++) await sleep(25);
    // O_NONBLOCK (04000) on a descriptor the program shares would make its writes fail with
    // EAGAIN whenever the reader is slower than the program (Node streams set it on pipes).
    for (const fd of [0, 1, 2]) {
      const flags = /flags:\s*(\d+)/.exec(readFileSync(`/proc/${c.pid}/fdinfo/${fd}`, 'utf8'))![1]!;
      expect(parseInt(flags, 8) & 0o4000, `fd ${fd} flags ${flags}`).toBe(0);
    }
    let input = '';
    for (let i = 0; i < 20000; i++) input += `${i}\n`;
    c.stdin.end(input);
    await closed;
    expect(out).toBe('first\n' + input);
  }, 30_000);
});
