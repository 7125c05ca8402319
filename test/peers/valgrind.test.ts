/**
 * Valgrind's client requests through include/valgrind/{valgrind,memcheck}.h, end to end. The
 * expected blocks are the ones `valgrind --leak-check=full` lists as definitely lost for the same
 * sources built natively (test/fixtures/peers/build.sh --native), except where a comment says
 * how and why kmemleak differs.
 */
import { describe, expect, it } from 'vitest';
import { reported, runPeer } from './helpers.js';

const sizes = (err: string): number[] => reported(err).map((o) => o.size);

describe('MALLOCLIKE / FREELIKE / RESIZEINPLACE', () => {
  it('a custom allocator\'s blocks are tracked; its malloc\'d arena is not a block while it holds them', async () => {
    const r = await runPeer('vg_custom.wasm');
    expect(r.out).toBe('custom: running on valgrind: 1\n');          // RUNNING_ON_VALGRIND
    expect(sizes(r.err)).toEqual([40, 20]);                            // Memcheck: 40 and 20 definitely lost
    expect(reported(r.err)[0]!.fns[0]).toBe('arena_alloc');            // the request's caller
    expect(r.result.status).toBe(23);
  });

  it('with --off, RUNNING_ON_VALGRIND is 0 and nothing is reported', async () => {
    const r = await runPeer('vg_custom.wasm', [], { raw: { off: true } });
    expect(r.out).toBe('custom: running on valgrind: 0\n');
    expect(r.result.status).toBe(0);
  });
});

describe('mempools', () => {
  const cases: Array<[mode: string, out: string, leaked: number[]]> = [
    // a chunk lost, one kept, one freed; the superblock holding them is no leak
    ['basic', 'exists: 1\nbasic: done\n', [24]],
    // destroyed: its chunks go, and the superblock, its pointer lost, is the leak
    ['destroy', 'exists: 0\ndestroy: done\n', [1024]],
    // trimmed to [0,40): [0,16) referenced by P.super, [16,32) lost, [32,48) trimmed to 8 bytes
    // and lost, [48,64) dropped (Memcheck: 24 bytes in 2 blocks)
    ['trim', 'trim: done\n', [16, 8]],
    // MOVE_MEMPOOL renames the anchor, MEMPOOL_CHANGE moves and shrinks the chunk
    ['move', 'exists: P 0 Q 1\nmove: done\n', [12]],
    // a metapool: its lost 128-byte chunk (Memcheck also lists the 32-byte MALLOCLIKE block
    // inside it, and the kept 256-byte chunk, whose start is shared with a MALLOCLIKE block;
    // kmemleak's blocks never overlap, so a metapool's chunks are its blocks)
    ['metapool', 'metapool: done\n', [128]],
  ];
  for (const [mode, out, leaked] of cases) {
    it(mode, async () => {
      const r = await runPeer('vg_mempool.wasm', [mode]);
      expect(r.out).toBe(out);
      expect(sizes(r.err)).toEqual(leaked);
      expect(r.err).not.toMatch(/overlaps|unknown object|no memory pool|no chunk/);
    });
  }
});

describe('leak checks while the program runs', () => {
  it('DO_LEAK_CHECK, DO_ADDED_LEAK_CHECK, DO_QUICK_LEAK_CHECK; COUNT_LEAKS / COUNT_LEAK_BLOCKS from the last check', async () => {
    const r = await runPeer('vg_leakcheck.wasm');
    expect(r.out).toBe([
      'before any check: leaked 0 bytes in 0 blocks, dubious 0, suppressed 0',
      'full: leaked 10 bytes in 1 blocks, dubious 0, suppressed 0',
      'added: leaked 30 bytes in 2 blocks, dubious 0, suppressed 0',
      'quick: leaked 30 bytes in 2 blocks, dubious 0, suppressed 0',
      '',
    ].join('\n'));
    const checks = r.err.split(/^kmemleak: leak check: /m);
    expect(checks).toHaveLength(4);
    expect(sizes(checks[0]!)).toEqual([10]);     // full: every leak
    expect(sizes(checks[1]!)).toEqual([20]);     // added: the new one only
    expect(sizes(checks[2]!).length).toBe(0);    // quick: the summary only
    expect(r.err).toContain('kmemleak: leak check: definitely lost: 30 bytes in 2 blocks; still reachable: 100 bytes in 1 blocks');
    expect(sizes(checks[3]!)).toEqual([10, 20]); // and the exit check
  });
});

describe('a program with its own malloc and free', () => {
  it('is wrapped like libc\'s: its leak is found, its freed block is not reported', async () => {
    const r = await runPeer('own_malloc.wasm');
    expect(r.out).toBe('own_malloc: done (1 free)\n');
    expect(reported(r.err)).toEqual([{ size: 48, fns: expect.arrayContaining(['lose']) as unknown as string[] }]);
  });
});
