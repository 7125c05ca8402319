/**
 * Tracks calls from the host into wasm, through wrapped exports: which export the host called
 * (kmemleak's `comm`) and whether any wasm frame is live. This is what makes the safe-point rule
 * enforceable: wasm locals and the operand stack cannot be read by any host, so a scan that runs
 * while a wasm frame is live could miss the only pointer to a young block. Scans asked for while
 * wasm runs are queued here and run at the next safe point: the moment the outermost export call
 * returns (or throws), before control goes back to the host code that called it.
 *
 * Invariants:
 * - depth counts live export calls (nested ones too: wasm -> import -> JS -> export); it is
 *   restored on every exit path, traps and exceptions (longjmp emulation) included.
 * - comm changes only when a call enters at depth 0; nested calls keep the outer comm, like a
 *   kernel task keeps its comm across function calls.
 * - A wrapper allocates nothing per call for up to MAX_FIXED_ARITY parameters (fixed-parameter
 *   wrappers, not rest arguments); its `length` is the wasm function's parameter count.
 * - Non-function exports (memory, table, globals) are passed through untouched: the same objects.
 * - Calls that do not go through the wrappers (JS calling a table entry directly) are not seen.
 */

type AnyFn = (...args: unknown[]) => unknown;

const MAX_FIXED_ARITY = 8;

export class CallTracker {
  /** Live export calls. 0 = no wasm frame is live: a safe point. */
  depth = 0;
  /** The export the host called last at depth 0 (display name, after renaming). */
  comm = '';
  private pending: Array<() => void> = [];
  private readonly display = new Map<string, string>();
  /** Wrapper -> export name, to learn names from glue objects that hold our wrappers. */
  private readonly wrapperNames = new WeakMap<object, string>();
  private draining = false;

  /**
   * @param onEnter called when the host enters wasm at depth 0, with the comm to record
   * @param onError reports an exception thrown by a deferred action (never propagated)
   */
  /** An export call ended by an exception or trap since the last entry at depth 0. */
  private faulted = false;

  /**
   * @param onEnter called when the host enters wasm at depth 0, with the comm to record and
   *   whether the previous call ended by an exception (a trap leaves wasm globals mid-update)
   * @param onError reports an exception thrown by a deferred action (never propagated)
   */
  constructor(
    private readonly onEnter: (comm: string, afterFault: boolean) => void,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  get inWasm(): boolean {
    return this.depth > 0;
  }

  /** Runs fn now when no wasm frame is live, else at the next safe point. Returns true if run now. */
  whenSafe(fn: () => void): boolean {
    if (this.depth === 0 && !this.draining) {
      fn();
      return true;
    }
    this.pending.push(fn);
    return false;
  }

  /** Number of actions waiting for a safe point. */
  get deferred(): number {
    return this.pending.length;
  }

  /** The name reports use for an export (minified glue names are mapped by rename()). */
  displayName(exportName: string): string {
    return this.display.get(exportName) ?? exportName;
  }

  rename(exportName: string, realName: string): void {
    this.display.set(exportName, realName);
    if (this.comm === exportName) this.comm = realName;
  }

  /** Wrapper -> the wasm function it wraps (what a function table must hold instead). */
  private readonly originals = new WeakMap<object, AnyFn>();

  /** The wasm function behind a wrapper; anything else is returned as it is. */
  unwrap<T>(v: T): T {
    return typeof v === 'function' ? ((this.originals.get(v) as T | undefined) ?? v) : v;
  }

  /**
   * Makes `table.set` and `table.grow` store the wasm function behind a wrapper (an own property
   * shadowing the prototype's, on this table object only).
   */
  guardTable(table: WebAssembly.Table): void {
    const proto = WebAssembly.Table.prototype;
    const unwrap = (v: unknown) => this.unwrap(v);
    Object.defineProperty(table, 'set', {
      configurable: true,
      writable: true,
      value: function (this: WebAssembly.Table, index: number, value?: unknown) {
        return arguments.length < 2 ? proto.set.call(this, index) : proto.set.call(this, index, unwrap(value));
      },
    });
    Object.defineProperty(table, 'grow', {
      configurable: true,
      writable: true,
      value: function (this: WebAssembly.Table, delta: number, value?: unknown) {
        return arguments.length < 2 ? proto.grow.call(this, delta) : proto.grow.call(this, delta, unwrap(value));
      },
    });
  }

  /** The export name a wrapper stands for, or undefined when fn is not one of ours. */
  exportNameOf(fn: unknown): string | undefined {
    return typeof fn === 'function' ? this.wrapperNames.get(fn) : undefined;
  }

  /** Called by wrappers on entry. */
  enter(name: string): void {
    if (this.depth++ === 0) {
      const c = this.display.get(name) ?? name;
      this.comm = c;
      const f = this.faulted;
      this.faulted = false;
      this.onEnter(c, f);
    }
  }

  /** Called by wrappers when the call throws (trap, host exception, longjmp emulation). */
  fault(): void {
    this.faulted = true;
  }

  /** Called by wrappers on exit (finally). */
  leave(): void {
    if (--this.depth === 0 && this.pending.length !== 0) this.drain();
  }

  private drain(): void {
    this.draining = true;
    try {
      while (this.pending.length !== 0 && this.depth === 0) {
        const fn = this.pending.shift()!;
        try {
          fn();
        } catch (e) {
          this.onError(e);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Wraps one exported function. `sig` (Emscripten's signature string, e.g. 'iii') is attached
   * as `.sig`: Emscripten's dynamic linker puts every export in the function table, and a JS
   * function can only go there converted by addFunction(fn, fn.sig).
   */
  wrapFunction(name: string, fn: AnyFn, sig?: string): AnyFn {
    const w = makeWrapper(this, name, fn);
    try {
      Object.defineProperty(w, 'name', { value: fn.name || name });
    } catch {
      /* name is configurable on functions; ignore if not */
    }
    if (sig !== undefined) (w as AnyFn & { sig?: string }).sig = sig;
    this.wrapperNames.set(w, name);
    this.originals.set(w, fn);
    return w;
  }

  /**
   * A new exports object: functions wrapped, everything else passed through, names `keep`
   * rejects left out (the detector's own exports). Frozen, like the original.
   */
  wrapExports(
    exports: WebAssembly.Exports,
    sigOf?: (exportName: string) => string | undefined,
    keep: (exportName: string) => boolean = () => true,
  ): WebAssembly.Exports {
    const out: Record<string, unknown> = Object.create(null);
    for (const name of Object.keys(exports)) {
      if (!keep(name)) continue;
      const v = (exports as Record<string, unknown>)[name];
      out[name] = typeof v === 'function' ? this.wrapFunction(name, v as AnyFn, sigOf?.(name)) : v;
    }
    return Object.freeze(out) as WebAssembly.Exports;
  }

  /**
   * Learns real names from an object the glue filled with our wrappers (Emscripten assigns
   * `Module._sqlite3_open = wasmExports.Ha`): a property `_x` or `x` holding the wrapper of a
   * differently named export renames that export to `x`. Returns how many were learned.
   */
  learnNames(glue: object): number {
    let n = 0;
    for (const key of Object.keys(glue)) {
      let v: unknown;
      try {
        v = (glue as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      const exp = this.exportNameOf(v);
      if (exp === undefined) continue;
      const real = key.startsWith('_') && key.length > 1 ? key.slice(1) : key;
      if (real !== exp && !this.display.has(exp)) {
        this.rename(exp, real);
        n++;
      }
    }
    return n;
  }
}

function makeWrapper(t: CallTracker, name: string, fn: AnyFn): AnyFn {
  // Fixed parameter lists keep the call allocation-free; `this` is forwarded for completeness.
  switch (fn.length <= MAX_FIXED_ARITY ? fn.length : -1) {
    case 0:
      return function (this: unknown) {
        t.enter(name);
        try { return fn.call(this); } catch (e) { t.fault(); throw e; } finally { t.leave(); }
      };
    case 1:
      return function (this: unknown, a: unknown) {
        t.enter(name);
        try { return fn.call(this, a); } catch (e) { t.fault(); throw e; } finally { t.leave(); }
      };
    case 2:
      return function (this: unknown, a: unknown, b: unknown) {
        t.enter(name);
        try { return fn.call(this, a, b); } catch (e) { t.fault(); throw e; } finally { t.leave(); }
      };
    case 3:
      return function (this: unknown, a: unknown, b: unknown, c: unknown) {
        t.enter(name);
        try { return fn.call(this, a, b, c); } catch (e) { t.fault(); throw e; } finally { t.leave(); }
      };
    case 4:
      return function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown) {
        t.enter(name);
        try { return fn.call(this, a, b, c, d); } catch (e) { t.fault(); throw e; } finally { t.leave(); }
      };
    case 5:
      return function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) {
        t.enter(name);
        try { return fn.call(this, a, b, c, d, e); } catch (e) { t.fault(); throw e; } finally { t.leave(); }
      };
    case 6:
      return function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown) {
        t.enter(name);
        try { return fn.call(this, a, b, c, d, e, f); } catch (e) { t.fault(); throw e; } finally { t.leave(); }
      };
    case 7:
      return function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown, g: unknown) {
        t.enter(name);
        try { return fn.call(this, a, b, c, d, e, f, g); } catch (e) { t.fault(); throw e; } finally { t.leave(); }
      };
    case 8:
      return function (
        this: unknown, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown, g: unknown, h: unknown,
      ) {
        t.enter(name);
        try { return fn.call(this, a, b, c, d, e, f, g, h); } catch (e) { t.fault(); throw e; } finally { t.leave(); }
      };
    default:
      return function (this: unknown, ...args: unknown[]) {
        t.enter(name);
        try { return fn.apply(this, args); } catch (e) { t.fault(); throw e; } finally { t.leave(); }
      };
  }
}
