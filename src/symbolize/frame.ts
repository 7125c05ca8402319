/**
 * A symbolized backtrace frame. Raw frames are pairs (funcIndex, moduleOffset) in the original,
 * un-rewritten binary; symbolizers turn them into these.
 */
export interface Frame {
  /** Demangled function name; null when nothing names the function. */
  function: string | null;
  /** Bytes from the start of the function's body. */
  offset: number;
  /** The function body's size in bytes. */
  size: number;
  file?: string;
  line?: number;
  column?: number;
  /** Function index in the original binary (imports first). */
  funcIndex: number;
  /**
   * True for a function inlined into the real frame that follows it (DWARF's
   * DW_TAG_inlined_subroutine): its file:line is the position in the inlined function; offset,
   * size and funcIndex are the real frame's. Absent on real frames.
   */
  inline?: true;
}

/** Turns a stack-depot handle into frames, innermost first. */
export interface TraceDescriber {
  describe(trace: number): Frame[];
}
