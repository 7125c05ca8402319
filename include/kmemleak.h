/*
 * kmemleak.h - the annotation interface of kmemleak for WebAssembly (SPEC section 5).
 *
 * A program that manages memory on its own (a pool, an arena, a slab of fixed-size slots) tells
 * the detector about its objects with these calls, as the Linux kernel's allocators call
 * kmemleak_alloc() and friends. Each is an import from the wasm module "kmemleak", which
 * `kmemleak run` (and the embedding API) provide.
 *
 * A module that imports them runs only under the detector. To build the same source without
 * the imports, define KMEMLEAK_DISABLE (e.g. -DKMEMLEAK_DISABLE): every call then compiles to
 * nothing and kmemleak_scan() returns 0. The calls also compile away when the target is not
 * WebAssembly, so a native build of the same program needs no change.
 *
 *   void *p = slot_take(pool);
 *   kmemleak_alloc(p, SLOT_SIZE, 1);   // track p like a malloc'd block (min_count 1)
 *   ...
 *   kmemleak_free(p);                  // before the slot is reused
 *   slot_give(pool, p);
 *
 * min_count as in kmemleak: 1 for ordinary objects; 0 never reported (always scanned);
 * -1 never scanned and never reported.
 */
#ifndef KMEMLEAK_H
#define KMEMLEAK_H

#include <stddef.h>

#if defined(__wasm__) && !defined(KMEMLEAK_DISABLE)
#define KMEMLEAK_ENABLED 1
#else
#define KMEMLEAK_ENABLED 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if KMEMLEAK_ENABLED

#define KMEMLEAK_IMPORT_(name) __attribute__((import_module("kmemleak"), import_name(name)))

/* Register [ptr, ptr + size) as an object; min_count references keep it from being reported. */
KMEMLEAK_IMPORT_("alloc") void kmemleak_alloc(const void *ptr, size_t size, int min_count);
/* Forget the object that starts at ptr (before its memory is reused). */
KMEMLEAK_IMPORT_("free") void kmemleak_free(const void *ptr);
/* Forget [ptr, ptr + size), a part of an object (e.g. a trimmed tail). */
KMEMLEAK_IMPORT_("free_part") void kmemleak_free_part(const void *ptr, size_t size);
/* Never report this object; it is still scanned, so what it points to stays referenced. */
KMEMLEAK_IMPORT_("not_leak") void kmemleak_not_leak(const void *ptr);
/* Like not_leak, for an object whose only reference is briefly out of the detector's sight. */
KMEMLEAK_IMPORT_("transient_leak") void kmemleak_transient_leak(const void *ptr);
/* Never scan and never report this object. */
KMEMLEAK_IMPORT_("ignore") void kmemleak_ignore(const void *ptr);
/* Do not scan this object's contents; it can still be reported. */
KMEMLEAK_IMPORT_("no_scan") void kmemleak_no_scan(const void *ptr);
/* Scan only [ptr + offset, ptr + offset + length) of this object (may be called several times). */
KMEMLEAK_IMPORT_("scan_area") void kmemleak_scan_area(const void *ptr, size_t offset, size_t length);
/* Replace the object's allocation backtrace with the caller's. */
KMEMLEAK_IMPORT_("update_trace") void kmemleak_update_trace(const void *ptr);
/* Scan now (as `echo scan > .../kmemleak`); returns the number of new suspected leaks. */
KMEMLEAK_IMPORT_("scan") int kmemleak_scan(void);

#undef KMEMLEAK_IMPORT_

#else /* the calls compile away */

static inline void kmemleak_alloc(const void *ptr, size_t size, int min_count) { (void)ptr; (void)size; (void)min_count; }
static inline void kmemleak_free(const void *ptr) { (void)ptr; }
static inline void kmemleak_free_part(const void *ptr, size_t size) { (void)ptr; (void)size; }
static inline void kmemleak_not_leak(const void *ptr) { (void)ptr; }
static inline void kmemleak_transient_leak(const void *ptr) { (void)ptr; }
static inline void kmemleak_ignore(const void *ptr) { (void)ptr; }
static inline void kmemleak_no_scan(const void *ptr) { (void)ptr; }
static inline void kmemleak_scan_area(const void *ptr, size_t offset, size_t length) { (void)ptr; (void)offset; (void)length; }
static inline void kmemleak_update_trace(const void *ptr) { (void)ptr; }
static inline int kmemleak_scan(void) { return 0; }

#endif

#ifdef __cplusplus
}
#endif

#endif /* KMEMLEAK_H */
