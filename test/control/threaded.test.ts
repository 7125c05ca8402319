/**
 * The threaded control file: a program that holds the JS thread (as `kmemleak run` does while
 * _start runs) still answers, through poll() called from its hooks; a program that never reaches
 * a hook gets a clear error instead of a hang. The programs are child processes.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { controlCommand, controlRequest } from '../../src/control/client.js';
import { serveControlThreaded } from '../../src/control/threaded.js';
import { startRunControl } from '../../src/control/run-control.js';
import { bundleForNode, tempDir } from './helpers.js';

let script = '';
async function child(p: string, mode: string) {
  if (!script) script = await bundleForNode(path.join(__dirname, 'child-busy.ts'), tempDir('kml-bundle-'));
  const c = spawn(process.execPath, [script, p, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  await new Promise<void>((resolve) => {
    const check = () => (out.includes('ready') ? resolve() : c.stdout!.once('data', check));
    check();
  });
  const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
  return { c, exited, output: () => out };
}

describe('threaded control file', () => {
  it('answers while the program holds its thread, and goes away when it exits', async () => {
    const p = path.join(tempDir(), 'busy.sock');
    const { exited, output } = await child(p, 'poll');
    expect(await controlCommand(p, 'scan')).toEqual({ ok: true, text: '' });
    const bad = await controlCommand(p, 'bogus');
    expect(bad.ok).toBe(false);
    expect(bad.text).toBe('unknown command "bogus"');
    const answers = await controlRequest(p, ['scan', '']);
    expect(answers).toEqual([
      { ok: true, text: '' },
      { ok: true, text: 'busy report after 3 writes\n' },
    ]);
    expect(await controlCommand(p, 'quit')).toEqual({ ok: true, text: '' });
    expect(await exited).toBe(0);
    expect(output()).toContain('quit');
    expect(fs.existsSync(p)).toBe(false);
  });

  it('answers an error when the program does not reach a hook in time, then serves again', async () => {
    const p = path.join(tempDir(), 'stuck.sock');
    const { exited } = await child(p, 'stuck');
    const a = await controlCommand(p, '');
    expect(a.ok).toBe(false);
    expect(a.text).toMatch(/did not reach a point where kmemleak can answer/);
    // Once the program polls again, commands work (retry until it is past its stuck phase).
    let answer = await controlCommand(p, '');
    for (let i = 0; i < 20 && !answer.ok; i++) answer = await controlCommand(p, '');
    expect(answer.ok).toBe(true);
    expect((await controlCommand(p, 'quit')).ok).toBe(true);
    expect(await exited).toBe(0);
    expect(fs.existsSync(p)).toBe(false);
  });

  it('serves on the event loop of an idle program too, and refuses a path in use', async () => {
    const p = path.join(tempDir(), 'idle.sock');
    const s = await serveControlThreaded(p, (cmd) => ({ ok: true, text: `got ${cmd || 'read'}` }), {
      cleanupOnSignal: false,
    });
    try {
      expect(await controlCommand(p, 'scan')).toEqual({ ok: true, text: 'got scan' });
      expect(await controlCommand(p, '')).toEqual({ ok: true, text: 'got read' });
      await expect(serveControlThreaded(p, () => ({ ok: true, text: '' }))).rejects.toThrow(/already serves it/);
    } finally {
      await s.close();
    }
    expect(fs.existsSync(p)).toBe(false);
  });

  it('startRunControl: the seam for kmemleak run hands the runtime a poll function', async () => {
    const p = path.join(tempDir(), 'run.sock');
    const writes: string[] = [];
    let poll: (() => void) | null = null;
    const stop = await startRunControl(
      p,
      {
        write: (c) => (writes.push(c), c === 'scan' ? '' : 'Invalid argument'),
        read: () => 'report\n',
        onPoll: (f) => (poll = f),
      },
      { cleanupOnSignal: false },
    );
    expect(typeof poll).toBe('function');
    expect(await controlCommand(p, 'scan')).toEqual({ ok: true, text: '' });
    expect(await controlCommand(p, 'nope')).toEqual({ ok: false, text: 'Invalid argument' });
    expect(await controlCommand(p, '')).toEqual({ ok: true, text: 'report\n' });
    poll!(); // nothing pending: a no-op
    expect(writes).toEqual(['scan', 'nope']);
    await stop();
    await stop();
    expect(fs.existsSync(p)).toBe(false);
  });
});
