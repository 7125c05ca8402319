/**
 * Demangling for every name the symbolizer shows: C++ (Itanium), Rust legacy and Rust v0.
 *
 * `demangle` takes a symbol as the linker saw it (DWARF linkage names, stripped builds' exports);
 * `cleanName` takes a name-section name, which wasm-ld has usually demangled already with an
 * Itanium demangler: that leaves Rust legacy names as `crate::Type$LT$T$GT$::f::h0123456789abcdef`,
 * which it finishes the way rustfilt would (escapes decoded, hash dropped).
 *
 * Invariant: both never throw and return their input unchanged when it is not a mangling they
 * fully understand.
 */
import { demangleItanium } from './itanium.js';
import { demangleRust, isLegacyRust, unescapeLegacy } from './rust.js';

export { demangleItanium } from './itanium.js';
export { demangleRust } from './rust.js';

export function demangle(name: string): string {
  try {
    if (name.startsWith('_R') || name.startsWith('__R')) return demangleRust(name) ?? name;
    if (name.startsWith('_Z') || name.startsWith('__Z')) {
      if (isLegacyRust(name)) return demangleRust(name) ?? demangleItanium(name) ?? name;
      return demangleItanium(name) ?? demangleRust(name) ?? name;
    }
    return name;
  } catch {
    return name; // a bug here must never cost a report
  }
}

const ITANIUM_RUST_HASH = /::h[0-9a-f]{16}$/;

export function cleanName(name: string): string {
  if (/^_{1,2}[ZR]/.test(name)) return demangle(name);
  if (ITANIUM_RUST_HASH.test(name)) {
    const path = name.slice(0, -19);
    if (/^[\w$.:]+$/.test(path)) return path.split('::').map(unescapeLegacy).join('::');
  }
  return name;
}
