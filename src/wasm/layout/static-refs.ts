/**
 * Static linear-memory addresses that each function's code touches.
 *
 * Why: without symbols, the code is the evidence for the static layout: the highest static
 * address referenced bounds .bss, and the addresses touched only by the allocator's own functions
 * are its private state (which must not be scanned as roots).
 *
 * What counts as a reference (LLVM's wasm code folds a global's address into the memarg offset
 * with base `i32.const 0`, or materializes it as an i32.const used as a base):
 *   - a load/store whose memarg offset lies in [lo, hi): address = offset, width = access size
 *     ("exact");
 *   - `i32.const C` with C in [lo, hi) directly followed by a load (address C + offset; exact);
 *   - `i32.const C` directly followed by `i32.add` (maybe the base of an indexed access; width 1;
 *     NOT exact: printf's tables add constants like 9216 that are no address).
 * A constant right before a store is the stored value, not the address. Integer constants used
 * otherwise are ignored: they may be sizes or masks that merely look like addresses.
 *
 * Invariants: refs of defined function f are entries [offsets[f - I], offsets[f - I + 1]) of
 * addr/width/store (I = imported function count); addresses are u32.
 */
import { type WasmModule, walkInstructions, memory0 } from '../binary/index.js';
import { memAccessWidth, isStore } from '../binary/opcodes.js';

export interface StaticRefs {
  offsets: Uint32Array;
  addr: Uint32Array;
  width: Uint8Array;
  store: Uint8Array;
  /** 1 when the access is certainly at that address (see above). */
  exact: Uint8Array;
}

function simdWidth(sub: number): number {
  if (sub === 0 || sub === 11) return 16;
  if (sub <= 6) return 8;
  if (sub === 7) return 1;
  if (sub === 8) return 2;
  if (sub === 9 || sub === 0x5c) return 4;
  if (sub === 10 || sub === 0x5d) return 8;
  if (sub >= 0x54 && sub <= 0x5b) return 1 << ((sub - 0x54) & 3);
  return 16;
}

function atomicWidth(sub: number): number {
  if (sub <= 0x02) return sub === 0x02 ? 8 : 4;
  // 0x10.. atomic loads/stores/rmw: i32 forms 4, i64 8, 8u 1, 16u 2, 32u 4 (repeating groups of 7)
  const k = (sub - 0x10) % 7;
  return [4, 8, 1, 2, 1, 2, 4][k] ?? 4;
}

export function collectStaticRefs(m: WasmModule, lo: number, hi: number): StaticRefs {
  const n = m.bodies.length;
  const offsets = new Uint32Array(n + 1);
  let cap = 1024;
  let addr = new Uint32Array(cap);
  let width = new Uint8Array(cap);
  let store = new Uint8Array(cap);
  let exact = new Uint8Array(cap);
  let len = 0;
  const push = (a: number, w: number, s: boolean, x: boolean): void => {
    if (len === cap) {
      cap *= 2;
      const na = new Uint32Array(cap); na.set(addr); addr = na;
      const nw = new Uint8Array(cap); nw.set(width); width = nw;
      const ns = new Uint8Array(cap); ns.set(store); store = ns;
      const nx = new Uint8Array(cap); nx.set(exact); exact = nx;
    }
    addr[len] = a >>> 0;
    width[len] = w;
    store[len] = s ? 1 : 0;
    exact[len] = x ? 1 : 0;
    len++;
  };
  const mem64 = memory0(m)?.memory64 ?? false;
  for (let i = 0; i < n; i++) {
    offsets[i] = len;
    const b = m.bodies[i]!;
    let pending = -1; // an i32.const in range, waiting for its use
    walkInstructions(m.bytes, b.codeStart, b.end, (ins) => {
      const op = ins.op;
      let w = 0;
      let s = false;
      if (ins.hasMemArg) {
        if (op === 0xfd) w = simdWidth(ins.sub);
        else if (op === 0xfe) w = atomicWidth(ins.sub);
        else w = memAccessWidth(op);
        s = isStore(op) || (op === 0xfd && (ins.sub === 11 || (ins.sub >= 0x58 && ins.sub <= 0x5b))) ||
          (op === 0xfe && ins.sub >= 0x17);
      }
      if (pending >= 0) {
        if (w > 0 && !s && op !== 0xfe) {
          const a = pending + ins.memOffset;
          if (a >= lo && a < hi) push(a, w, false, true);
        } else if (op === 0x6a) {
          push(pending, 1, false, false);
        }
        pending = -1;
      }
      if (w > 0 && ins.memOffset >= lo && ins.memOffset < hi) push(ins.memOffset, w, s, true);
      if (op === 0x41) {
        const c = ins.i32 >>> 0;
        if (c >= lo && c < hi) pending = c;
      }
    }, mem64);
  }
  offsets[n] = len;
  return {
    offsets, addr: addr.slice(0, len), width: width.slice(0, len), store: store.slice(0, len),
    exact: exact.slice(0, len),
  };
}
