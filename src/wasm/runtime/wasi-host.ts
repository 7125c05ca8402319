/**
 * Why: the program runs on Node's own WASI preview1 implementation, so its file, clock and stdio
 * behaviour is Node's, not ours. Two adjustments: Node prints "WASI is an experimental feature"
 * on first use, which would change what the program prints, so exactly that warning is silenced;
 * and `proc_exit` is wrapped so that the runtime learns the shadow stack pointer at the moment
 * of exit (the frames that were live then are roots of the exit scan).
 *
 * Invariants: the warning filter is installed only around the load and construction of WASI and
 * removed afterwards; any other warning passes through. The WASI import object is Node's, with
 * only proc_exit replaced by a wrapper that calls Node's original.
 */
import type { WASI as WasiType } from 'node:wasi';

export interface WasiConfig {
  args: string[];
  env: Record<string, string>;
  /** guest path -> host path */
  preopens: Record<string, string>;
  stdin?: number;
  stdout?: number;
  stderr?: number;
}

export interface WasiHost {
  wasi: WasiType;
  /** The import object for `wasi_snapshot_preview1` (proc_exit wrapped). */
  imports: Record<string, unknown>;
  /**
   * Ends the program from inside an import, as proc_exit does (Node unwinds the wasm stack and
   * `wasi.start` returns `status`), without the exit callback: for a check that ends the run.
   */
  exit(status: number): never;
}

function isWasiWarning(w: unknown): boolean {
  const msg = typeof w === 'string' ? w : w instanceof Error ? w.message : '';
  return msg.startsWith('WASI is an experimental feature');
}

async function quietly<T>(f: () => Promise<T> | T): Promise<T> {
  const original = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    if (isWasiWarning(warning)) return;
    return (original as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return await f();
  } finally {
    process.emitWarning = original;
  }
}

/**
 * Creates the WASI instance. `beforeExit(code)` runs inside proc_exit, before Node's own
 * proc_exit unwinds the wasm stack (it must not throw).
 */
export async function createWasi(cfg: WasiConfig, beforeExit: (code: number) => void): Promise<WasiHost> {
  const wasi = await quietly(async () => {
    const { WASI } = await import('node:wasi');
    return new WASI({
      version: 'preview1',
      args: cfg.args,
      env: cfg.env,
      preopens: cfg.preopens,
      returnOnExit: true,
      stdin: cfg.stdin ?? 0,
      stdout: cfg.stdout ?? 1,
      stderr: cfg.stderr ?? 2,
    });
  });
  const base = wasi.wasiImport as Record<string, unknown>;
  const procExit = base['proc_exit'] as (code: number) => never;
  const imports: Record<string, unknown> = { ...base };
  imports['proc_exit'] = (code: number): never => {
    beforeExit(code);
    return procExit(code);
  };
  return { wasi, imports, exit: (status) => procExit(status) };
}
