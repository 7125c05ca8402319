/**
 * Why: kmemleak skips its own frames when it saves a backtrace, so a report starts at the code
 * that asked for memory. Here the innermost wasm frames of an allocation are the allocator's
 * (malloc, dlmalloc, operator new, __rust_alloc, ...) and the rewriter's wrappers; they are left
 * out at the top of each saved trace. Only a leading run is dropped: an allocator function deeper
 * in the stack (a program that calls malloc from inside a custom operator new, say) stays.
 *
 * Invariant: matching is by the symbolizer's (demangled) name with any parameter list removed,
 * plus the allocator entry points the rewriter found (which covers `--allocator` names).
 */

const EXACT = new Set([
  'malloc', 'calloc', 'realloc', 'free', 'aligned_alloc', 'posix_memalign', 'memalign', 'valloc',
  'pvalloc', 'reallocarray', 'reallocf', 'malloc_usable_size',
  'dlmalloc', 'dlcalloc', 'dlrealloc', 'dlfree', 'dlmemalign', 'dlposix_memalign', 'dlvalloc',
  'dlpvalloc', 'dlrealloc_in_place', 'dlindependent_calloc', 'dlindependent_comalloc',
  'internal_malloc', 'internal_free', 'internal_memalign', 'internal_realloc', 'tmalloc_large',
  'tmalloc_small', 'sys_alloc', 'prepend_alloc', 'try_realloc_chunk', 'dispose_chunk',
  '__libc_malloc', '__libc_calloc', '__libc_realloc', '__libc_free', '__libc_malloc_impl',
  '__malloc_donate', 'emscripten_builtin_malloc', 'emscripten_builtin_memalign',
  'operator new', 'operator new[]', 'operator delete', 'operator delete[]',
  '__rust_alloc', '__rust_alloc_zeroed', '__rust_realloc', '__rust_dealloc',
  '__rdl_alloc', '__rdl_alloc_zeroed', '__rdl_realloc', '__rdl_dealloc',
  '__rg_alloc', '__rg_alloc_zeroed', '__rg_realloc', '__rg_dealloc',
]);

// `S` matches the start of the qualified name, after a template function's return type
// ("void* std::__2::__libcpp_operator_new<unsigned long>(unsigned long)").
const S = '(?:^|[\\s*&])';
const PATTERNS: RegExp[] = [
  // libc++ plumbing between a container and operator new
  new RegExp(`${S}std::__\\w+::(__libcpp_(allocate|operator_new|aligned_alloc)|allocator<.*>::allocate|allocator_traits<.*>::allocate)\\b`),
  /^(std|alloc)::alloc::(alloc|alloc_zeroed|realloc|exchange_malloc|Global::\w+)\b/,
  /^<(std|alloc)::alloc::Global as core::alloc::\w+(::\w+)*>::/,
  /^<\w+ as core::alloc::global::GlobalAlloc>::(alloc|alloc_zeroed|realloc)\b/,
  /^_Zn[wa][jm]/,                                                   // operator new, not demangled
  /^_ZN5alloc5alloc/,                                               // Rust legacy mangling
];

/** The function's name without its parameter list: "operator new(unsigned long)" -> "operator new". */
export function baseName(name: string): string {
  const open = name.startsWith('operator()') ? name.indexOf('(', 10) : name.indexOf('(');
  return (open > 0 ? name.slice(0, open) : name).trim();
}

/** True for a function name that belongs to the allocator (hidden at the top of a backtrace). */
export function isAllocatorName(name: string | null | undefined): boolean {
  if (!name) return false;
  const base = baseName(name);
  if (EXACT.has(base)) return true;
  return PATTERNS.some((re) => re.test(base) || re.test(name));
}

/**
 * C library start-up code whose allocations live for the whole program by design, held only by
 * its frames (wasi-libc's __main_void allocates argv and the argument strings and passes them to
 * main; after main returns nothing refers to them). The kernel marks such boot-time blocks with
 * kmemleak_not_leak(); the runtime does the same for blocks whose backtrace starts here.
 */
/* Emscripten's emscripten_tls_init allocates each thread's TLS block, held only by the thread's
 * __tls_base global: greyed for good, its words are roots while the thread lives (it is freed at
 * thread exit). src/api/threads/collector.ts, rule 5. */
const STARTUP = new Set(['__main_void', 'emscripten_tls_init']);

export function isStartupName(name: string | null | undefined): boolean {
  return !!name && STARTUP.has(baseName(name));
}
