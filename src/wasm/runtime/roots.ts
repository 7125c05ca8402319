/**
 * Why: kmemleak's roots, in a wasm program (SPEC §2): the writable static data (.data and .bss)
 * minus the allocator's private state (its chunk pointers alias the tails of neighbouring blocks
 * and would hide leaks), plus the live part of the shadow stack, [stack pointer, stack top),
 * unless stack scanning is off.
 *
 * Invariants: static roots are computed once, sorted, non-overlapping and non-empty; the stack
 * range is read at each scan (the stack pointer moves) and clipped to memory; no JS objects are
 * created per scan beyond what the engine's `add` does.
 */

export type Range = readonly [start: number, end: number];

/** `range` minus every excluded range, as sorted non-empty pieces. */
export function subtractRanges(range: Range, excluded: readonly Range[]): Array<[number, number]> {
  let pieces: Array<[number, number]> = range[1] > range[0] ? [[range[0], range[1]]] : [];
  for (const [xs, xe] of excluded) {
    if (xe <= xs) continue;
    const next: Array<[number, number]> = [];
    for (const [s, e] of pieces) {
      if (xe <= s || xs >= e) { next.push([s, e]); continue; }
      if (xs > s) next.push([s, xs]);
      if (xe < e) next.push([xe, e]);
    }
    pieces = next;
  }
  return pieces.sort((a, b) => a[0] - b[0]);
}

export interface StackSource {
  /** Whether the shadow stack is scanned now (`--stack`, the control file's stack=on|off). */
  enabled(): boolean;
  /** The current stack pointer, or -1 when unknown. */
  pointer(): number;
  /** The stack's top (its initial pointer; the stack grows down from there). */
  readonly top: number;
}

/** The root provider handed to the engine: static pieces, then the live stack. */
export function rootProvider(
  staticRoots: ReadonlyArray<readonly [number, number]>,
  stack: StackSource | null,
  memorySize: () => number,
): (add: (start: number, end: number) => void) => void {
  return (add) => {
    const limit = memorySize();
    for (let i = 0; i < staticRoots.length; i++) {
      const r = staticRoots[i]!;
      const end = Math.min(r[1], limit);
      if (end > r[0]) add(r[0], end);
    }
    if (stack && stack.enabled()) {
      const sp = stack.pointer();
      const top = Math.min(stack.top, limit);
      if (sp >= 0 && sp < top) add(sp - (sp & 3), top); // not sp & ~3: negative from 2^31 up
    }
  };
}
