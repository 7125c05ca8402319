/**
 * Immediate layouts of every wasm opcode we decode: MVP, sign-extension, saturating truncation and
 * bulk memory (0xFC), reference types, SIMD and relaxed SIMD (0xFD), threads/atomics (0xFE),
 * exception handling (legacy try/catch and try_table), tail calls, typed function references.
 *
 * Why a table: the instruction walker must step over every instruction exactly (a wrong length
 * would corrupt the rewrite and the offset map), so the immediate shape of each opcode is data, in
 * one place, checked against the specs' opcode lists. GC (0xFB) and string opcodes are absent on
 * purpose: the walker reports them as unsupported rather than guessing their length.
 */

/** Immediate kinds. */
export const enum Imm {
  Invalid = 0,
  None,
  BlockType,
  /** One u32 (function, local, global, table, tag, label, type, data or elem index). */
  U32,
  /** Two u32 (call_indirect type+table, table.copy, table.init, memory.init, memory.copy). */
  U32x2,
  BrTable,
  MemArg,
  I32,
  I64,
  F32,
  F64,
  /** select with a vector of value types. */
  SelectT,
  HeapType,
  TryTable,
  /** One raw byte (atomic.fence, SIMD lane index). */
  Byte,
  /** memarg followed by a lane byte. */
  MemArgLane,
  /** 16 raw bytes (v128.const, i8x16.shuffle). */
  V128,
  /** br_on_cast-like forms are GC and unsupported; kept for clarity of errors. */
}

function table(entries: Array<[number, number, Imm]>): Uint8Array {
  const t = new Uint8Array(256);
  for (const [lo, hi, kind] of entries) for (let i = lo; i <= hi; i++) t[i] = kind;
  return t;
}

/** Single-byte opcodes. 0xFC, 0xFD and 0xFE are prefixes handled separately. */
export const SINGLE: Uint8Array = table([
  [0x00, 0x01, Imm.None], // unreachable, nop
  [0x02, 0x04, Imm.BlockType], // block, loop, if
  [0x05, 0x05, Imm.None], // else
  [0x06, 0x06, Imm.BlockType], // try (legacy EH)
  [0x07, 0x07, Imm.U32], // catch tag
  [0x08, 0x08, Imm.U32], // throw tag
  [0x09, 0x09, Imm.U32], // rethrow depth
  [0x0a, 0x0a, Imm.None], // throw_ref
  [0x0b, 0x0b, Imm.None], // end
  [0x0c, 0x0d, Imm.U32], // br, br_if
  [0x0e, 0x0e, Imm.BrTable],
  [0x0f, 0x0f, Imm.None], // return
  [0x10, 0x10, Imm.U32], // call
  [0x11, 0x11, Imm.U32x2], // call_indirect type table
  [0x12, 0x12, Imm.U32], // return_call
  [0x13, 0x13, Imm.U32x2], // return_call_indirect
  [0x14, 0x15, Imm.U32], // call_ref, return_call_ref (type index)
  [0x18, 0x18, Imm.U32], // delegate depth
  [0x19, 0x19, Imm.None], // catch_all
  [0x1a, 0x1b, Imm.None], // drop, select
  [0x1c, 0x1c, Imm.SelectT],
  [0x1f, 0x1f, Imm.TryTable],
  [0x20, 0x24, Imm.U32], // local.get/set/tee, global.get/set
  [0x25, 0x26, Imm.U32], // table.get/set
  [0x28, 0x3e, Imm.MemArg], // loads and stores
  [0x3f, 0x40, Imm.U32], // memory.size, memory.grow (memory index)
  [0x41, 0x41, Imm.I32],
  [0x42, 0x42, Imm.I64],
  [0x43, 0x43, Imm.F32],
  [0x44, 0x44, Imm.F64],
  [0x45, 0xc4, Imm.None], // numeric, sign-extension
  [0xd0, 0xd0, Imm.HeapType], // ref.null
  [0xd1, 0xd1, Imm.None], // ref.is_null
  [0xd2, 0xd2, Imm.U32], // ref.func
  [0xd3, 0xd4, Imm.None], // ref.eq, ref.as_non_null
  [0xd5, 0xd6, Imm.U32], // br_on_null, br_on_non_null
]);

export const OP_CALL = 0x10;
export const OP_CALL_INDIRECT = 0x11;
export const OP_RETURN_CALL = 0x12;
export const OP_RETURN_CALL_INDIRECT = 0x13;
export const OP_CALL_REF = 0x14;
export const OP_RETURN_CALL_REF = 0x15;
export const OP_REF_FUNC = 0xd2;
export const OP_END = 0x0b;
export const OP_I32_CONST = 0x41;
export const OP_I64_CONST = 0x42;
export const OP_GLOBAL_GET = 0x23;
export const PREFIX_FC = 0xfc;
export const PREFIX_SIMD = 0xfd;
export const PREFIX_ATOMIC = 0xfe;

/** 0xFC sub-opcodes 0..17. */
export function fcImm(sub: number): Imm {
  if (sub <= 7) return Imm.None; // trunc_sat
  switch (sub) {
    case 8: return Imm.U32x2; // memory.init data mem
    case 9: return Imm.U32; // data.drop
    case 10: return Imm.U32x2; // memory.copy mem mem
    case 11: return Imm.U32; // memory.fill mem
    case 12: return Imm.U32x2; // table.init elem table
    case 13: return Imm.U32; // elem.drop
    case 14: return Imm.U32x2; // table.copy
    case 15: case 16: case 17: return Imm.U32; // table.grow/size/fill
    default: return Imm.Invalid;
  }
}

/** 0xFD sub-opcodes (SIMD 0..0xFF, relaxed SIMD 0x100..0x113). */
export function simdImm(sub: number): Imm {
  if (sub <= 0x0b) return Imm.MemArg; // v128.load*, v128.store
  if (sub === 0x0c || sub === 0x0d) return Imm.V128; // v128.const, i8x16.shuffle
  if (sub >= 0x15 && sub <= 0x22) return Imm.Byte; // extract/replace lane
  if (sub >= 0x54 && sub <= 0x5b) return Imm.MemArgLane; // load/store lane
  if (sub === 0x5c || sub === 0x5d) return Imm.MemArg; // load32_zero, load64_zero
  if (sub <= 0xff) return Imm.None;
  if (sub >= 0x100 && sub <= 0x113) return Imm.None; // relaxed SIMD
  return Imm.Invalid;
}

/** 0xFE sub-opcodes (threads). */
export function atomicImm(sub: number): Imm {
  if (sub <= 0x02) return Imm.MemArg; // notify, wait32, wait64
  if (sub === 0x03) return Imm.Byte; // atomic.fence 0x00
  if (sub >= 0x10 && sub <= 0x4e) return Imm.MemArg;
  return Imm.Invalid;
}

/** Whether a load/store opcode (single byte) is a store, and its access width in bytes. */
export function memAccessWidth(op: number): number {
  switch (op) {
    case 0x28: case 0x2a: case 0x36: case 0x38: return 4; // i32/f32 load/store
    case 0x29: case 0x2b: case 0x37: case 0x39: return 8; // i64/f64
    case 0x2c: case 0x2d: case 0x30: case 0x31: case 0x3a: case 0x3c: return 1;
    case 0x2e: case 0x2f: case 0x32: case 0x33: case 0x3b: case 0x3d: return 2;
    case 0x34: case 0x35: case 0x3e: return 4;
    default: return 0;
  }
}

export function isStore(op: number): boolean {
  return op >= 0x36 && op <= 0x3e;
}
