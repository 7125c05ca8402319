/**
 * The decoded shape of a wasm module, as byte ranges into the original file plus the few decoded
 * values the rewriter and the layout need.
 *
 * Why ranges and not a tree: the rewriter keeps everything it does not change byte-identical
 * (function bodies are copied, custom sections untouched), and every consumer must be able to
 * name module offsets exactly (V8 prints them, DWARF is relative to them).
 *
 * Invariants: all offsets are absolute module offsets; `end` is exclusive; function and global
 * indices are in the index space (imports first).
 */

export const SEC_CUSTOM = 0;
export const SEC_TYPE = 1;
export const SEC_IMPORT = 2;
export const SEC_FUNCTION = 3;
export const SEC_TABLE = 4;
export const SEC_MEMORY = 5;
export const SEC_GLOBAL = 6;
export const SEC_EXPORT = 7;
export const SEC_START = 8;
export const SEC_ELEMENT = 9;
export const SEC_CODE = 10;
export const SEC_DATA = 11;
export const SEC_DATACOUNT = 12;
export const SEC_TAG = 13;

export const KIND_FUNC = 0;
export const KIND_TABLE = 1;
export const KIND_MEMORY = 2;
export const KIND_GLOBAL = 3;
export const KIND_TAG = 4;

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export const FUNCREF = 0x70;
export const EXTERNREF = 0x6f;

export interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  /** Offset of the first content byte (after the size, and for custom sections before the name). */
  contentStart: number;
  end: number;
  /** Custom sections only. */
  name?: string;
}

export interface FuncType {
  /** Value type bytes; typed references keep only their 0x63/0x64 byte. */
  params: number[];
  results: number[];
}

export interface TableType {
  refType: number;
  min: number;
  max: number | null;
}

export interface MemoryType {
  min: number;
  max: number | null;
  shared: boolean;
  memory64: boolean;
}

export interface GlobalType {
  valType: number;
  mutable: boolean;
}

export type ConstValue =
  | { kind: 'i32'; value: number }
  | { kind: 'i64'; value: bigint }
  | { kind: 'global.get'; index: number }
  | { kind: 'ref.func'; index: number }
  | { kind: 'ref.null' }
  | { kind: 'other' };

export interface ConstExpr {
  /** First instruction byte. */
  start: number;
  /** After the terminating `end`. */
  end: number;
  value: ConstValue;
}

export interface Import {
  module: string;
  name: string;
  kind: number;
  /** Function or tag imports: type index. */
  typeIndex: number;
  table?: TableType;
  memory?: MemoryType;
  global?: GlobalType;
  start: number;
  end: number;
}

export interface Global {
  /** Index in the global index space. */
  index: number;
  type: GlobalType;
  init: ConstExpr;
  start: number;
  end: number;
}

export interface Export {
  name: string;
  kind: number;
  index: number;
  start: number;
  end: number;
}

export interface ElementSegment {
  flags: number;
  mode: 'active' | 'passive' | 'declarative';
  table: number;
  offset: ConstExpr | null;
  /** Reference type of expression forms, or the elemkind byte (0 = funcref) of index forms. */
  type: number;
  /** Index forms (flags 0-3). */
  funcIndices: number[] | null;
  /** Expression forms (flags 4-7). */
  exprs: ConstExpr[] | null;
  start: number;
  end: number;
}

export interface DataSegment {
  index: number;
  mode: 'active' | 'passive';
  memory: number;
  offset: ConstExpr | null;
  /** Payload range. */
  dataStart: number;
  dataEnd: number;
  start: number;
  end: number;
}

export interface LocalGroup {
  count: number;
  type: number;
}

export interface FunctionBody {
  /** Function index (imports first). */
  index: number;
  /** Offset of the body-size LEB. */
  start: number;
  /** First byte after the size: the local declarations. */
  bodyStart: number;
  /** First instruction. */
  codeStart: number;
  end: number;
  locals: LocalGroup[];
  /** Number of declared locals (params excluded). */
  localCount: number;
}

export interface NameSection {
  module: string | null;
  functions: Map<number, string>;
  locals: Map<number, Map<number, string>>;
  labels: Map<number, Map<number, string>>;
  types: Map<number, string>;
  tables: Map<number, string>;
  memories: Map<number, string>;
  globals: Map<number, string>;
  elements: Map<number, string>;
  data: Map<number, string>;
  tags: Map<number, string>;
  /** Subsections we do not decode (kept as raw bytes by the rewriter). */
  other: Array<{ id: number; start: number; end: number }>;
}

export interface WasmModule {
  bytes: Uint8Array;
  sections: Section[];
  types: FuncType[];
  imports: Import[];
  importedFuncCount: number;
  importedTableCount: number;
  importedMemoryCount: number;
  importedGlobalCount: number;
  importedTagCount: number;
  /** Type index of each defined function. */
  functions: number[];
  tables: TableType[];
  memories: MemoryType[];
  globals: Global[];
  exports: Export[];
  start: number | null;
  elements: ElementSegment[];
  dataCount: number | null;
  data: DataSegment[];
  bodies: FunctionBody[];
  tags: number[];
  customs: Section[];
  names: NameSection | null;
  /** Problems that do not stop decoding (a malformed name section, ...). */
  warnings: string[];
}
