// Where `kmemleak run` runs the program: with V8's garbage collector single-threaded and a stack
// far larger than Node's default ~1 MB. Why:
// - Node 20's V8 crashes (SIGSEGV/SIGABRT/SIGTRAP in the marking of a full GC) when a GC that
//   concurrent or parallel marker threads take part in runs inside WebAssembly.Memory.grow. Every
//   grow of a large memory reports the whole new buffer as external memory, so a program that
//   grows its heap to ~100 MB in small steps meets hundreds of such GCs (bench/RESULTS.md, "Crashes
//   at scale"). `--single-threaded-gc` avoids it; V8 reads its GC flags when an isolate's heap is
//   set up, so they must be in force before any heap exists that the program's memory lives in.
//   `--no-flush-bytecode` avoids the rarer crash that was left (GC_FLAGS, below).
// - Deep recursion (bench/RESULTS.md, "Deep recursion").
// Two ways, the same behaviour:
// - Fast: bin/kmemleak's `#!` line starts node with MAIN_THREAD_FLAGS; when they are in force and
//   the OS gives the main thread a stack of at least STACK_LIMIT_NEEDED (RLIMIT_STACK, read from
//   /proc/self/limits), the program runs on the main thread: nothing to start.
// - Otherwise (`node bin/kmemleak ...`, a small `ulimit -s`, not Linux, KMEMLEAK_STACK_MB set):
//   a worker thread, started after the flags are set here (a worker's heap is set up when it
//   starts), with a STACK_MB stack (Node allocates a worker's stack to the size asked for). It
//   runs the command line (bin/program-worker.cjs) with the same argv; the program's stdio are
//   the process's file descriptors (WASI and kmemleak write them synchronously, no stream in
//   between); the worker's exit code is the process's; signals keep their default action (nothing here handles them).
//   Starting the worker costs about half a node start (bench/RESULTS.md, "Start-up").
// KMEMLEAK_THREAD=off runs on the main thread whatever the flags (for comparisons).
'use strict';
const fs = require('node:fs');

/** The worker's stack, in MB (KMEMLEAK_STACK_MB): ~800,000 levels of a small C function. */
const STACK_MB = 64;
/**
 * V8 flags the program's isolate needs (set before the worker starts; on the main thread, the `#!`
 * line's). --no-flush-bytecode: with V8's bytecode flushing on, Node 20.20.2 crashed now and then
 * while a long-running program grew its memory (SIGSEGV in the interpreter's entry trampoline, or
 * V8_Fatal "unreachable code" in the deoptimizer's stack walk: a JavaScript frame below the wasm
 * ones whose code a full GC had flushed). Runs of a 1M-object graph in-process: 6 crashes in 60
 * with flushing, 0 in 120 without (bench/RESULTS.md, "Crashes at scale", fifth session). The cost
 * is the memory of bytecode that would have been dropped: kilobytes for us.
 */
const GC_FLAGS = ['--single-threaded-gc', '--no-flush-bytecode'];
/** Must match bin/kmemleak's `#!` line. 6000 KB: ~75,000 levels of a small C function. */
const MAIN_THREAD_FLAGS = [...GC_FLAGS, '--stack-size=6000'];
/** The main thread's stack must be at least this big for --stack-size=6000 to be safe. */
const STACK_LIMIT_NEEDED = 8 * 1024 * 1024;

/** KMEMLEAK_STACK_MB when it is a whole number from 1 to 4096, else STACK_MB. */
function stackMb(env) {
  const n = Number(env.KMEMLEAK_STACK_MB);
  return Number.isInteger(n) && n >= 1 && n <= 4096 ? n : STACK_MB;
}

/** The soft RLIMIT_STACK in bytes (Infinity: unlimited), or 0 when it cannot be read. */
function stackLimit() {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'latin1').split('\n').find((l) => l.startsWith('Max stack size'));
    const soft = line ? line.slice('Max stack size'.length).trim().split(/\s+/)[0] : '';
    return soft === 'unlimited' ? Infinity : Number(soft) || 0;
  } catch {
    return 0;
  }
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

/**
 * Whether `argv` (kmemleak's arguments) runs a program that needs the worker: `kmemleak run`,
 * unless KMEMLEAK_THREAD=off, or the main thread already has the flags and the stack for it.
 */
function wantsProgramThread(argv, env, execArgv = process.execArgv) {
  if (argv[0] !== 'run' || env.KMEMLEAK_THREAD === 'off') return false;
  if (env.KMEMLEAK_STACK_MB !== undefined) return true;
  const flagged = MAIN_THREAD_FLAGS.every((f) => execArgv.includes(f));
  return !(flagged && stackLimit() >= STACK_LIMIT_NEEDED);
}

/**
 * `kmemleak run` on the main thread without the `#!` flags (KMEMLEAK_THREAD=off from a plain
 * `node`): bytecode flushing can still be turned off now (V8 reads that flag at each GC; the GC's
 * threads cannot be changed on a live heap). Returns whether it set the flag.
 */
function keepBytecodeOnMainThread(argv, execArgv = process.execArgv) {
  if (argv[0] !== 'run' || execArgv.includes('--no-flush-bytecode')) return false;
  require('node:v8').setFlagsFromString('--no-flush-bytecode');
  return true;
}

/** Runs `script` (bin/program-worker.cjs) with `argv` on the program thread; resolves to its exit code. */
function runOnProgramThread(script, argv, env) {
  require('node:v8').setFlagsFromString(GC_FLAGS.join(' '));
  const { Worker } = require('node:worker_threads');
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

module.exports = { wantsProgramThread, runOnProgramThread, keepBytecodeOnMainThread, stackMb, stackLimit, STACK_MB, GC_FLAGS, MAIN_THREAD_FLAGS };
