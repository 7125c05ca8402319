/**
 * Why: the runtime drives the engine through exactly these calls (docs/ARCHITECTURE.md, "Engine").
 * Naming the subset here keeps the runtime testable with a recording fake and makes plain which
 * engine calls `kmemleak run` depends on. The real `Kmemleak` satisfies it structurally.
 *
 * Invariant: addresses and trace handles are u32 numbers; min_count is a signed i32.
 */
import type { HeapMemory } from '../../engine/kernel/flood-kernel.js';

export interface DepotPort {
  /** Saves frames[0, count): count is in u32 words, two per frame. */
  save(frames: Uint32Array, count: number): number;
  frames(handle: number): Uint32Array;
}

export interface EnginePort {
  readonly depot: DepotPort;
  setContext(comm: string, pid: number): void;
  /** `heap`: the program's memory, for the engine's WebAssembly flood kernel (see HeapMemory). */
  attachMemory(buffer: () => ArrayBuffer, heap?: HeapMemory): void;
  setRootProvider(provider: (add: (start: number, end: number) => void) => void): void;
  alloc(ptr: number, size: number, minCount: number, trace: number): void;
  free(ptr: number, trace: number): void;
  /** Optional: a batch of alloc/free events in src/engine/batch.ts's layout (Kmemleak has it). */
  applyEvents?(words: Uint32Array, from: number, to: number, minCount: number): void;
  freePart(ptr: number, size: number): void;
  notLeak(ptr: number): void;
  transientLeak(ptr: number): void;
  ignore(ptr: number): void;
  noScan(ptr: number): void;
  scanArea(ptr: number, offset: number, length: number): void;
  updateTrace(ptr: number, trace: number): void;
  scan(): number;
  exitScan(): number;
  write(cmd: string): string;
  read(): string;
}
