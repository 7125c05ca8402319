/**
 * Shared by the symbolizer tests: fixture paths and the function bodies of a fixture, read with
 * the fixtures' own small parser (test/fixtures/symbolize/wasm-bodies.mjs), not the code under
 * test.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs helper shared with the fixture scripts
import { wasmBodies as wasmBodiesJs } from '../fixtures/symbolize/wasm-bodies.mjs';

export const FIXTURES = fileURLToPath(new URL('../fixtures/symbolize/', import.meta.url));

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(FIXTURES + name));
}

export function fixtureText(name: string): string {
  return readFileSync(FIXTURES + name, 'utf8');
}

export interface Body {
  funcIndex: number;
  start: number;
  size: number;
}

export function wasmBodies(bytes: Uint8Array): { codeStart: number; bodies: Body[] } {
  return wasmBodiesJs(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** File offset of the first `call <callee>` in a body (opcode 0x10, then a LEB128 index). */
export function findCall(bytes: Uint8Array, body: Body, callee: number): number {
  for (let p = body.start; p < body.start + body.size - 1; p++) {
    if (bytes[p] !== 0x10) continue;
    let v = 0, shift = 0, q = p + 1, b: number;
    do {
      b = bytes[q++]!;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80 && q < p + 6);
    if (v === callee) return p;
  }
  throw new Error(`no call ${callee} in function ${body.funcIndex}`);
}
