/**
 * The one error class for bad wasm input.
 *
 * Why: a malformed or truncated module must reach the user as one line ("not a wasm module (bad
 * magic)", "truncated section at offset 0x1f"), never as a RangeError from a typed array or a JS
 * stack trace. Every decoder in src/wasm/ throws only this class for problems in the input; any
 * other exception is a bug in our code.
 *
 * Invariant: `message` is a single line and `offset` (when known) is the module byte offset where
 * decoding failed.
 */
export class WasmFormatError extends Error {
  constructor(message: string, readonly offset: number = -1) {
    super(message);
    this.name = 'WasmFormatError';
  }
}

/** Input that is valid wasm but uses something this tool cannot rewrite or analyse. */
export class WasmUnsupportedError extends WasmFormatError {
  constructor(message: string, offset: number = -1) {
    super(message, offset);
    this.name = 'WasmUnsupportedError';
  }
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}
