/**
 * The "name" custom section: decode and encode.
 *
 * Why: allocator entry points are found by function name, the static layout uses global (7) and
 * data segment (9) names, and the rewriter must keep the section with shifted function indices.
 * A malformed name section is not a validation error in wasm (engines ignore it), so decoding it
 * reports a warning through the caller instead of failing the module.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import type { NameSection } from './types.js';

export function emptyNames(): NameSection {
  return {
    module: null,
    functions: new Map(),
    locals: new Map(),
    labels: new Map(),
    types: new Map(),
    tables: new Map(),
    memories: new Map(),
    globals: new Map(),
    elements: new Map(),
    data: new Map(),
    tags: new Map(),
    other: [],
  };
}

function nameMap(r: ByteReader, into: Map<number, string>): void {
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const idx = r.u32();
    into.set(idx, r.name());
  }
}

function indirectMap(r: ByteReader, into: Map<number, Map<number, string>>): void {
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const idx = r.u32();
    const m = new Map<number, string>();
    nameMap(r, m);
    into.set(idx, m);
  }
}

/** Decodes the name section content [start, end) (after the section's own name). */
export function decodeNames(bytes: Uint8Array, start: number, end: number): NameSection {
  const names = emptyNames();
  const r = new ByteReader(bytes, start, end);
  r.what = 'name section';
  while (r.pos < end) {
    const id = r.u8();
    const size = r.u32();
    const subStart = r.pos;
    const subEnd = subStart + size;
    if (subEnd > end) r.truncated();
    const s = new ByteReader(bytes, subStart, subEnd);
    s.what = 'name subsection';
    switch (id) {
      case 0: names.module = s.name(); break;
      case 1: nameMap(s, names.functions); break;
      case 2: indirectMap(s, names.locals); break;
      case 3: indirectMap(s, names.labels); break;
      case 4: nameMap(s, names.types); break;
      case 5: nameMap(s, names.tables); break;
      case 6: nameMap(s, names.memories); break;
      case 7: nameMap(s, names.globals); break;
      case 8: nameMap(s, names.elements); break;
      case 9: nameMap(s, names.data); break;
      case 11: nameMap(s, names.tags); break;
      default: names.other.push({ id, start: subStart, end: subEnd });
    }
    r.pos = subEnd;
  }
  return names;
}

function writeNameMap(w: ByteWriter, m: Map<number, string>): void {
  const keys = [...m.keys()].sort((a, b) => a - b);
  w.u32(keys.length);
  for (const k of keys) {
    w.u32(k);
    w.name(m.get(k)!);
  }
}

function writeIndirect(w: ByteWriter, m: Map<number, Map<number, string>>): void {
  const keys = [...m.keys()].sort((a, b) => a - b);
  w.u32(keys.length);
  for (const k of keys) {
    w.u32(k);
    writeNameMap(w, m.get(k)!);
  }
}

function sub(out: ByteWriter, id: number, body: ByteWriter): void {
  out.u8(id);
  out.u32(body.len);
  out.bytes(body.view());
}

/**
 * Encodes the content of a name section (without the section header and the "name" string).
 * Subsections appear in increasing id order, as the extended name section requires; empty maps
 * are omitted; undecoded subsections are copied from `original`.
 */
export function encodeNames(names: NameSection, original: Uint8Array | null): Uint8Array {
  const out = new ByteWriter(4096);
  const maps: Array<[number, Map<number, string>]> = [
    [1, names.functions],
    [4, names.types],
    [5, names.tables],
    [6, names.memories],
    [7, names.globals],
    [8, names.elements],
    [9, names.data],
    [11, names.tags],
  ];
  const indirect: Array<[number, Map<number, Map<number, string>>]> = [
    [2, names.locals],
    [3, names.labels],
  ];
  const ids = new Set<number>();
  if (names.module !== null) ids.add(0);
  for (const [id, m] of maps) if (m.size) ids.add(id);
  for (const [id, m] of indirect) if (m.size) ids.add(id);
  for (const o of names.other) ids.add(o.id);
  for (const id of [...ids].sort((a, b) => a - b)) {
    const body = new ByteWriter(256);
    if (id === 0) {
      body.name(names.module!);
    } else {
      const m = maps.find((e) => e[0] === id);
      const ind = indirect.find((e) => e[0] === id);
      if (m) writeNameMap(body, m[1]);
      else if (ind) writeIndirect(body, ind[1]);
      else {
        for (const o of names.other) {
          if (o.id === id && original) {
            body.bytes(original, o.start, o.end);
            break;
          }
        }
      }
    }
    sub(out, id, body);
  }
  return out.result();
}
