/**
 * A recording stand-in for the engine (EnginePort): runtime tests check what the runtime asks of
 * the engine without depending on the engine's algorithm. Depot handles are indexes into a list.
 */
import type { EnginePort } from '../../src/wasm/runtime/engine-port.js';

export class FakeEngine implements EnginePort {
  calls: Array<[string, ...number[]]> = [];
  traces: Uint32Array[] = [];
  scans = 0;
  depot = {
    save: (frames: Uint32Array, count: number): number => {
      this.traces.push(frames.slice(0, count));
      return this.traces.length - 1;
    },
    frames: (h: number): Uint32Array => this.traces[h]!,
  };
  setContext(): void {}
  attachMemory(): void {}
  setRootProvider(): void {}
  alloc(ptr: number, size: number, minCount: number, trace: number): void { this.calls.push(['alloc', ptr, size, minCount, trace]); }
  free(ptr: number, trace: number): void { this.calls.push(['free', ptr, trace]); }
  freePart(ptr: number, size: number): void { this.calls.push(['freePart', ptr, size]); }
  notLeak(ptr: number): void { this.calls.push(['notLeak', ptr]); }
  transientLeak(ptr: number): void { this.calls.push(['transientLeak', ptr]); }
  ignore(ptr: number): void { this.calls.push(['ignore', ptr]); }
  noScan(ptr: number): void { this.calls.push(['noScan', ptr]); }
  scanArea(ptr: number, offset: number, length: number): void { this.calls.push(['scanArea', ptr, offset, length]); }
  updateTrace(ptr: number, trace: number): void { this.calls.push(['updateTrace', ptr, trace]); }
  scan(): number { this.scans++; this.calls.push(['scan']); return 5; }
  exitScan(): number { return 0; }
  write(): string { return ''; }
  read(): string { return ''; }
}
