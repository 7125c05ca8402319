// `kmemleak run` on a thread of its own, started before the program's memory exists. Why:
// - Node 20's V8 crashes (SIGSEGV/SIGABRT/SIGTRAP in the marking of a full GC) when a GC that
//   concurrent or parallel marker threads take part in runs inside WebAssembly.Memory.grow. Every
//   grow of a large memory reports the whole new buffer as external memory, so a program that
//   grows its heap to ~100 MB in small steps meets hundreds of such GCs (bench/RESULTS.md, "Crashes
//   at scale"). V8 reads its GC flags when an isolate's heap is set up, and the main thread's heap
//   exists before any of our code runs; a worker's heap is set up when it starts, so flags set
//   here first (--single-threaded-gc) hold for the program's whole life.
// - The main thread's stack is ~1 MB (V8's default; more would overrun the OS's 8 MB segment).
//   A worker's stack is allocated by Node to the size asked for, so deep recursion gets room.
// The seam is small: the worker runs bin/kmemleak again with the same argv; the program's stdio
// are the process's file descriptors (WASI and kmemleak write them synchronously, with no
// stream in between); the worker's exit code is the process's; signals keep their default
// action on the process (nothing here handles them). KMEMLEAK_THREAD=off runs on the main thread.
'use strict';
const v8 = require('node:v8');
const { Worker } = require('node:worker_threads');
const fs = require('node:fs');

/** The program thread's stack, in MB (KMEMLEAK_STACK_MB): ~800,000 levels of a small C function. */
const STACK_MB = 64;
const GC_FLAGS = '--single-threaded-gc';

/** KMEMLEAK_STACK_MB when it is a whole number from 1 to 4096, else STACK_MB. */
function stackMb(env) {
  const n = Number(env.KMEMLEAK_STACK_MB);
  return Number.isInteger(n) && n >= 1 && n <= 4096 ? n : STACK_MB;
}

/** Writes all of buf to fd, synchronously (an EAGAIN is retried; any other error drops it). */
function writeAll(fd, buf) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code !== 'EAGAIN') return;
    }
  }
}

/** Whether these command-line arguments run a program (and so want the program thread). */
function wantsProgramThread(argv, env) {
  return argv[0] === 'run' && env.KMEMLEAK_THREAD !== 'off';
}

/** Runs `script` (bin/kmemleak) with `argv` on the program thread; resolves to its exit code. */
function runOnProgramThread(script, argv, env) {
  v8.setFlagsFromString(GC_FLAGS);
  return new Promise((resolve) => {
    // stdout/stderr: true, so the worker's streams are not piped into process.stdout/stderr:
    // creating those streams would set O_NONBLOCK on descriptors the program shares, and its own
    // writes to a pipe or socket would then fail with EAGAIN and be lost. What the worker writes
    // through its streams (a warning, not kmemleak's output) is copied with blocking writes.
    const worker = new Worker(script, { argv, stdout: true, stderr: true, resourceLimits: { stackSizeMb: stackMb(env) } });
    worker.stdout.on('data', (d) => writeAll(1, d));
    worker.stderr.on('data', (d) => writeAll(2, d));
    let failure = null;
    worker.on('error', (e) => { failure = e; });
    worker.on('exit', (code) => {
      if (failure) {
        process.stderr.write(`kmemleak: internal error: ${failure instanceof Error ? failure.message : String(failure)}\n`);
        resolve(70);
      } else resolve(code);
    });
  });
}

module.exports = { wantsProgramThread, runOnProgramThread, stackMb, STACK_MB };
