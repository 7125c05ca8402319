/**
 * The demanglers against the reference tools' output, committed by
 * test/fixtures/symbolize/build.sh: llvm-cxxfilt-14 for C++ (widget.cpp's DWARF linkage names,
 * cxx-names.cpp's symbols, a sample of libc++/libc++abi), rustc-demangle's alternate form
 * (rustfilt's output) for Rust legacy and v0 symbols.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanName, demangle, demangleItanium, demangleRust } from '../../src/symbolize/demangle/index.js';
import { fixtureText } from './helpers.js';

function pairs(file: string): [string, string][] {
  return fixtureText(file)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t') as [string, string]);
}

describe('C++ (Itanium) against llvm-cxxfilt-14', () => {
  const cases = pairs('cxx-names.txt');

  it('has the corpus names and enough variety', () => {
    expect(cases.length).toBeGreaterThan(1500);
    const out = cases.map((c) => c[1]).join('\n');
    for (const needle of ['make_widget(int)', 'Widget::Widget()', "'lambda'(", 'operator new', 'vtable for',
      'non-virtual thunk to', '[abi:cxx11]', '[enable_if:', 'std::nullptr_t', '(anonymous namespace)',
      '::*', '(*)(', '&&', '...', 'decltype(']) {
      expect(out, needle).toContain(needle);
    }
  });

  it('every name demangles exactly as llvm-cxxfilt does', () => {
    const wrong = cases.filter(([m, want]) => demangle(m) !== want);
    expect(wrong.slice(0, 10)).toEqual([]);
  });
});

describe('Rust against rustc-demangle (rustfilt)', () => {
  const cases = pairs('rust-names.txt');

  it('has legacy and v0 symbols', () => {
    expect(cases.filter(([m]) => m.startsWith('_ZN')).length).toBeGreaterThan(15);
    expect(cases.filter(([m]) => m.startsWith('_R')).length).toBeGreaterThan(500);
  });

  it('every symbol demangles exactly as rustc-demangle does, hash dropped', () => {
    const wrong = cases.filter(([m, want]) => demangle(m) !== want);
    expect(wrong.slice(0, 10)).toEqual([]);
  });

  it('legacy names keep no hash and decode their escapes', () => {
    expect(demangle('_ZN10rust_names13Grid$LT$_$GT$5count17h814a6b7e2985bb5dE')).toBe('rust_names::Grid<_>::count');
    // llvm-cxxfilt would have kept the hash: the Rust reading wins for Rust symbols.
    expect(demangleItanium('_ZN3foo3bar17h05af221e174051e9E')).toBe('foo::bar::h05af221e174051e9');
    expect(demangle('_ZN3foo3bar17h05af221e174051e9E')).toBe('foo::bar');
  });
});

describe('names from the name section', () => {
  it('finishes Rust legacy names wasm-ld demangled as C++', () => {
    expect(cleanName('rust_names::Grid$LT$_$GT$::count::h814a6b7e2985bb5d')).toBe('rust_names::Grid<_>::count');
    expect(cleanName('_$LT$$RF$T$u20$as$u20$core..fmt..Debug$GT$::fmt::h9dd06560a164987c')).toBe(
      '<&T as core::fmt::Debug>::fmt',
    );
  });

  it('leaves demangled C++ and plain names alone, demangles mangled ones', () => {
    for (const n of ['make_lost', 'std::__2::vector<int>::push_back(int const&)', 'operator new(unsigned long)', 'a::h12']) {
      expect(cleanName(n)).toBe(n);
    }
    expect(cleanName('_ZL11make_widgeti')).toBe('make_widget(int)');
    expect(cleanName('_RNvCsbmNqQUJIY6D_4core3foo')).toBe('core::foo');
  });
});

describe('unknown manglings come back unchanged, never a crash', () => {
  it('fixed cases', () => {
    for (const n of ['', 'main', '_Z', '_Zfoo', '_ZN3fooE_trailing', '_ZN3foo', '_R', '_RNotARustSymbol',
      '_ZN3foo17h05af221e174051e9', '_Z1fIiEvT0_', '_ZSt', '__Z', '_ZZ', '_ZTV', '_RB0_', '_RNvB0_3foo',
      '_Z3fooILb2EEvv', '_ZN1AC1Ev' + 'x', '_Z1fPFvvE' + 'Q']) {
      expect(demangle(n), n).toBe(n);
    }
  });

  it('deep nesting and exponential substitutions are bounded', () => {
    const deep = '_Z1f' + 'P'.repeat(100_000) + 'i';
    expect(demangle(deep)).toBe(deep);
    // f<A<int, int>, A<A<int, int>, A<int, int> >, ...>: level k repeats level k-1 twice through
    // a substitution (f is S_, level k's A is S<2k-3>_ and level k itself S<2k-2>_), so level
    // 40 would print 2^40 times.
    let m = '_Z1fI1AIiiE';
    for (let k = 2; k <= 40; k++) {
      const prev = `S${(2 * (k - 1) - 1).toString(36).toUpperCase()}_`;
      m += `1AI${prev}${prev}E`;
    }
    m += 'Evv';
    expect(demangleItanium('_Z1fI1AIiiE1AIS1_S1_EEvv')).toBe('void f<A<int, int>, A<A<int, int>, A<int, int> > >()');
    expect(demangle(m)).toBe(m);
    const rustDeep = '_RNv' + 'Nv'.repeat(10_000) + 'C3foo3bar';
    expect(demangle(rustDeep)).toBe(rustDeep);
    expect(demangleRust('_RNvB0_3foo')).toBeNull(); // a back-reference to itself
  });

  it('random strings and mutated real names never throw', () => {
    const real = pairs('cxx-names.txt').map((c) => c[0]).concat(pairs('rust-names.txt').map((c) => c[0]));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: real.length - 1 }), fc.nat(), fc.string({ maxLength: 4 }), (i, at, ins) => {
        const base = real[i]!;
        const p = at % (base.length + 1);
        for (const m of [base.slice(0, p), base.slice(0, p) + ins + base.slice(p + 1), base.slice(p)]) {
          const out = demangle(m);
          expect(typeof out).toBe('string');
        }
      }),
      { numRuns: 1500, seed: 42 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (tail) => {
        for (const prefix of ['_Z', '_ZN', '_R', '_RN', '_ZZ', '_ZT']) expect(typeof demangle(prefix + tail)).toBe('string');
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
