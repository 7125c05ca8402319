/*
 * valgrind/memcheck.h for WebAssembly under kmemleak (`kmemleak run`).
 *
 * Memcheck's leak-check requests as imports from the wasm module "valgrind" (see valgrind.h):
 *   VALGRIND_DO_LEAK_CHECK          a check now; every leaked block is reported
 *   VALGRIND_DO_ADDED_LEAK_CHECK    a check now; the blocks leaked since the previous check
 *   VALGRIND_DO_CHANGED_LEAK_CHECK  the same (kmemleak reports no "decreased" entries)
 *   VALGRIND_DO_NEW_LEAK_CHECK      the same
 *   VALGRIND_DO_QUICK_LEAK_CHECK    a check now; the summary line only
 *   VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed)        bytes, from the last check
 *   VALGRIND_COUNT_LEAK_BLOCKS(leaked, dubious, reachable, suppressed)  blocks, from the last check
 * `dubious` (Memcheck's "possibly lost") is always 0: kmemleak counts a pointer into a block as a
 * reference to it. The definedness and addressability requests compile to their defaults.
 */
#ifndef KMEMLEAK_MEMCHECK_H
#define KMEMLEAK_MEMCHECK_H

#if !defined(__wasm__)
#include_next <valgrind/memcheck.h>
#else

#include "valgrind.h"

#if !defined(NVALGRIND)
#define KMEMLEAK_VG_CHECK_(mode) __kmemleak_vg_do_leak_check(mode)
#define KMEMLEAK_VG_COUNT_(blocks, leaked, dubious, reachable, suppressed) do {            \
    leaked = (__typeof__(leaked))__kmemleak_vg_count_leaks((blocks), 0);                   \
    dubious = (__typeof__(dubious))__kmemleak_vg_count_leaks((blocks), 1);                 \
    reachable = (__typeof__(reachable))__kmemleak_vg_count_leaks((blocks), 2);             \
    suppressed = (__typeof__(suppressed))__kmemleak_vg_count_leaks((blocks), 3);           \
  } while (0)
#else
#define KMEMLEAK_VG_CHECK_(mode) do { } while (0)
#define KMEMLEAK_VG_COUNT_(blocks, leaked, dubious, reachable, suppressed) do {            \
    leaked = 0; dubious = 0; reachable = 0; suppressed = 0;                                 \
  } while (0)
#endif

#define VALGRIND_DO_LEAK_CHECK KMEMLEAK_VG_CHECK_(0)
#define VALGRIND_DO_ADDED_LEAK_CHECK KMEMLEAK_VG_CHECK_(1)
#define VALGRIND_DO_CHANGED_LEAK_CHECK KMEMLEAK_VG_CHECK_(2)
#define VALGRIND_DO_QUICK_LEAK_CHECK KMEMLEAK_VG_CHECK_(3)
#define VALGRIND_DO_NEW_LEAK_CHECK KMEMLEAK_VG_CHECK_(4)
#define VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed) \
  KMEMLEAK_VG_COUNT_(0, leaked, dubious, reachable, suppressed)
#define VALGRIND_COUNT_LEAK_BLOCKS(leaked, dubious, reachable, suppressed) \
  KMEMLEAK_VG_COUNT_(1, leaked, dubious, reachable, suppressed)

#define VALGRIND_MAKE_MEM_NOACCESS(_qzz_addr, _qzz_len) 0
#define VALGRIND_MAKE_MEM_UNDEFINED(_qzz_addr, _qzz_len) 0
#define VALGRIND_MAKE_MEM_DEFINED(_qzz_addr, _qzz_len) 0
#define VALGRIND_MAKE_MEM_DEFINED_IF_ADDRESSABLE(_qzz_addr, _qzz_len) do { } while (0)
#define VALGRIND_CREATE_BLOCK(_qzz_addr, _qzz_len, _qzz_desc) 0
#define VALGRIND_DISCARD(_qzz_blkindex) 0
#define VALGRIND_CHECK_MEM_IS_ADDRESSABLE(_qzz_addr, _qzz_len) 0
#define VALGRIND_CHECK_MEM_IS_DEFINED(_qzz_addr, _qzz_len) 0
#define VALGRIND_CHECK_VALUE_IS_DEFINED(__lvalue) 0
#define VALGRIND_GET_VBITS(zza, zzvbits, zznbytes) 0
#define VALGRIND_SET_VBITS(zza, zzvbits, zznbytes) 0
#define VALGRIND_DISABLE_ADDR_ERROR_REPORTING_IN_RANGE(_qzz_addr, _qzz_len) 0
#define VALGRIND_ENABLE_ADDR_ERROR_REPORTING_IN_RANGE(_qzz_addr, _qzz_len) 0

#endif /* __wasm__ */
#endif /* KMEMLEAK_MEMCHECK_H */
