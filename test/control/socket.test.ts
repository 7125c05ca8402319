/**
 * The control socket itself: framing, ordering, errors, stale sockets, lifetime (child processes).
 * The engine-backed tests are in engine-control.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { serveControl, engineHandler, openControlServers, type ControlServer } from '../../src/control/server.js';
import { controlCommand, controlRequest } from '../../src/control/client.js';
import { AnswerParser, LineSplitter, encodeAnswer } from '../../src/control/protocol.js';
import { runCtl } from '../../src/cli/ctl.js';
import { bundleForNode, tempDir } from './helpers.js';

const servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function fakeTarget() {
  const writes: string[] = [];
  return {
    writes,
    write(cmd: string): string {
      writes.push(cmd);
      return cmd === 'scan' || cmd === 'clear' ? '' : `unknown command "${cmd}"`;
    },
    read: () => 'unreferenced object 0x00010000 (size 8):\n',
  };
}

async function serve(dir: string, t = fakeTarget()) {
  const p = path.join(dir, 'ctl.sock');
  const s = await serveControl(p, engineHandler(t), { cleanupOnSignal: false });
  servers.push(s);
  return { p, s, t };
}

function capture() {
  const io = { o: '', e: '', out: (x: string) => void (io.o += x), err: (x: string) => void (io.e += x) };
  return io;
}

describe('protocol', () => {
  it('splits lines, keeps an unterminated tail, and reads on an empty connection', () => {
    const l = new LineSplitter();
    expect(l.push(Buffer.from('sc'))).toEqual([]);
    expect(l.push(Buffer.from('an\r\n\nclear'))).toEqual(['scan', '']);
    expect(l.end()).toBe('clear');
    const e = new LineSplitter();
    expect(e.end()).toBe('');
    const t = new LineSplitter();
    t.push(Buffer.from('scan\n'));
    expect(t.end()).toBeNull();
  });

  it('rejects an overlong line', () => {
    const l = new LineSplitter();
    expect(l.push(Buffer.alloc(70 * 1024, 0x61))).toBeNull();
  });

  it('parses answers split anywhere, bodies holding newlines and non-ASCII', () => {
    const bytes = Buffer.concat([
      encodeAnswer({ ok: true, text: 'a\nb\n' }),
      encodeAnswer({ ok: false, text: 'héllo' }),
      encodeAnswer({ ok: true, text: '' }),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const p = new AnswerParser();
      const got = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))];
      expect(got).toEqual([
        { ok: true, text: 'a\nb\n' },
        { ok: false, text: 'héllo' },
        { ok: true, text: '' },
      ]);
    }
  });

  it('refuses a stream that is not ours', () => {
    expect(() => new AnswerParser().push(Buffer.from('HTTP/1.1 200 OK\r\n'))).toThrow(/not a kmemleak control socket/);
  });
});

describe('control server', () => {
  it('answers a read and writes commands to the target', async () => {
    const { p, t } = await serve(tempDir());
    expect(await controlCommand(p, '')).toEqual({ ok: true, text: 'unreferenced object 0x00010000 (size 8):\n' });
    expect(await controlCommand(p, 'scan')).toEqual({ ok: true, text: '' });
    expect(t.writes).toEqual(['scan']);
  });

  it('answers a bad command with an error and keeps serving', async () => {
    const { p } = await serve(tempDir());
    const a = await controlCommand(p, 'bogus');
    expect(a.ok).toBe(false);
    expect(a.text).toContain('bogus');
    expect((await controlCommand(p, '')).ok).toBe(true);
  });

  it('turns a throwing handler into an error answer', async () => {
    const p = path.join(tempDir(), 's');
    servers.push(
      await serveControl(p, (cmd) => {
        if (cmd === 'boom') throw new Error('engine failed\nsecond line');
        return { ok: true, text: cmd };
      }, { cleanupOnSignal: false }),
    );
    expect(await controlCommand(p, 'boom')).toEqual({ ok: false, text: 'engine failed' });
    expect(await controlCommand(p, 'x')).toEqual({ ok: true, text: 'x' });
  });

  it('answers several commands on one connection in order, even when handlers finish out of order', async () => {
    const p = path.join(tempDir(), 's');
    servers.push(
      await serveControl(p, async (cmd) => {
        if (cmd === 'slow') await new Promise((r) => setTimeout(r, 50));
        return { ok: true, text: cmd || 'read' };
      }, { cleanupOnSignal: false }),
    );
    const answers = await controlRequest(p, ['slow', 'fast', '']);
    expect(answers.map((a) => a.text)).toEqual(['slow', 'fast', 'read']);
  });

  it('serializes commands across connections', async () => {
    const p = path.join(tempDir(), 's');
    let inside = 0;
    let maxInside = 0;
    servers.push(
      await serveControl(p, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
        return { ok: true, text: '' };
      }, { cleanupOnSignal: false }),
    );
    await Promise.all(Array.from({ length: 8 }, () => controlCommand(p, 'scan')));
    expect(maxInside).toBe(1);
  });

  it('works with a raw client that just writes and half-closes (nc -U)', async () => {
    const { p } = await serve(tempDir());
    const raw = await new Promise<string>((resolve, reject) => {
      const c = net.connect(p);
      let got = '';
      c.on('data', (d) => (got += d.toString()));
      c.on('end', () => resolve(got));
      c.on('error', reject);
      c.end('scan\n');
    });
    expect(raw).toBe('ok 0\n');
  });

  it('removes its socket on close', async () => {
    const { p, s } = await serve(tempDir());
    expect(fs.existsSync(p)).toBe(true);
    await s.close();
    expect(fs.existsSync(p)).toBe(false);
    expect(openControlServers()).toBe(0);
  });

  it('replaces a stale socket but refuses a live one and a regular file', async () => {
    const dir = tempDir();
    const p = path.join(dir, 'ctl.sock');
    // A stale socket: a process bound it and was killed, so no cleanup ran.
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(p)}, () => process.stdout.write('up'))`,
    ]);
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(fs.lstatSync(p).isSocket()).toBe(true);
    const s = await serveControl(p, engineHandler(fakeTarget()), { cleanupOnSignal: false });
    servers.push(s);
    expect((await controlCommand(p, '')).ok).toBe(true);
    await expect(serveControl(p, engineHandler(fakeTarget()))).rejects.toThrow(/already serves it/);
    const f = path.join(dir, 'file');
    fs.writeFileSync(f, 'keep me');
    await expect(serveControl(f, engineHandler(fakeTarget()))).rejects.toThrow(/not a socket/);
    expect(fs.readFileSync(f, 'utf8')).toBe('keep me');
    await expect(serveControl(path.join(dir, 'no', 'such', 'dir'), engineHandler(fakeTarget()))).rejects.toThrow(
      /directory does not exist/,
    );
  });
});

describe('kmemleak ctl', () => {
  it('prints a read and exits 0', async () => {
    const { p } = await serve(tempDir());
    const io = capture();
    expect(await runCtl(p, [], io)).toBe(0);
    expect(io.o).toBe('unreferenced object 0x00010000 (size 8):\n');
    expect(io.e).toBe('');
  });

  it('exits non-zero with the error text on a bad command', async () => {
    const { p } = await serve(tempDir());
    const io = capture();
    expect(await runCtl(p, ['bogus', 'words'], io)).toBe(1);
    expect(io.e).toMatch(/^kmemleak: bogus words: unknown command "bogus words"\n$/);
  });

  it('refuses an empty command instead of reading (the kernel answers EINVAL), asking nothing', async () => {
    const { p, t } = await serve(tempDir());
    for (const words of [[''], ['  ', '']]) {
      const io = capture();
      expect(await runCtl(p, words, io)).toBe(1);
      expect(io.o).toBe('');
      expect(io.e).toBe('kmemleak: an empty control command (to read the report, give no command)\n');
    }
    expect(t.writes).toEqual([]);
  });

  it('says clearly that nothing listens', async () => {
    const dir = tempDir();
    const io = capture();
    expect(await runCtl(path.join(dir, "none.sock"), ["scan"], io)).toBe(3);
    expect(io.e).toMatch(/^kmemleak: nothing listens at .*none\.sock/);
    const f = path.join(dir, 'plain');
    fs.writeFileSync(f, '');
    const io2 = capture();
    expect(await runCtl(f, [], io2)).toBe(3);
    expect(io2.e).toBe(`kmemleak: ${f} is not a socket (kmemleak run --control PATH makes one)\n`);
  });
});

describe('lifetime in a real process', () => {
  let script = '';
  async function child(args: string[]) {
    if (!script) script = await bundleForNode(path.join(__dirname, 'child-serve.ts'), tempDir('kml-bundle-'));
    return spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  function waitExit(c: ReturnType<typeof spawn>) {
    return new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      c.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  it('does not keep the program alive and removes the socket at exit', async () => {
    const p = path.join(tempDir(), 'ctl.sock');
    const c = await child([p, 'exit']);
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    const r = await waitExit(c);
    expect(out).toBe('ready true\n');
    expect(r.code).toBe(0);
    expect(fs.existsSync(p)).toBe(false);
  });

  it('serves while the program runs and removes the socket when SIGTERM kills it', async () => {
    const p = path.join(tempDir(), 'ctl.sock');
    const c = await child([p, 'serve']);
    await new Promise<void>((r) => c.stdout!.once('data', () => r()));
    expect(await controlCommand(p, '')).toEqual({ ok: true, text: 'child report\n' });
    const done = waitExit(c);
    c.kill('SIGTERM');
    const r = await done;
    expect(r.signal).toBe('SIGTERM');
    expect(fs.existsSync(p)).toBe(false);
  });
});
