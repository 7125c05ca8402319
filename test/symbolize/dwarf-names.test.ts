/**
 * Function names from .debug_info when the compiler left no linkage name: DW_AT_name qualified by
 * the enclosing namespaces and classes, reached through DW_AT_specification or
 * DW_AT_abstract_origin, and functions whose code is given by DW_AT_ranges. clang always emits
 * linkage names for C++, so these DIEs are written by hand (DWARF 4, 4-byte addresses).
 */
import { describe, expect, it } from 'vitest';
import { Dwarf } from '../../src/symbolize/dwarf.js';

const str = (s: string): number[] => [...new TextEncoder().encode(s), 0];
const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

// Abbreviation codes.
const CU = 1, NS = 2, CLASS = 3, DECL = 4, SPEC = 5, RANGES = 6, ORIGIN = 7, LINKAGE = 8, ANON_NS = 9;

const abbrev = new Uint8Array([
  CU, 0x11, 1, 0x03, 0x08, 0x11, 0x01, 0, 0, // compile_unit: name string, low_pc addr
  NS, 0x39, 1, 0x03, 0x08, 0, 0, // namespace: name
  CLASS, 0x02, 1, 0x03, 0x08, 0, 0, // class_type: name
  DECL, 0x2e, 0, 0x03, 0x08, 0, 0, // subprogram declaration: name
  SPEC, 0x2e, 0, 0x47, 0x13, 0x11, 0x01, 0x12, 0x06, 0, 0, // specification ref4, low_pc, high_pc data4
  RANGES, 0x2e, 0, 0x03, 0x08, 0x55, 0x17, 0, 0, // name, ranges sec_offset
  ORIGIN, 0x2e, 0, 0x31, 0x13, 0x11, 0x01, 0x12, 0x06, 0, 0, // abstract_origin ref4, low_pc, high_pc
  LINKAGE, 0x2e, 0, 0x6e, 0x08, 0x03, 0x08, 0x11, 0x01, 0x12, 0x06, 0, 0, // linkage_name, name, low/high
  ANON_NS, 0x39, 1, 0, 0, // namespace without a name
  0,
]);

function buildInfo(): Uint8Array {
  const body: number[] = [];
  const header = 11; // unit_length 4, version 2, abbrev offset 4, address size 1
  const at = (): number => header + body.length;
  body.push(CU, ...str('a.cc'), ...u32(0));
  body.push(NS, ...str('outer'));
  body.push(CLASS, ...str('Widget'));
  const decl = at();
  body.push(DECL, ...str('grow'));
  body.push(0, 0); // end of class, end of namespace
  body.push(ANON_NS);
  const hidden = at();
  body.push(DECL, ...str('hidden'));
  body.push(0);
  body.push(SPEC, ...u32(decl), ...u32(0x100), ...u32(0x20));
  body.push(RANGES, ...str('split'), ...u32(0));
  body.push(ORIGIN, ...u32(hidden), ...u32(0x400), ...u32(0x10));
  body.push(LINKAGE, ...str('_ZN5outer6Widget6shrinkEv'), ...str('shrink'), ...u32(0x500), ...u32(0x10));
  body.push(SPEC, ...u32(decl), ...u32(0xffffffff), ...u32(0x10)); // a discarded copy: tombstone
  body.push(0);
  const unit = [...u32(7 + body.length), 4, 0, ...u32(0), 4, ...body];
  return new Uint8Array(unit);
}

// .debug_ranges: two ranges, then the end of the list.
const ranges = new Uint8Array([...u32(0x200), ...u32(0x210), ...u32(0x300), ...u32(0x320), ...u32(0), ...u32(0)]);

describe('DWARF names without linkage names', () => {
  const dwarf = new Dwarf({ info: buildInfo(), abbrev, ranges });

  it('a definition names its declaration, qualified by namespace and class', () => {
    expect(dwarf.functionNameAt(0x100)).toBe('outer::Widget::grow');
  });

  it('each range of a DW_AT_ranges function starts it', () => {
    expect(dwarf.functionNameAt(0x200)).toBe('split');
    expect(dwarf.functionNameAt(0x300)).toBe('split');
    expect(dwarf.functionNameAt(0x210)).toBeNull();
  });

  it('abstract_origin, and anonymous namespaces', () => {
    expect(dwarf.functionNameAt(0x400)).toBe('(anonymous namespace)::hidden');
  });

  it('a linkage name wins, demangled', () => {
    expect(dwarf.functionNameAt(0x500)).toBe('outer::Widget::shrink()');
  });

  it('only exact function starts match; tombstones never do', () => {
    expect(dwarf.functionNameAt(0x101)).toBeNull();
    expect(dwarf.functionNameAt(0)).toBeNull();
    expect(dwarf.functionNameAt(0xffffffff)).toBeNull();
  });

  it('a cycle of specifications ends', () => {
    // A subprogram whose specification points at itself.
    const self = new Uint8Array([...u32(7 + 11), 4, 0, ...u32(0), 4, CU, ...str('x'), ...u32(0), SPEC, ...u32(11 + 7), ...u32(0x10), ...u32(4), 0]);
    const d = new Dwarf({ info: self, abbrev });
    expect(d.functionNameAt(0x10)).toBeNull();
  });
});
