/*
 * valgrind/valgrind.h for WebAssembly under kmemleak (`kmemleak run`).
 *
 * Valgrind's own header compiles every client request to nothing on wasm. This one turns the
 * requests a leak checker needs into imports from the wasm module "valgrind", which kmemleak run
 * provides with Memcheck's meaning: custom allocators' blocks (MALLOCLIKE/FREELIKE/
 * RESIZEINPLACE) and memory pools are tracked and reported as Valgrind reports them, and
 * RUNNING_ON_VALGRIND is 1 (0 with `kmemleak run --off`). Every other request compiles to its
 * "not running on Valgrind" default, as Valgrind's header does natively outside Valgrind.
 *
 * Build with -I<kmemleak>/include. With NVALGRIND defined, every request compiles to nothing
 * (no imports). Not on WebAssembly, this header hands over to the system's (#include_next).
 */
#ifndef KMEMLEAK_VALGRIND_H
#define KMEMLEAK_VALGRIND_H

#if !defined(__wasm__)
#include_next <valgrind/valgrind.h>
#else

#include <stddef.h>

#define __VALGRIND_MAJOR__ 3
#define __VALGRIND_MINOR__ 19

#define VALGRIND_MEMPOOL_AUTO_FREE 1
#define VALGRIND_MEMPOOL_METAPOOL 2

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(NVALGRIND)
#define KMEMLEAK_VG_IMPORT_(name) __attribute__((import_module("valgrind"), import_name(name)))
KMEMLEAK_VG_IMPORT_("running") unsigned __kmemleak_vg_running(void);
KMEMLEAK_VG_IMPORT_("malloclike_block") void __kmemleak_vg_malloclike(const void *addr, size_t size, size_t rz, int zeroed);
KMEMLEAK_VG_IMPORT_("freelike_block") void __kmemleak_vg_freelike(const void *addr, size_t rz);
KMEMLEAK_VG_IMPORT_("resizeinplace_block") void __kmemleak_vg_resizeinplace(const void *addr, size_t old_size, size_t new_size, size_t rz);
KMEMLEAK_VG_IMPORT_("create_mempool") void __kmemleak_vg_create_mempool(const void *pool, size_t rz, int zeroed, int flags);
KMEMLEAK_VG_IMPORT_("destroy_mempool") void __kmemleak_vg_destroy_mempool(const void *pool);
KMEMLEAK_VG_IMPORT_("mempool_alloc") void __kmemleak_vg_mempool_alloc(const void *pool, const void *addr, size_t size);
KMEMLEAK_VG_IMPORT_("mempool_free") void __kmemleak_vg_mempool_free(const void *pool, const void *addr);
KMEMLEAK_VG_IMPORT_("mempool_trim") void __kmemleak_vg_mempool_trim(const void *pool, const void *addr, size_t size);
KMEMLEAK_VG_IMPORT_("move_mempool") void __kmemleak_vg_move_mempool(const void *from, const void *to);
KMEMLEAK_VG_IMPORT_("mempool_change") void __kmemleak_vg_mempool_change(const void *pool, const void *from, const void *to, size_t size);
KMEMLEAK_VG_IMPORT_("mempool_exists") int __kmemleak_vg_mempool_exists(const void *pool);
KMEMLEAK_VG_IMPORT_("do_leak_check") void __kmemleak_vg_do_leak_check(int mode);
KMEMLEAK_VG_IMPORT_("count_leaks") size_t __kmemleak_vg_count_leaks(int blocks, int which);
#undef KMEMLEAK_VG_IMPORT_

#define RUNNING_ON_VALGRIND (__kmemleak_vg_running())
#define VALGRIND_MALLOCLIKE_BLOCK(addr, sizeB, rzB, is_zeroed) \
  __kmemleak_vg_malloclike((const void *)(addr), (size_t)(sizeB), (size_t)(rzB), (int)(is_zeroed))
#define VALGRIND_FREELIKE_BLOCK(addr, rzB) __kmemleak_vg_freelike((const void *)(addr), (size_t)(rzB))
#define VALGRIND_RESIZEINPLACE_BLOCK(addr, oldSizeB, newSizeB, rzB) \
  __kmemleak_vg_resizeinplace((const void *)(addr), (size_t)(oldSizeB), (size_t)(newSizeB), (size_t)(rzB))
#define VALGRIND_CREATE_MEMPOOL(pool, rzB, is_zeroed) \
  __kmemleak_vg_create_mempool((const void *)(pool), (size_t)(rzB), (int)(is_zeroed), 0)
#define VALGRIND_CREATE_MEMPOOL_EXT(pool, rzB, is_zeroed, flags) \
  __kmemleak_vg_create_mempool((const void *)(pool), (size_t)(rzB), (int)(is_zeroed), (int)(flags))
#define VALGRIND_DESTROY_MEMPOOL(pool) __kmemleak_vg_destroy_mempool((const void *)(pool))
#define VALGRIND_MEMPOOL_ALLOC(pool, addr, size) \
  __kmemleak_vg_mempool_alloc((const void *)(pool), (const void *)(addr), (size_t)(size))
#define VALGRIND_MEMPOOL_FREE(pool, addr) __kmemleak_vg_mempool_free((const void *)(pool), (const void *)(addr))
#define VALGRIND_MEMPOOL_TRIM(pool, addr, size) \
  __kmemleak_vg_mempool_trim((const void *)(pool), (const void *)(addr), (size_t)(size))
#define VALGRIND_MOVE_MEMPOOL(poolA, poolB) __kmemleak_vg_move_mempool((const void *)(poolA), (const void *)(poolB))
#define VALGRIND_MEMPOOL_CHANGE(pool, addrA, addrB, size) \
  __kmemleak_vg_mempool_change((const void *)(pool), (const void *)(addrA), (const void *)(addrB), (size_t)(size))
#define VALGRIND_MEMPOOL_EXISTS(pool) (__kmemleak_vg_mempool_exists((const void *)(pool)))

#else /* NVALGRIND: every request compiles away */

#define RUNNING_ON_VALGRIND 0u
#define VALGRIND_MALLOCLIKE_BLOCK(addr, sizeB, rzB, is_zeroed) do { (void)(addr); } while (0)
#define VALGRIND_FREELIKE_BLOCK(addr, rzB) do { (void)(addr); } while (0)
#define VALGRIND_RESIZEINPLACE_BLOCK(addr, oldSizeB, newSizeB, rzB) do { (void)(addr); } while (0)
#define VALGRIND_CREATE_MEMPOOL(pool, rzB, is_zeroed) do { (void)(pool); } while (0)
#define VALGRIND_CREATE_MEMPOOL_EXT(pool, rzB, is_zeroed, flags) do { (void)(pool); } while (0)
#define VALGRIND_DESTROY_MEMPOOL(pool) do { (void)(pool); } while (0)
#define VALGRIND_MEMPOOL_ALLOC(pool, addr, size) do { (void)(pool); } while (0)
#define VALGRIND_MEMPOOL_FREE(pool, addr) do { (void)(pool); } while (0)
#define VALGRIND_MEMPOOL_TRIM(pool, addr, size) do { (void)(pool); } while (0)
#define VALGRIND_MOVE_MEMPOOL(poolA, poolB) do { (void)(poolA); } while (0)
#define VALGRIND_MEMPOOL_CHANGE(pool, addrA, addrB, size) do { (void)(pool); } while (0)
#define VALGRIND_MEMPOOL_EXISTS(pool) 0

#endif /* NVALGRIND */

/* Requests with no meaning for a leak checker: their defaults outside Valgrind. */
#define VALGRIND_DO_CLIENT_REQUEST_EXPR(_zzq_default, _zzq_request, _zzq_arg1, _zzq_arg2, _zzq_arg3, _zzq_arg4, _zzq_arg5) \
  (_zzq_default)
#define VALGRIND_DO_CLIENT_REQUEST_STMT(_zzq_request, _zzq_arg1, _zzq_arg2, _zzq_arg3, _zzq_arg4, _zzq_arg5) do { } while (0)
#define VALGRIND_DISCARD_TRANSLATIONS(_qzz_addr, _qzz_len) do { } while (0)
#define VALGRIND_INNER_THREADS(_qzz_addr) do { } while (0)
#define VALGRIND_COUNT_ERRORS 0u
#define VALGRIND_STACK_REGISTER(start, end) 0u
#define VALGRIND_STACK_DEREGISTER(id) do { } while (0)
#define VALGRIND_STACK_CHANGE(id, start, end) do { } while (0)
#define VALGRIND_LOAD_PDB_DEBUGINFO(fd, ptr, total_size, delta) do { } while (0)
#define VALGRIND_MAP_IP_TO_SRCLOC(addr, buf64) 0u
#define VALGRIND_DISABLE_ERROR_REPORTING do { } while (0)
#define VALGRIND_ENABLE_ERROR_REPORTING do { } while (0)
#define VALGRIND_MONITOR_COMMAND(command) 0u
#define VALGRIND_CLO_CHANGE(option) do { } while (0)
#define VALGRIND_NON_SIMD_CALL0(_qyy_fn) 0
#define VALGRIND_NON_SIMD_CALL1(_qyy_fn, _qyy_arg1) 0
#define VALGRIND_NON_SIMD_CALL2(_qyy_fn, _qyy_arg1, _qyy_arg2) 0
#define VALGRIND_NON_SIMD_CALL3(_qyy_fn, _qyy_arg1, _qyy_arg2, _qyy_arg3) 0
static inline int VALGRIND_PRINTF(const char *format, ...) { (void)format; return 0; }
static inline int VALGRIND_PRINTF_BACKTRACE(const char *format, ...) { (void)format; return 0; }

#ifdef __cplusplus
}
#endif

#endif /* __wasm__ */
#endif /* KMEMLEAK_VALGRIND_H */
