/**
 * Node only (loaded by a dynamic import when the API runs under Node; browsers never load it).
 *
 * Why: Node 20's V8 crashed now and then (SIGSEGV in the interpreter's entry trampoline, or
 * V8_Fatal "unreachable code" in the deoptimizer's stack walk) while a long-running program grew
 * its memory with its bytecode flushing on: a 1M-object graph run in-process crashed 6 times in 60
 * with it, 0 in 120 without; set at run time (as here), 0 in 60 (bench/RESULTS.md, "Crashes at
 * scale", fifth session). The flag is read at each garbage collection, so setting it late works;
 * it only keeps the bytecode of functions that have not run for a while (kilobytes). `kmemleak
 * run` starts node with it (bin/kmemleak); here the embedder's process gets it once, the first
 * time a module is instantiated with the detector on. The GC's threads (--single-threaded-gc)
 * cannot be changed after start: the README asks embedders to start node with it.
 */
import { setFlagsFromString } from 'node:v8';

let done = false;

/** Turns V8's bytecode flushing off for the process, once. */
export function keepBytecode(): void {
  if (done) return;
  done = true;
  setFlagsFromString('--no-flush-bytecode');
}
