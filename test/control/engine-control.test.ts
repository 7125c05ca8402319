/**
 * The control file with the real engine over a real Unix socket: `kmemleak ctl` reads the report,
 * writes scan/clear/dump=, and bad commands come back as errors while the program goes on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { Kmemleak } from '../../src/engine/index.js';
import { serveControl, engineHandler, type ControlServer } from '../../src/control/server.js';
import { controlCommand, controlRequest } from '../../src/control/client.js';
import { runCtl } from '../../src/cli/ctl.js';
import { tempDir } from './helpers.js';

const servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** An engine over a 64 KiB "memory": a root word at 0x100, objects at 0x1000 and 0x2000. */
function engine() {
  const log: string[] = [];
  const k = new Kmemleak({ minAgeMs: 0, log: (l) => log.push(l), scanPeriodSecs: 0, reportLocation: 'the control file' });
  const mem = new ArrayBuffer(65536);
  const u32 = new Uint32Array(mem);
  k.attachMemory(() => mem);
  k.setRootProvider((add) => add(0x100, 0x104));
  const trace = k.depot.save(new Uint32Array([3, 0x40, 1, 0x20]), 4);
  k.alloc(0x1000, 64, 1, trace); // referenced from the root
  k.alloc(0x2000, 32, 1, trace); // lost
  u32[0x100 / 4] = 0x1000;
  new Uint8Array(mem, 0x2000, 4).set([0x6c, 0x6f, 0x73, 0x74]);
  return { k, log };
}

async function served() {
  const { k, log } = engine();
  const p = path.join(tempDir(), 'k.sock');
  servers.push(await serveControl(p, engineHandler(k), { cleanupOnSignal: false }));
  return { k, log, p };
}

function io() {
  const r = { o: '', e: '', out: (t: string) => void (r.o += t), err: (t: string) => void (r.e += t) };
  return r;
}

describe('control file with the engine', () => {
  it('scan through the socket, then read the report', async () => {
    const { p, log } = await served();
    expect((await controlCommand(p, '')).text).toBe('');
    // kmemleak's checksum pass: a block whose content changed since the previous scan (the first
    // scan counts as a change) is greyed once, so it takes two scans to report it.
    const w = io();
    expect(await runCtl(p, ['scan'], w)).toBe(0);
    expect(log.join('\n')).not.toMatch(/new suspected/);
    expect(await runCtl(p, ['scan'], w)).toBe(0);
    expect(w.o).toBe('');
    expect(log.join('\n')).toMatch(/kmemleak: 1 new suspected memory leaks/);
    const r = io();
    expect(await runCtl(p, [], r)).toBe(0);
    expect(r.o).toMatch(/^unreferenced object 0x00002000 \(size 32\):/);
    expect(r.o).toContain('6c 6f 73 74');
    expect(r.o).not.toContain('0x00001000');
  });

  it('clear hides reported objects from the next read', async () => {
    const { p } = await served();
    await controlRequest(p, ['scan', 'scan']);
    expect((await controlCommand(p, '')).text).toContain('0x00002000');
    expect(await controlCommand(p, 'clear')).toEqual({ ok: true, text: '' });
    expect((await controlCommand(p, '')).text).toBe('');
  });

  it('dump= answers the object information; an unknown address is an error', async () => {
    const { p } = await served();
    const d = await controlCommand(p, 'dump=0x1000');
    expect(d.ok).toBe(true);
    expect(d.text).toMatch(/0x00001000/);
    const w = io();
    expect(await runCtl(p, ['dump=0x9000'], w)).toBe(1);
    expect(w.e).toMatch(/^kmemleak: dump=0x9000: Invalid argument\n$/);
  });

  it('a bad command is an error answer and the program keeps serving', async () => {
    const { p } = await served();
    const w = io();
    expect(await runCtl(p, ['frobnicate'], w)).toBe(1);
    expect(w.e).toBe('kmemleak: frobnicate: Invalid argument\n');
    expect((await controlCommand(p, 'stack=off')).ok).toBe(true);
    expect((await controlCommand(p, 'scan=off')).ok).toBe(true);
    expect((await controlRequest(p, ['scan', 'scan'])).every((a) => a.ok)).toBe(true);
    expect((await controlCommand(p, '')).text).toContain('0x00002000');
  });

  it('after off, writes answer busy', async () => {
    const { p } = await served();
    expect((await controlCommand(p, 'off')).ok).toBe(true);
    const a = await controlCommand(p, 'scan');
    expect(a).toEqual({ ok: false, text: 'Device or resource busy' });
  });
});
