/**
 * The rewriter: every fixture and corpus program rewrites to a module that validates (V8, and
 * binaryen as a second validator), behaves the same, records each C-level allocation once with
 * its size, keeps its custom sections and names; allocator lookup and its errors.
 */
import { describe, expect, it } from 'vitest';
import binaryen from 'binaryen';
import { instrument, AllocatorNotFoundError, WasmFormatError, WasmUnsupportedError } from '../../src/wasm/instrument/index.js';
import { demangleOperator } from '../../src/wasm/instrument/allocators.js';
import { parseModule, ByteReader, SEC_CUSTOM } from '../../src/wasm/binary/index.js';
import { fixture, validFixtures, runWasi, eventLines, saidLines } from './helpers.js';

/** Modules binaryen 132 cannot read (legacy exception handling): validated by V8 only. */
const BINARYEN_UNREADABLE = new Set(['features.wasm']);
/** WASI commands we can run (not the hand-written features module, which has its own test). */
const wasiPrograms = validFixtures().filter((f) => f !== 'features.wasm' && !f.startsWith('calloc.linkopt') &&
  !f.startsWith('malloc_free.stripped') && f !== 'custom_pool.wasm');

function customSections(bytes: Uint8Array): Map<string, Uint8Array> {
  const m = parseModule(bytes);
  const out = new Map<string, Uint8Array>();
  for (const c of m.customs) out.set(c.name!, bytes.slice(c.start, c.end));
  return out;
}

function binaryenValid(bytes: Uint8Array): boolean {
  const mod = binaryen.readBinary(bytes);
  try {
    mod.setFeatures(binaryen.Features.All);
    return mod.validate() !== 0;
  } finally {
    mod.dispose();
  }
}

describe('rewritten modules validate and keep their custom sections', () => {
  for (const name of validFixtures()) {
    if (name.includes('linkopt') || name.includes('stripped') || name === 'custom_pool.wasm') continue;
    it(name, () => {
      const original = fixture(name);
      const r = instrument(original);
      expect(WebAssembly.validate(r.binary)).toBe(true);
      if (!BINARYEN_UNREADABLE.has(name)) expect(binaryenValid(r.binary)).toBe(true);
      const before = customSections(original);
      const after = customSections(r.binary);
      for (const [sec, bytes] of before) {
        if (sec === 'name') continue;
        expect(after.get(sec), sec).toEqual(bytes);
      }
      expect([...after.keys()]).toEqual([...before.keys()]);
    });
  }
});

describe('names', () => {
  it('keeps every function name at its shifted index and names the additions', () => {
    const original = fixture('corpus/widget.wasm');
    const r = instrument(original);
    const a = parseModule(original).names!;
    const b = parseModule(r.binary).names!;
    for (const [i, n] of a.functions) expect(b.functions.get(r.newFunction(i))).toBe(n);
    for (const [i, locals] of a.locals) expect(b.locals.get(r.newFunction(i))).toEqual(locals);
    expect(b.globals.get(0)).toBe('__stack_pointer');
    expect([...b.data.values()]).toEqual([...a.data.values()]);
    const malloc = r.allocators.find((x) => x.name === 'malloc')!;
    expect(b.functions.get(malloc.wrapper)).toBe('kmemleak_wrap_malloc');
    expect(b.functions.get(parseModule(original).importedFuncCount)).toBe('kmemleak_hook_alloc');
  });
});

describe('each C-level allocation is recorded once, with its size; output unchanged', () => {
  for (const name of wasiPrograms) {
    it(name, () => {
      const original = fixture(name);
      const r = instrument(original);
      const before = runWasi(original);
      const after = runWasi(r.binary);
      expect(after.stdout).toBe(before.stdout);
      expect(after.exitCode).toBe(before.exitCode);
      expect(String(after.trap)).toBe(String(before.trap));
      const said = saidLines(after.stdout);
      if (said.length) expect(eventLines(after.events)).toEqual(said);
      // never a free of something not allocated, never two live blocks at one address
      const live = new Set<number>();
      for (const line of eventLines(after.events)) {
        const [k, p] = line.split(' ');
        if (k === 'A') {
          expect(live.has(Number(p)), line).toBe(false);
          live.add(Number(p));
        } else {
          expect(live.delete(Number(p)), line).toBe(true);
        }
      }
    });
  }
});

describe('allocator edge cases', () => {
  const events = (name: string): string[] => eventLines(runWasi(instrument(fixture(name)).binary).events);
  const printed = (name: string): string => runWasi(instrument(fixture(name)).binary).stdout;

  it('malloc(0) returning non-null is a block of size 0; free(NULL) records nothing', () => {
    const ev = events('malloc_free.wasm');
    expect(ev.filter((l) => / 0$/.test(l) && l.startsWith('A'))).toHaveLength(1);
    expect(ev.filter((l) => l === 'F 0')).toHaveLength(0);
    expect(ev).toHaveLength(5);
  });
  it('calloc records n*m once (not its inner malloc)', () => {
    expect(events('calloc.wasm').filter((l) => l.startsWith('A')).map((l) => l.split(' ')[2])).toEqual(['96', '1']);
  });
  it('realloc(NULL, n) is an allocation of n', () => {
    const r = runWasi(instrument(fixture('realloc_null.wasm')).binary);
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({ kind: 'realloc', old: 0, size: 40 });
  });
  it('realloc(p, 0) frees p', () => {
    const ev = events('realloc_zero.wasm');
    expect(ev[1]).toMatch(/^F /);
    expect(ev[1]!.slice(2)).toBe(ev[0]!.split(' ')[1]);
  });
  it('a failed realloc keeps the old block and records nothing', () => {
    const ev = events('realloc_fail.wasm');
    expect(printed('realloc_fail.wasm')).toContain('failed 1');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatch(/^A \d+ 50$/);
  });
  it('realloc that moves or shrinks: old gone, new size', () => {
    const ev = events('realloc_move.wasm');
    expect(ev.filter((l) => l.startsWith('A')).map((l) => l.split(' ')[2])).toEqual(['16', '16', '5000', '8']);
    expect(ev.filter((l) => l.startsWith('F'))).toHaveLength(2);
  });
  it('posix_memalign records *out only when it succeeds', () => {
    const r = runWasi(instrument(fixture('posix_memalign.wasm')).binary);
    expect(r.stdout).toContain('rc 0 1');
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({ kind: 'alloc', size: 200 });
    expect(r.events[0]!.ptr % 64).toBe(0);
  });
  it('aligned_alloc takes its size from the second argument', () => {
    const ev = events('aligned_alloc.wasm');
    expect(ev[0]).toMatch(/^A \d+ 96$/);
  });
  it('C++ new/new[]/nothrow new and delete/delete[] go through the malloc/free wrappers once', () => {
    const r = instrument(fixture('cxx_new.wasm'));
    expect(r.allocators.map((a) => a.name).sort()).toEqual(['free', 'malloc']);
    const ev = eventLines(runWasi(r.binary).events);
    expect(ev.filter((l) => l.startsWith('A')).map((l) => l.split(' ')[2])).toEqual(['24', '40', '24']);
  });
});

describe('C++ allocation functions that do not reach malloc', () => {
  it('are found by their demangled names too, as wasm-ld writes them (llvm-cxxfilt spelling)', () => {
    expect(demangleOperator('_Znwm')).toBe('operator new(unsigned long)');
    expect(demangleOperator('_ZnajRKSt9nothrow_t')).toBe('operator new[](unsigned int, std::nothrow_t const&)');
    expect(demangleOperator('_ZdlPvmSt11align_val_t')).toBe('operator delete(void*, unsigned long, std::align_val_t)');
    expect(demangleOperator('_ZdaPvSt11align_val_tRKSt9nothrow_t')).toBe(
      'operator delete[](void*, std::align_val_t, std::nothrow_t const&)');
    expect(demangleOperator('malloc')).toBe('malloc');
  });
  it('are wrapped themselves (a replaced operator new on an arena)', () => {
    const r = instrument(fixture('cxx_custom_new.wasm'));
    expect(r.allocators.map((a) => [a.name, a.family])).toEqual([['_Znwm', 'cxx'], ['_ZdlPv', 'cxx']]);
    const run = runWasi(r.binary);
    expect(eventLines(run.events)).toEqual(saidLines(run.stdout));
    expect(run.events.map((e) => e.kind)).toEqual(['alloc', 'alloc', 'free']);
  });
});

describe('finding the allocator', () => {
  it('by the name section', () => {
    const r = instrument(fixture('corpus/simple.wasm'));
    expect(r.allocators.map((a) => [a.name, a.source])).toEqual([['malloc', 'name-section'], ['free', 'name-section']]);
  });
  it('by DWARF when the name section was removed', () => {
    const named = instrument(fixture('realloc_move.wasm'));
    const r = instrument(fixture('realloc_move.nonames.wasm'));
    expect(r.allocators.map((a) => [a.name, a.index, a.source])).toEqual(
      named.allocators.map((a) => [a.name, a.index, 'dwarf']));
    const run = runWasi(r.binary);
    expect(eventLines(run.events)).toEqual(saidLines(run.stdout));
  });
  it('wasm-opt release link (names gone, DWARF code addresses zeroed): dlmalloc found by its code shape', () => {
    const named = instrument(fixture('calloc.wasm'));
    expect(instrument(fixture('calloc.linkopt.wasm')).allocators.map((a) => [a.name, a.index, a.source])).toEqual(
      named.allocators.map((a) => [a.name, a.index, 'shape']));
  });
  it('by --allocator with function indices on a fully stripped binary', () => {
    const named = instrument(fixture('malloc_free.wasm'));
    const idx = (n: string): number => named.allocators.find((a) => a.name === n)!.index;
    const r = instrument(fixture('malloc_free.stripped.wasm'), { allocator: { malloc: idx('malloc'), free: String(idx('free')) } });
    expect(r.allocators.map((a) => a.source)).toEqual(['option', 'option']);
    const run = runWasi(r.binary);
    expect(eventLines(run.events)).toEqual(saidLines(run.stdout));
  });
  it('by --allocator with names for a custom pool', () => {
    const r = instrument(fixture('custom_pool.wasm'), { allocator: { malloc: 'pool_get', free: 'pool_put' } });
    const run = runWasi(r.binary);
    expect(eventLines(run.events)).toEqual(saidLines(run.stdout));
    expect(run.events).toHaveLength(3);
  });
  it('--allocator errors are one line', () => {
    expect(() => instrument(fixture('custom_pool.wasm'), { allocator: { malloc: 'nope' } })).toThrow(
      /^--allocator malloc=nope: no function named 'nope'/);
    expect(() => instrument(fixture('custom_pool.wasm'), { allocator: { bogus: 'pool_get' } })).toThrow(
      /^unknown allocator kind 'bogus'/);
    expect(() => instrument(fixture('custom_pool.wasm'), { allocator: { free: 'pool_get' } })).toThrow(
      /has type \(i32\) -> \(i32\), expected 1 i32 parameter\(s\) and no result/);
    expect(() => instrument(fixture('custom_pool.wasm'), { allocator: { malloc: 99999 } })).toThrow(/no function with index 99999/);
  });
  it('a program annotating its own allocator needs no malloc', () => {
    const r = instrument(fixture('corpus/annotated_pool.wasm'));
    expect(r.allocators).toEqual([]);
    expect(r.hooks).toEqual([]);
    expect(WebAssembly.validate(r.binary)).toBe(true);
  });
  it('refuses to instrument twice', () => {
    const once = instrument(fixture('corpus/simple.wasm')).binary;
    expect(() => instrument(once)).toThrow(WasmUnsupportedError);
  });
});

describe('exports for the runtime', () => {
  it('exports the stack pointer, the depth and context globals and reset; memory stays exported', () => {
    const original = fixture('corpus/simple.wasm');
    const r = instrument(original);
    expect(r.exports).toEqual({ memory: 'memory', stackPointer: '__kmemleak_stack_pointer', depth: '__kmemleak_depth',
      context: '__kmemleak_ctx', reset: '__kmemleak_reset',
      eventLog: { pos: '__kmemleak_log_pos', end: '__kmemleak_log_end', start: '__kmemleak_log_start',
        knownBase: '__kmemleak_known_base', knownMask: '__kmemleak_known_mask', rawMalloc: '__kmemleak_raw_malloc' } });
    const run = runWasi(r.binary);
    const init = parseModule(original).globals[0]!.init.value;
    expect(init.kind).toBe('i32');
    // _start returned: the stack pointer is back at its initial value
    expect((run.instance.exports['__kmemleak_stack_pointer'] as WebAssembly.Global).value).toBe((init as { value: number }).value);
    expect((run.instance.exports['__kmemleak_depth'] as WebAssembly.Global).value).toBe(0);
    expect(r.stats.entryTrampolines).toBe(1); // _start
  });
  it('exports the memory when the module did not', () => {
    const r = instrument(fixture('features.wasm'));
    expect(r.exports.memory).toBe('memory');
    const m = parseModule(r.binary);
    expect(m.exports.filter((e) => e.kind === 2).map((e) => e.name)).toEqual(['memory']);
  });
});

describe('the hand-written features module', () => {
  const instantiate = (bytes: Uint8Array<ArrayBuffer>, hooks: Record<string, (...a: number[]) => void>,
    imported: (x: number) => number = (x) => x * 2): WebAssembly.Instance =>
    new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { imported, g_imported: new WebAssembly.Global({ value: 'i32' }, 11) },
      // flush: the event log's hook, never called while its table base is 0 (fast path off)
      __kmemleak_hooks: { flush: () => { throw new Error('flush with the fast path off'); }, ...hooks },
    } as unknown as WebAssembly.Imports);

  it('computes the same, and its toy allocator is wrapped (nested calls not recorded)', () => {
    const original = fixture('features.wasm');
    const r = instrument(original);
    const run0 = instantiate(original, {});
    const ev: string[] = [];
    const run1 = instantiate(r.binary, {
      alloc: (p, s) => { ev.push(`A ${p} ${s}`); },
      free: (p) => { ev.push(`F ${p}`); },
      realloc: (o, n, s) => { ev.push(`R ${o} ${n} ${s}`); },
    });
    const a = (run0.exports['run'] as () => number)();
    const b = (run1.exports['run'] as () => number)();
    expect(b).toBe(a);
    expect(ev).toEqual(['A 70000 24', 'A 70032 12', 'R 70000 70048 100', 'A 70160 64', 'F 70048']);
    expect(r.allocators.map((x) => x.name)).toEqual(['malloc', 'calloc', 'realloc', 'free', 'posix_memalign']);
  });

  it('host calls start from a fresh context; re-entry from an import keeps the caller\'s', () => {
    const r = instrument(fixture('features.wasm'));
    const session = (reenter: boolean): bigint[] => {
      const ctx: bigint[] = [];
      let inst: WebAssembly.Instance | null = null;
      inst = instantiate(r.binary, {
        alloc: (_p, _s, lo, hi) => { ctx.push((BigInt(hi! >>> 0) << 32n) | BigInt(lo! >>> 0)); },
        free: () => {}, realloc: () => {},
      }, (x) => {
        if (reenter) (inst!.exports['malloc'] as (n: number) => number)(4);
        return x * 2;
      });
      const malloc = inst.exports['malloc'] as (n: number) => number;
      malloc(8);
      (inst.exports['run'] as () => number)();
      malloc(8); // without the entry trampoline this would see the last call site's context
      return ctx;
    };
    const plain = session(false);
    expect(plain).toHaveLength(5); // malloc, run: malloc, calloc, posix_memalign, malloc
    expect(plain[0]).toBe(0n);
    expect(plain.slice(1, 4)).not.toContain(0n);
    expect(plain[4]).toBe(0n);
    const again = session(true);
    expect(again).toHaveLength(6);
    const reentered = again[4]!; // run -> imported (JS) -> malloc
    expect(again.slice(0, 4)).toEqual(plain.slice(0, 4));
    expect(reentered).not.toBe(0n);
    expect(plain).not.toContain(reentered);
  });

  it('reset() clears what a trap left behind', () => {
    const r = instrument(fixture('features.wasm'));
    const inst = instantiate(r.binary, {
      alloc: () => { throw new Error('hook failure'); }, free: () => {}, realloc: () => {},
    });
    expect(() => (inst.exports['run'] as () => number)()).toThrow('hook failure');
    const level = inst.exports[r.exports.depth] as WebAssembly.Global;
    (inst.exports[r.exports.reset] as () => void)();
    expect(level.value).toBe(0);
    expect((inst.exports[r.exports.context!] as WebAssembly.Global).value).toBe(0n);
  });
});

describe('bad input', () => {
  it('is a one-line WasmFormatError', () => {
    for (const [bytes, msg] of [
      [fixture('bad_magic.wasm'), 'not a wasm module (bad magic)'],
      [fixture('text.wasm'), 'not a wasm module (bad magic)'],
      [fixture('truncated.wasm'), 'truncated function section at offset 0x10f'],
    ] as const) {
      expect(() => instrument(bytes)).toThrow(WasmFormatError);
      expect(() => instrument(bytes)).toThrow(msg);
    }
  });
  it('custom section payloads are byte-identical (DWARF relies on the original offsets)', () => {
    const original = fixture('corpus/many.wasm');
    const out = instrument(original).binary;
    const find = (b: Uint8Array, name: string): Uint8Array => {
      const m = parseModule(b);
      const c = m.customs.find((x) => x.name === name)!;
      const r = new ByteReader(b, c.contentStart, c.end);
      r.name();
      return b.slice(r.pos, c.end);
    };
    for (const s of ['.debug_info', '.debug_line', '.debug_str', '.debug_abbrev', 'producers']) {
      expect(find(out, s)).toEqual(find(original, s));
    }
    expect(parseModule(out).customs.every((c) => c.id === SEC_CUSTOM)).toBe(true);
  });
});
