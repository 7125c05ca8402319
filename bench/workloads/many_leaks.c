/* Many leaked objects, for the cost of writing a report (issue 12): N objects of 24..152 bytes
   (text and pointers in them) from 64 call sites, each reached through its own chain of three
   calls, so the report has 64 distinct backtraces. With "leak" every object is dropped as it is
   made (N leaks); with "keep" the same objects stay referenced from a global array (no leak):
   the difference between the two runs is what reporting costs.
     many_leaks.wasm [N] [leak|keep]       default 100000 leak */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void **kept;
static size_t nkept;
static int keep;

__attribute__((noinline)) static void *make(unsigned i) {
  size_t size = 24 + (i * 2654435761u >> 25);      /* 24..151 */
  char *p = malloc(size);
  snprintf(p, size, "object %u of many, made at site %u", i, i % 64);
  return p;
}

#define SITE(k)                                                                   \
  __attribute__((noinline)) static void *site##k(unsigned i) { return make(i); } \
  __attribute__((noinline)) static void *via##k(unsigned i) { void *p = site##k(i); __asm__ volatile("" ::: "memory"); return p; }
#define SITES8(a) SITE(a##0) SITE(a##1) SITE(a##2) SITE(a##3) SITE(a##4) SITE(a##5) SITE(a##6) SITE(a##7)
SITES8(1) SITES8(2) SITES8(3) SITES8(4) SITES8(5) SITES8(6) SITES8(7) SITES8(8)

typedef void *(*maker)(unsigned);
#define V8(a) via##a##0, via##a##1, via##a##2, via##a##3, via##a##4, via##a##5, via##a##6, via##a##7
static maker makers[64] = {V8(1), V8(2), V8(3), V8(4), V8(5), V8(6), V8(7), V8(8)};

__attribute__((noinline)) static void one(unsigned i) {
  void *p = makers[i % 64](i);
  if (keep) kept[nkept++] = p;
}

int main(int argc, char **argv) {
  unsigned n = argc > 1 ? (unsigned)atol(argv[1]) : 100000;
  keep = argc > 2 && strcmp(argv[2], "keep") == 0;
  if (keep) kept = malloc(n * sizeof *kept);
  for (unsigned i = 0; i < n; i++) one(i);
  printf("%u objects %s\n", n, keep ? "kept" : "leaked");
  return 0;
}
