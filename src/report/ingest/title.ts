/**
 * A site's title, `memory leak in FUNC`.
 *
 * Kernel records: FUNC is the frame syzkaller's report parser would name, so that a leak read here
 * and the same leak on syzbot have one title (`test/fixtures/kernel-reports/` checks all twelve of
 * syzkaller's kmemleak logs). The rules, restated from reading syzkaller's pkg/report/linux.go:
 * - only frames printed with an offset count (`func+0x1/0x2`); inlined frames (`[inline]`) and bare
 *   addresses do not;
 * - a frame is passed over when its name contains (anywhere) one of the patterns below: the
 *   allocators and kmemleak's own frames, then helpers that allocate on the caller's behalf
 *   (string and memory duplication, printf-to-buffer, object naming) or that sit on every path
 *   (user-copy helpers: `get_user` also passes over `sget_userns`, which syzkaller does too);
 * - FUNC is the name up to its first `.` (`do_ipv6_setsockopt.isra.7` -> `do_ipv6_setsockopt`),
 *   without a syscall wrapper's prefix (`__x64_sys_`, `SyS_`, ...);
 * - no frame left: `memory leak in corrupted`.
 * Ours: FUNC is the first shown frame (SPEC §7); the report already hides the allocator's frames.
 */
import type { IngestFrame, RecordOrigin } from './model.js';

const PASSED_OVER: readonly RegExp[] = [
  // kmemleak and stack capture
  /kmemleak/, /create_object/, /save_stack/, /stack_trace_save/, /stack_depot/,
  // allocators (kmalloc, kzalloc, kcalloc, vmalloc, kmem_cache_alloc, __alloc_skb, alloc_inode, ...)
  /alloc/, /kmem/, /slab/, /mmap/, /idr_get/, /list_lru_init/, /pcpu_create/,
  // helpers that allocate for their caller
  /strn?dup/, /memdup/, /asprintf/, /^kobject_/,
  // helpers on every path
  /get_user/, /put_user/, /copy_(?:to|from)_user/, /debug_object/, /memcpy/, /memset/,
];

const SYSCALL_PREFIXES = /^(?:__x64_sys_|__ia32_sys_|__arm64_sys_|__se_sys_|__do_sys_|__sys_|compat_SyS_|compat_SYSC_|SyS_|SYSC_|sys_)/;
const KERNEL_NAME = /^[A-Za-z0-9_.]+$/;

export const CORRUPTED_TITLE = 'memory leak in corrupted';

/** The frame a kernel record's title names (index into backtrace), or -1. */
export function kernelTitleFrame(frames: readonly IngestFrame[]): number {
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    if (f.function === null || f.inline || f.offset === undefined || !KERNEL_NAME.test(f.function)) continue;
    const name = f.function.split('.')[0];
    if (name === '' || PASSED_OVER.some((p) => p.test(name))) continue;
    return i;
  }
  return -1;
}

export function titleFor(frames: readonly IngestFrame[], origin: RecordOrigin): string {
  if (origin === 'kmemleak-wasm') {
    const first = frames[0];
    if (!first) return 'memory leak in (no backtrace)';
    return `memory leak in ${first.function ?? first.address ?? '??'}`;
  }
  const i = kernelTitleFrame(frames);
  if (i < 0) return CORRUPTED_TITLE;
  return `memory leak in ${frames[i].function!.split('.')[0].replace(SYSCALL_PREFIXES, '')}`;
}
