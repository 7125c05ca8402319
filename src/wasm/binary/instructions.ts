/**
 * The instruction walker: decodes one instruction at a time into a reusable record.
 *
 * Why: the rewriter copies function bodies byte for byte and must know exactly where each
 * instruction and each immediate starts and ends (to patch call indices and to build the offset
 * map); the layout analysis needs constants and memory offsets. A cursor that fills one mutable
 * `Instr` keeps the walk free of per-instruction JS objects.
 *
 * Invariants: after `decode`, `ins.start` is the opcode's offset, `ins.immStart` the first
 * immediate byte, `ins.end` the next instruction's offset; offsets are module offsets. Unknown or
 * unsupported opcodes raise WasmFormatError / WasmUnsupportedError with the offset.
 */
import { ByteReader } from './bytes.js';
import { WasmUnsupportedError, WasmFormatError, hex } from './errors.js';
import { Imm, SINGLE, fcImm, simdImm, atomicImm, PREFIX_FC, PREFIX_SIMD, PREFIX_ATOMIC } from './opcodes.js';

export class Instr {
  start = 0;
  end = 0;
  /** First opcode byte (the prefix for 0xFC/0xFD/0xFE instructions). */
  op = 0;
  /** Sub-opcode of prefixed instructions, -1 otherwise. */
  sub = -1;
  immStart = 0;
  /** First u32 immediate (function/type/local/global/label/... index), or the block type. */
  index = 0;
  /** Second u32 immediate (call_indirect's table, memory.copy's source, ...). */
  index2 = 0;
  memAlign = 0;
  memOffset = 0;
  memIndex = 0;
  /** The value of i32.const. */
  i32 = 0;
  /** Whether the instruction has a memarg (so memOffset/memAlign are meaningful). */
  hasMemArg = false;
}

function readMemArg(r: ByteReader, ins: Instr, memory64: boolean): void {
  let align = r.u32();
  ins.memIndex = 0;
  if (align & 0x40) {
    align &= ~0x40;
    ins.memIndex = r.u32();
  }
  ins.memAlign = align;
  ins.memOffset = memory64 ? r.u64() : r.u32();
  ins.hasMemArg = true;
}

function readValType(r: ByteReader): void {
  const b = r.u8();
  if (b === 0x63 || b === 0x64) r.s33();
}

function readBlockType(r: ByteReader, ins: Instr): void {
  const b = r.bytes[r.pos];
  if (b === 0x63 || b === 0x64) {
    r.pos++;
    r.s33();
    ins.index = -1;
    return;
  }
  ins.index = r.s33();
}

/**
 * Decodes the instruction at r.pos into ins and advances r past it.
 * `memory64` selects 64-bit memarg offsets (all memories are assumed alike).
 */
export function decodeInstr(r: ByteReader, ins: Instr, memory64 = false): void {
  const start = r.pos;
  ins.start = start;
  ins.hasMemArg = false;
  const op = r.u8();
  ins.op = op;
  ins.sub = -1;
  let kind: number;
  if (op === PREFIX_FC || op === PREFIX_SIMD || op === PREFIX_ATOMIC) {
    const sub = r.u32();
    ins.sub = sub;
    kind = op === PREFIX_FC ? fcImm(sub) : op === PREFIX_SIMD ? simdImm(sub) : atomicImm(sub);
    if (kind === Imm.Invalid) {
      throw new WasmFormatError(`unknown opcode ${hex(op)} ${hex(sub)} at offset ${hex(start)}`, start);
    }
  } else {
    kind = SINGLE[op]!;
    if (kind === Imm.Invalid) {
      if (op === 0xfb) {
        throw new WasmUnsupportedError(`unsupported GC instruction (0xfb prefix) at offset ${hex(start)}`, start);
      }
      throw new WasmFormatError(`unknown opcode ${hex(op)} at offset ${hex(start)}`, start);
    }
  }
  ins.immStart = r.pos;
  switch (kind) {
    case Imm.None:
      break;
    case Imm.BlockType:
      readBlockType(r, ins);
      break;
    case Imm.U32:
      ins.index = r.u32();
      break;
    case Imm.U32x2:
      ins.index = r.u32();
      ins.index2 = r.u32();
      break;
    case Imm.BrTable: {
      const n = r.u32();
      for (let i = 0; i < n; i++) r.u32();
      ins.index = r.u32();
      break;
    }
    case Imm.MemArg:
      readMemArg(r, ins, memory64);
      break;
    case Imm.MemArgLane:
      readMemArg(r, ins, memory64);
      r.u8();
      break;
    case Imm.I32:
      ins.i32 = r.s32();
      break;
    case Imm.I64:
      r.skipLeb();
      break;
    case Imm.F32:
      r.skip(4);
      break;
    case Imm.F64:
      r.skip(8);
      break;
    case Imm.SelectT: {
      const n = r.u32();
      for (let i = 0; i < n; i++) readValType(r);
      break;
    }
    case Imm.HeapType:
      ins.index = r.s33();
      break;
    case Imm.TryTable: {
      readBlockType(r, ins);
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const k = r.u8();
        if (k === 0 || k === 1) {
          r.u32();
          r.u32();
        } else if (k === 2 || k === 3) {
          r.u32();
        } else {
          r.fail(`bad try_table catch kind ${k}`);
        }
      }
      break;
    }
    case Imm.Byte:
      r.u8();
      break;
    case Imm.V128:
      r.skip(16);
      break;
    default:
      throw new Error(`instruction table has no case for kind ${kind}`);
  }
  ins.end = r.pos;
}

/**
 * Walks the instructions in [start, end) (a function body after its locals, or a constant
 * expression), calling visit with the same reusable Instr each time. Stops after the final `end`
 * of the outermost block when `end` is reached.
 */
export function walkInstructions(
  bytes: Uint8Array,
  start: number,
  end: number,
  visit: (ins: Instr) => void,
  memory64 = false,
): void {
  const r = new ByteReader(bytes, start, end);
  r.what = 'function body';
  const ins = new Instr();
  while (r.pos < end) {
    decodeInstr(r, ins, memory64);
    visit(ins);
  }
}
