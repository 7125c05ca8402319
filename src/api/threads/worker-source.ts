/**
 * The pthread worker bootstrap: plain JavaScript that runs in each Emscripten pthread worker (Node
 * worker_threads or a browser Worker) in place of the glue's `<name>.worker.js`, which it loads on
 * the glue's 'load' message once it has the detector's configuration (that message's `kmemleak`
 * field, added on the main thread: glue-hooks.ts). It then
 * - patches WebAssembly.Instance so that the worker's synchronous instantiation of the
 *   instrumented module gets `__kmemleak_hooks` (and no-op `kmemleak` annotation imports);
 * - claims a slot in the control block and logs the thread's events in its own chunked log in
 *   linear memory (layout.ts), each stamped with a sequence number from one shared counter;
 * - captures a new calling context's stack once (the worker's own V8 frames) into the shared
 *   trace store, keyed per worker by context;
 * - parks at its next hook while the main thread stops the world (collector.ts states the rules);
 * - publishes its thread id, start routine and stack bounds (emscripten_stack_set_limits) in its
 *   slot, and logs a THREAD record then (collector.ts rule 5).
 *
 * Why a string: the same text runs as a Node CommonJS file and as a browser blob, with no build
 * step, and it must not import the detector (a worker has no engine; events go to the main thread
 * through shared memory). Hot path (put): no JS object is allocated per event.
 */
import { CHUNK_BYTES, L } from './layout.js';

export function workerBootstrapSource(): string {
  return `'use strict';
// kmemleak: pthread worker bootstrap (src/api/threads/worker-source.ts)
(function () {
var L = ${JSON.stringify(L)};
var CHUNK_BYTES = ${CHUNK_BYTES};
var isNode = typeof process === 'object' && !!(process.versions && process.versions.node);
var port = isNode ? require('worker_threads').parentPort : null;
var g = typeof globalThis !== 'undefined' ? globalThis : self;
var NativeInstance = WebAssembly.Instance;
var cfg = null, ctl = null, traces = null, memory = null, heap = null, ex = null;
var base = -1, chunk = 0, count = 0, taken = 0, warned = false, booted = false, sp = null;
var ctxRef = new Map(), ctxHi = new Map(), ctxSlow = new Map();

function say(line) {
  if (isNode) require('fs').writeSync(2, 'kmemleak: ' + line + '\\n'); else console.error('kmemleak: ' + line);
}

/* A view that covers the chunk at c: the memory may have grown (by any thread) since. */
function view(c) {
  if (heap === null || (c >>> 0) + CHUNK_BYTES > heap.byteLength) heap = new Int32Array(memory.buffer);
  return heap;
}

function takeChunk() {
  var c = 0;
  while (Atomics.compareExchange(ctl, L.LOCK, 0, 1) !== 0) {}
  var n = ctl[L.FREE_COUNT];
  if (n > 0) { c = ctl[L.FREE_LIST + n - 1]; ctl[L.FREE_COUNT] = n - 1; }
  Atomics.store(ctl, L.LOCK, 0);
  if (c === 0) {
    try { c = ex[cfg.rawMalloc](CHUNK_BYTES) >>> 0; } catch (e) { c = 0; }
  }
  return c;
}

/* collector.ts rule 6: a long backlog waits for a main thread that is draining, not a blocked one. */
function waitForBacklog() {
  for (;;) {
    if (taken - Atomics.load(ctl, base + L.READ_CHUNKS) < L.BACKLOG_CHUNKS) return;
    var age = ((Date.now() & 0x3fffffff) - Atomics.load(ctl, L.MAIN_DRAINED_AT)) & 0x3fffffff;
    if (age > L.DRAIN_FRESH_MS) return;
    // a scan asks the world to stop meanwhile: park here (a hook, before this event's number)
    if (Atomics.load(ctl, L.STOP) !== 0) { park(); continue; }
    Atomics.wait(ctl, L.DRAINS, Atomics.load(ctl, L.DRAINS), L.DRAIN_FRESH_MS);
  }
}

function nextChunk() {
  if (base >= 0 && chunk !== 0) waitForBacklog();
  var c = takeChunk();
  if (c === 0) {
    if (!warned) { warned = true; say('a thread could not get memory for its event log: its events are lost'); }
    return;
  }
  var h = view(c);
  h[c >>> 2] = 0;
  Atomics.store(h, (c >>> 2) + 1, 0);
  if (chunk === 0) Atomics.store(ctl, base + L.HEAD, c); else Atomics.store(h, chunk >>> 2, c);
  chunk = c;
  taken++;
  count = 0;
}

function put(kind, a, b, c, ref) {
  if (Atomics.load(ctl, L.STOP) !== 0) park();
  if (chunk === 0 || count === L.CAP) { nextChunk(); if (chunk === 0) return; }
  var h = heap;
  var at = (chunk >>> 2) + L.CHUNK_HEADER_WORDS + count * L.REC_WORDS;
  h[at] = Atomics.add(ctl, L.SEQ, 1);
  h[at + 1] = kind; h[at + 2] = a; h[at + 3] = b; h[at + 4] = c; h[at + 5] = ref;
  count++;
  Atomics.store(h, (chunk >>> 2) + 1, count);
}

function park() {
  var epoch = Atomics.load(ctl, L.STOP);
  if (epoch === 0 || base < 0) return;
  Atomics.store(ctl, base + L.SP, sp !== null ? sp.value | 0 : 0);
  Atomics.store(ctl, base + L.PARKED, epoch);
  Atomics.add(ctl, L.PARKED_WAKE, 1);
  Atomics.notify(ctl, L.PARKED_WAKE);
  while (Atomics.load(ctl, L.STOP) === epoch) Atomics.wait(ctl, L.STOP, epoch, 1000);
  Atomics.store(ctl, base + L.PARKED, 0);
}

function collect(_e, sites) { return sites; }
var WASM_FRAME = /wasm-function\\[(\\d+)\\]:0x([0-9a-fA-F]+)/;

function capture() {
  var savedPrepare = Error.prepareStackTrace, savedLimit = Error.stackTraceLimit, holder = {}, sites;
  try {
    Error.stackTraceLimit = L.MAX_RAW_FRAMES + 8;
    Error.prepareStackTrace = collect;
    Error.captureStackTrace(holder);
    sites = holder.stack;
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
  if (!Array.isArray(sites)) return 0;
  var pairs = [];
  for (var i = 0; i < sites.length && pairs.length < 2 * L.MAX_RAW_FRAMES; i++) {
    var s = sites[i], file = s.getFileName();
    if (typeof file !== 'string' || file.indexOf('wasm://') !== 0) continue;
    var fn = s.getFunction(), col = s.getColumnNumber();
    if (typeof fn === 'number' && typeof col === 'number') { pairs.push(fn, col - 1); continue; }
    var m = WASM_FRAME.exec(String(s));
    if (m) pairs.push(Number(m[1]), parseInt(m[2], 16));
  }
  var n = pairs.length >> 1;
  var at = Atomics.add(ctl, L.TRACE_TOP, 1 + 2 * n);
  if (at + 1 + 2 * n > traces.length) return 0;
  for (var j = 0; j < 2 * n; j++) traces[at + 1 + j] = pairs[j];
  Atomics.store(traces, at, n);
  return at;
}

function traceRef(lo, hi) {
  if (cfg.depth === 0) return 0;
  var r = ctxRef.get(lo);
  if (r !== undefined && ctxHi.get(lo) === hi) return r;
  if (r !== undefined) {
    var key = lo + ':' + hi, s = ctxSlow.get(key);
    if (s !== undefined) return s;
    s = capture();
    ctxSlow.set(key, s);
    return s;
  }
  r = capture();
  ctxRef.set(lo, r);
  ctxHi.set(lo, hi);
  return r;
}

var hooks = {
  alloc: function (ptr, size, lo, hi) { put(L.ALLOC, ptr, size, 0, traceRef(lo, hi)); },
  // each hook takes exactly its import's parameters: V8 calls a JS import of matching arity directly
  free: function (ptr, lo, hi) { put(L.FREE, ptr, 0, 0, 0); },
  realloc: function (old, ptr, size, lo, hi) { put(L.REALLOC, old, ptr, size, traceRef(lo, hi)); },
  flush: function () {},
};

function claimSlot() {
  var s = Atomics.add(ctl, L.SLOTS_USED, 1);
  if (s >= L.MAX_SLOTS) { say('too many pthread workers (' + L.MAX_SLOTS + '): this one is not tracked'); return; }
  base = L.SLOT_BASE + s * L.SLOT_WORDS;
  Atomics.store(ctl, base + L.START, -1);
}

function wrapExports(raw) {
  var out = {};
  Object.keys(raw).forEach(function (k) { out[k] = raw[k]; });
  var limits = raw.emscripten_stack_set_limits;
  if (typeof limits === 'function') out.emscripten_stack_set_limits = function (top, max) {
    if (base >= 0) {
      Atomics.store(ctl, base + L.STACK_HI, top);
      Atomics.store(ctl, base + L.STACK_LO, max);
      put(L.THREAD, max, Atomics.load(ctl, base + L.PTHREAD), 0, 0);
    }
    return limits(top, max);
  };
  return out;
}

function Instance(module, imports) {
  var mine = cfg !== null && WebAssembly.Module.imports(module).some(function (i) { return i.module === cfg.hookModule; });
  if (!mine) return new NativeInstance(module, imports);
  var merged = Object.assign({}, imports);
  var own = {};
  cfg.hooks.forEach(function (n) { own[n] = hooks[n]; });
  merged[cfg.hookModule] = own;
  if (!merged[cfg.annotationModule]) {
    var stubs = {};
    WebAssembly.Module.imports(module).forEach(function (i) {
      if (i.module === cfg.annotationModule && i.kind === 'function') stubs[i.name] = function () { return 0; };
    });
    merged[cfg.annotationModule] = stubs;
  }
  claimSlot();
  var inst = new NativeInstance(module, merged);
  ex = inst.exports;
  sp = cfg.stackPointer && ex[cfg.stackPointer] instanceof WebAssembly.Global ? ex[cfg.stackPointer] : null;
  return Object.create(NativeInstance.prototype, { exports: { value: wrapExports(ex), enumerable: true } });
}
Instance.prototype = NativeInstance.prototype;

function startFunction(index) {
  try {
    var t = ex && ex.__indirect_function_table;
    var f = t ? t.get(index) : null;
    var n = f ? Number(f.name) : NaN;
    return n >= 0 ? n : -1;
  } catch (e) { return -1; }
}

function threadStarts(d) {
  if (base < 0) return;
  Atomics.store(ctl, base + L.PID, Atomics.add(ctl, L.NEXT_PID, 1));
  Atomics.store(ctl, base + L.START, startFunction(d.start_routine));
  Atomics.store(ctl, base + L.PTHREAD, d.threadInfoStruct | 0);
  Atomics.store(ctl, base + L.STATE, L.RUNNING);
}

function threadEnds() {
  if (base >= 0) Atomics.store(ctl, base + L.STATE, L.IDLE);
}

function wrapOnmessage() {
  var original = g.onmessage;
  g.onmessage = function (e) {
    var run = !!(e && e.data && e.data.cmd === 'run');
    if (run) threadStarts(e.data);
    try { return original.call(this, e); } finally { if (run) threadEnds(); }
  };
}

function boot(data) {
  if (booted || !data || data.cmd !== 'load') return;
  booted = true;
  var k = data.kmemleak;
  if (!k) { say('pthread worker bootstrap: the load message has no detector configuration'); return; }
  cfg = k;
  ctl = new Int32Array(k.control);
  traces = new Int32Array(k.traces);
  memory = data.wasmMemory;
  WebAssembly.Instance = Instance;
  if (isNode) require(k.worker); else importScripts(k.worker);
  wrapOnmessage();
  g.onmessage({ data: data });
}

if (isNode) port.on('message', boot);
else self.onmessage = function (e) { boot(e.data); };
})();
`;
}
