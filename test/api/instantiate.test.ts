/**
 * The embedding API on a real instrumented module (fixtures/leaky.c): leaks found by scans asked
 * for from JS, comm, deferral of scans asked for while wasm runs, root regions from JS,
 * annotations by address, and the control file through the handle.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import kmemleak, { instantiate, type KmemleakHandle } from '../../src/api/index.js';
import { runCtl } from '../../src/cli/ctl.js';

const bytes = fs.readFileSync(path.join(__dirname, 'fixtures', 'leaky.wasm'));

interface Leaky {
  _initialize(): void;
  leak(n: number, size: number): void;
  keep(size: number): void;
  forget_kept(): void;
  give(size: number): number;
  release(p: number): void;
  with_callback(size: number): number;
  leak_then_callback(size: number): void;
}

async function load(callback: (h: KmemleakHandle) => void = () => {}) {
  const log: string[] = [];
  let h!: KmemleakHandle;
  h = await instantiate(bytes, { host: { callback: () => callback(h) } }, { minAgeMs: 0, scan: 'off', log: (l) => log.push(l) });
  const ex = h.exports as unknown as Leaky;
  ex._initialize();
  return { h, ex, log };
}

/** Two scans: kmemleak's checksum pass greys a block the first time its content is seen. */
async function scan2(h: KmemleakHandle): Promise<number> {
  return (await h.scan()) + (await h.scan());
}

describe('kmemleak.instantiate', () => {
  it('reports lost blocks with their backtrace and comm, not kept ones', async () => {
    const { h, ex, log } = await load();
    ex.keep(24);
    ex.leak(3, 40);
    expect(await scan2(h)).toBe(3);
    expect(log.some((l) => /kmemleak: 3 new suspected memory leaks/.test(l))).toBe(true);
    const leaks = h.leaks();
    expect(leaks.map((l) => l.size)).toEqual([40, 40, 40]);
    for (const l of leaks) {
      expect(l.comm).toBe('leak');
      const names = l.backtrace!.map((f) => f.function);
      expect(names).toContain('make_block');
      expect(names).toContain('leak');
      expect(names).not.toContain('malloc');
    }
    expect(h.read()).toMatch(/^unreferenced object 0x[0-9a-f]{8} \(size 40\):\n {2}comm "leak", pid 1/);
    expect(h.read()).toContain('4c 4c 4c 4c');
    expect(h.allocators).toContain('malloc');
  });

  it('blocks kept in static data are not reported until forgotten', async () => {
    const { h, ex } = await load();
    ex.keep(16);
    ex.keep(16);
    expect(await scan2(h)).toBe(0);
    ex.forget_kept();
    expect(await scan2(h)).toBe(2);
    expect(h.leaks().every((l) => l.comm === 'keep')).toBe(true);
  });

  it('a block only JS holds is reported unless its region is registered', async () => {
    const { h, ex } = await load();
    const p = ex.give(32);
    h.registerRoot(p, 32);
    expect(await scan2(h)).toBe(0);
    const q = ex.give(32);
    expect(await scan2(h)).toBe(1);
    expect(h.leaks()[0]!.address).toBe(q);
    ex.release(q);
    ex.release(p);
    expect(h.unregisterRoot(p)).toBe(true);
    expect(h.unregisterRoot(p)).toBe(false);
  });

  it('annotations by address: not_leak and ignore keep a lost block out of the report', async () => {
    const { h, ex } = await load();
    const a = ex.give(8);
    const b = ex.give(8);
    const c = ex.give(8);
    h.notLeak(a);
    h.ignore(b);
    expect(await scan2(h)).toBe(1);
    expect(h.leaks().map((l) => l.address)).toEqual([c]);
    expect(h.dump(c)).toMatch(/0x/);
  });

  it('a scan asked for while wasm runs waits for the outer call to return', async () => {
    const events: string[] = [];
    const { h, ex } = await load((hh) => {
      events.push(`callback comm=${hh.comm} inWasm=${hh.inWasm}`);
      void hh.scan().then((n) => events.push(`scan done: ${n}`));
      expect(hh.write('scan')).toBe('');
      events.push('callback returns');
    });
    // The block allocated by with_callback lives only in a wasm local while the host is called:
    // a scan at that moment would see it as lost. The deferred scans run after the call returns,
    // when it has been freed.
    ex.with_callback(64);
    events.push('call returned');
    await Promise.resolve();
    expect(events.slice(0, 3)).toEqual(['callback comm=with_callback inWasm=true', 'callback returns', 'call returned']);
    expect(h.leaks()).toEqual([]);
    expect(h.inWasm).toBe(false);
  });

  it('write() runs control commands; bad ones answer an error', async () => {
    const { h, ex } = await load();
    ex.leak(1, 12);
    expect(h.write('scan')).toBe('');
    expect(h.write('scan')).toBe('');
    expect(h.read()).toContain('(size 12)');
    expect(h.write('clear')).toBe('');
    expect(h.read()).toBe('');
    expect(h.write('bogus')).toBe('Invalid argument');
    expect(h.write('scan=off')).toBe('');
  });

  it('off: the module runs untouched and nothing is reported', async () => {
    const h = await instantiate(bytes, { host: { callback: () => {} } }, { off: true });
    const ex = h.exports as unknown as Leaky;
    ex._initialize();
    ex.leak(2, 8);
    expect(await h.scan()).toBe(0);
    expect(h.read()).toBe('');
  });

  it('accepts a Response and rejects what is not a module with one line', async () => {
    const h = await kmemleak.instantiate(new Response(bytes), { host: { callback: () => {} } }, { scan: 'off', log: () => {} });
    expect(typeof (h.exports as unknown as Leaky).leak).toBe('function');
    await expect(instantiate(new Uint8Array([1, 2, 3]), {})).rejects.toThrow(/^[^\n]+$/);
  });

  it('serves its control file on a Unix socket for kmemleak ctl, and close() removes it', async () => {
    const { h, ex } = await load();
    ex.leak(1, 20);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kml-api-'));
    const sock = path.join(dir, 'ctl.sock');
    await h.serveControl(sock);
    const io = { o: '', e: '', out: (t: string) => void (io.o += t), err: (t: string) => void (io.e += t) };
    expect(await runCtl(sock, ['scan'], io)).toBe(0);
    expect(await runCtl(sock, ['scan'], io)).toBe(0);
    expect(await runCtl(sock, [], io)).toBe(0);
    expect(io.o).toMatch(/^unreferenced object 0x[0-9a-f]{8} \(size 20\):\n {2}comm "leak"/);
    expect(await runCtl(sock, ['nonsense'], io)).toBe(1);
    await h.close();
    expect(fs.existsSync(sock)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
