/**
 * A minimal WASI preview1 host for browsers (which have no node:wasi), usable in Node too:
 * arguments, environment, fd_write to callbacks (stdout, stderr), stdin at end of file, clocks,
 * random bytes, proc_exit. No filesystem: there are no preopens, and path/fd calls on other
 * descriptors answer EBADF; any preview1 function this file does not implement answers ENOSYS, so
 * every preview1 import of a module resolves.
 *
 * Invariants: never throws into wasm except WasiExit (from proc_exit), which start() catches;
 * memory is read through a fresh view at each call (memory.grow detaches old buffers); text
 * written to a descriptor is decoded as a UTF-8 stream, so a character split across two writes
 * comes out whole.
 */

export const WASI_MODULE = 'wasi_snapshot_preview1';

const ESUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const ENOSYS = 52;
const ESPIPE = 70;

/** Thrown by proc_exit to unwind wasm; start() turns it into the exit code. */
export class WasiExit extends Error {
  constructor(readonly code: number) {
    super(`exit(${code})`);
    this.name = 'WasiExit';
  }
}

export interface WasiShimOptions {
  /** argv, program name first. Default ['program']. */
  args?: string[];
  env?: Record<string, string>;
  /** Receives decoded text written to fd 1. Default: discarded. */
  stdout?: (text: string) => void;
  /** Receives decoded text written to fd 2. Default: discarded. */
  stderr?: (text: string) => void;
  /** Milliseconds for the realtime clock. Default Date.now. */
  now?: () => number;
}

type Fn = (...a: number[]) => number | bigint | void;

export class WasiShim {
  private memory: WebAssembly.Memory | null = null;
  private readonly args: Uint8Array[];
  private readonly env: Uint8Array[];
  private readonly decoders = [new TextDecoder('utf-8'), new TextDecoder('utf-8')];
  private readonly out: Array<((t: string) => void) | undefined>;
  private readonly now: () => number;
  /** The exit code once proc_exit ran, else null. */
  exitCode: number | null = null;
  readonly imports: Record<string, Fn>;

  constructor(opts: WasiShimOptions = {}) {
    const enc = new TextEncoder();
    this.args = (opts.args ?? ['program']).map((a) => enc.encode(a + '\0'));
    this.env = Object.entries(opts.env ?? {}).map(([k, v]) => enc.encode(`${k}=${v}\0`));
    this.out = [opts.stdout, opts.stderr];
    this.now = opts.now ?? (() => Date.now());
    this.imports = this.build();
  }

  /** The import object entry: `{ wasi_snapshot_preview1: shim.imports }`, made complete for module. */
  importObject(module?: WebAssembly.Module): Record<string, Record<string, Fn>> {
    if (module) {
      for (const imp of WebAssembly.Module.imports(module)) {
        if (imp.module === WASI_MODULE && imp.kind === 'function' && !(imp.name in this.imports)) {
          this.imports[imp.name] = () => ENOSYS;
        }
      }
    }
    return { [WASI_MODULE]: this.imports };
  }

  /** Binds the memory to use (the instance's exported memory, usually). */
  bind(memory: WebAssembly.Memory): void {
    this.memory = memory;
  }

  /** Runs a command's _start; returns the exit code (0 when _start returns). Other traps propagate. */
  start(instance: WebAssembly.Instance): number {
    const ex = instance.exports as Record<string, unknown>;
    if (!this.memory && ex.memory instanceof WebAssembly.Memory) this.bind(ex.memory);
    const start = ex._start;
    if (typeof start !== 'function') throw new Error('the module exports no _start function');
    try {
      (start as () => void)();
      this.flush();
      return (this.exitCode = 0);
    } catch (e) {
      this.flush();
      if (e instanceof WasiExit) return e.code;
      throw e;
    }
  }

  /** Runs a reactor's _initialize when there is one. */
  initialize(instance: WebAssembly.Instance): void {
    const ex = instance.exports as Record<string, unknown>;
    if (!this.memory && ex.memory instanceof WebAssembly.Memory) this.bind(ex.memory);
    if (typeof ex._initialize === 'function') (ex._initialize as () => void)();
  }

  private flush(): void {
    for (let i = 0; i < 2; i++) {
      const rest = this.decoders[i]!.decode();
      if (rest) this.out[i]?.(rest);
    }
  }

  private view(): DataView {
    if (!this.memory) throw new Error('WASI shim used before bind(memory)');
    return new DataView(this.memory.buffer);
  }

  private bytes(): Uint8Array {
    if (!this.memory) throw new Error('WASI shim used before bind(memory)');
    return new Uint8Array(this.memory.buffer);
  }

  private putList(list: Uint8Array[], ptrs: number, buf: number): number {
    const dv = this.view();
    const mem = this.bytes();
    let at = buf;
    for (let i = 0; i < list.length; i++) {
      dv.setUint32(ptrs + 4 * i, at, true);
      mem.set(list[i]!, at);
      at += list[i]!.length;
    }
    return ESUCCESS;
  }

  private sizes(list: Uint8Array[], countPtr: number, sizePtr: number): number {
    const dv = this.view();
    dv.setUint32(countPtr, list.length, true);
    dv.setUint32(sizePtr, list.reduce((n, a) => n + a.length, 0), true);
    return ESUCCESS;
  }

  private build(): Record<string, Fn> {
    const self = this;
    const clockNs = (id: number): bigint => {
      if (id === 0) return BigInt(Math.round(self.now() * 1e6));
      const perf = (globalThis as { performance?: { now(): number } }).performance;
      return BigInt(Math.round((perf ? perf.now() : self.now()) * 1e6));
    };
    return {
      args_sizes_get: (c, s) => self.sizes(self.args, c, s),
      args_get: (p, b) => self.putList(self.args, p, b),
      environ_sizes_get: (c, s) => self.sizes(self.env, c, s),
      environ_get: (p, b) => self.putList(self.env, p, b),
      fd_write(fd, iovs, iovsLen, nwritten) {
        if (fd !== 1 && fd !== 2) return EBADF;
        const dv = self.view();
        const mem = self.bytes();
        let total = 0;
        let text = '';
        const dec = self.decoders[fd - 1]!;
        for (let i = 0; i < iovsLen; i++) {
          const ptr = dv.getUint32(iovs + 8 * i, true);
          const len = dv.getUint32(iovs + 8 * i + 4, true);
          if (ptr + len > mem.length) return EINVAL;
          text += dec.decode(mem.subarray(ptr, ptr + len), { stream: true });
          total += len;
        }
        if (text) self.out[fd - 1]?.(text);
        dv.setUint32(nwritten, total, true);
        return ESUCCESS;
      },
      fd_read(fd, _iovs, _len, nread) {
        if (fd !== 0) return EBADF;
        self.view().setUint32(nread, 0, true);
        return ESUCCESS;
      },
      fd_close: (fd) => (fd <= 2 ? ESUCCESS : EBADF),
      fd_seek: (fd) => (fd <= 2 ? ESPIPE : EBADF),
      fd_sync: (fd) => (fd <= 2 ? ESUCCESS : EBADF),
      fd_fdstat_get(fd, stat) {
        if (fd > 2) return EBADF;
        const dv = self.view();
        dv.setUint8(stat, 2); // character device
        dv.setUint16(stat + 2, 0, true);
        dv.setBigUint64(stat + 8, 0n, true);
        dv.setBigUint64(stat + 16, 0n, true);
        return ESUCCESS;
      },
      fd_fdstat_set_flags: (fd) => (fd <= 2 ? ESUCCESS : EBADF),
      fd_prestat_get: () => EBADF,
      fd_prestat_dir_name: () => EBADF,
      clock_res_get(_id, res) {
        self.view().setBigUint64(res, 1000n, true);
        return ESUCCESS;
      },
      clock_time_get(id, _precision, out) {
        if (id > 3) return EINVAL;
        self.view().setBigUint64(out, clockNs(id), true);
        return ESUCCESS;
      },
      random_get(buf, len) {
        const mem = self.bytes().subarray(buf, buf + len);
        const c = (globalThis as { crypto?: { getRandomValues(a: Uint8Array): Uint8Array } }).crypto;
        for (let i = 0; i < mem.length; i += 65536) {
          const part = mem.subarray(i, Math.min(i + 65536, mem.length));
          if (c) c.getRandomValues(part);
          else for (let j = 0; j < part.length; j++) part[j] = (Math.random() * 256) | 0;
        }
        return ESUCCESS;
      },
      sched_yield: () => ESUCCESS,
      poll_oneoff: () => ENOSYS,
      proc_exit(code) {
        self.exitCode = code;
        throw new WasiExit(code);
      },
      proc_raise: () => ENOSYS,
    };
  }
}
