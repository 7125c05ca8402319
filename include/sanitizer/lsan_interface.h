/*
 * sanitizer/lsan_interface.h for WebAssembly under kmemleak (`kmemleak run`).
 *
 * LeakSanitizer's interface, declared as the imports `env.__lsan_*` that kmemleak run provides,
 * so a program written for LSan builds for wasm32 without -Wl,--allow-undefined. (Clang's own
 * header works too when you link with -Wl,--allow-undefined: the calls become the same imports.)
 *
 * The callbacks a program may define (__lsan_is_turned_off, __lsan_default_options,
 * __lsan_default_suppressions) are declared here with export_name, so their definitions are
 * exported; kmemleak run also finds them by name in a binary built against clang's header.
 *
 * Not on WebAssembly, this header hands over to the toolchain's own (#include_next).
 */
#ifndef KMEMLEAK_LSAN_INTERFACE_H
#define KMEMLEAK_LSAN_INTERFACE_H

#if !defined(__wasm__)
#include_next <sanitizer/lsan_interface.h>
#else

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KMEMLEAK_LSAN_IMPORT_(name) __attribute__((import_module("env"), import_name(#name))) name

/* Allocations made between __lsan_disable() and __lsan_enable() are never reported; pairs nest. */
void KMEMLEAK_LSAN_IMPORT_(__lsan_disable)(void);
void KMEMLEAK_LSAN_IMPORT_(__lsan_enable)(void);
/* The heap block p points into is never reported (it is still scanned for pointers). */
void KMEMLEAK_LSAN_IMPORT_(__lsan_ignore_object)(const void *p);
/* Extra roots; unregister with the same pointer and size. */
void KMEMLEAK_LSAN_IMPORT_(__lsan_register_root_region)(const void *p, size_t size);
void KMEMLEAK_LSAN_IMPORT_(__lsan_unregister_root_region)(const void *p, size_t size);
/* The final check, now, at most once; ends the program with `exitcode` when it finds leaks. */
void KMEMLEAK_LSAN_IMPORT_(__lsan_do_leak_check)(void);
/* A check now that reports and returns non-zero when leaks are found; any number of times. */
int KMEMLEAK_LSAN_IMPORT_(__lsan_do_recoverable_leak_check)(void);

#undef KMEMLEAK_LSAN_IMPORT_

/* Defined by the program if it wants: non-zero turns every check off. */
__attribute__((export_name("__lsan_is_turned_off"))) int __lsan_is_turned_off(void);
/* Defined by the program if it wants: LSAN_OPTIONS-style defaults ("exitcode=3:use_stacks=0"). */
__attribute__((export_name("__lsan_default_options"))) const char *__lsan_default_options(void);
/* Defined by the program if it wants: suppressions text ("leak:function_name\n..."). */
__attribute__((export_name("__lsan_default_suppressions"))) const char *__lsan_default_suppressions(void);

#ifdef __cplusplus
}  /* extern "C" */

namespace __lsan {
class ScopedDisabler {
 public:
  ScopedDisabler() { __lsan_disable(); }
  ~ScopedDisabler() { __lsan_enable(); }
};
}  /* namespace __lsan */
#endif

#endif /* __wasm__ */
#endif /* KMEMLEAK_LSAN_INTERFACE_H */
