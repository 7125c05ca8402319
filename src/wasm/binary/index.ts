/**
 * The wasm binary reader: module structure with byte ranges, the name section, and an instruction
 * walker that knows every opcode's immediates. Pure functions on bytes.
 *
 *   parseModule(bytes) -> WasmModule        throws WasmFormatError (one-line message) on bad input
 *   walkInstructions(bytes, start, end, visit(ins))   decodes [start,end) into one reusable Instr
 *   decodeInstr(reader, ins)                          one instruction, for hand-driven loops
 *   funcType / funcTypeIndex / bodyOf / globalType / memory0 / functionCount: index-space queries
 *   decodeNames / encodeNames: the "name" custom section
 *   callGraph(module): direct-call graph (CSR arrays) for reachability questions
 *   readDwarf(module): DWARF global variables (name, address, size, const) and functions;
 *   dwarfFunctionNames(module): name -> function index when DWARF kept code addresses
 */
export * from './types.js';
export { WasmFormatError, WasmUnsupportedError, hex } from './errors.js';
export { ByteReader, ByteWriter, lebSize } from './bytes.js';
export { Instr, decodeInstr, walkInstructions } from './instructions.js';
export {
  parseModule, readConstExpr, sectionName, SECTION_ORDER, funcType, funcTypeIndex, functionCount, bodyOf,
  globalType, memory0,
} from './module.js';
export { decodeNames, encodeNames, emptyNames } from './names.js';
export { callGraph, reachable, canReach, type CallGraph } from './callgraph.js';
export { readDwarf, dwarfFunctionNames, type DwarfInfo, type DwarfVariable, type DwarfFunction } from './dwarf.js';
