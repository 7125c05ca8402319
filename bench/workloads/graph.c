/* A large object graph, the shape of a real program's heap at scale (issue 12): N objects of mixed
   sizes from 16 B to 4 KB (mostly small: each size class 16, 32, ... 4096 half as likely as the
   one below, plus jitter; ~90 bytes on average), linked as a random tree (first child / next
   sibling) with cross edges in the larger objects, allocated from a few call sites, with some
   short-lived temporaries freed on the way. 1% of the objects are leaked: dropped as they are
   made, each pointing to the previously leaked one (direct and indirect leaks).
     graph.wasm [N]        default 1000000 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct obj { struct obj *child, *sibling; };   /* 8 bytes: fits the smallest (16 B) objects */

static struct obj **all;        /* every live object, by number (the program's index) */
static struct obj *leaked;      /* the last leaked object; cleared at the end */
static unsigned rng = 2463534242u;

static unsigned next(void) {    /* xorshift32 */
  rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;
  return rng;
}

static size_t pick_size(void) {
  unsigned r = next();
  int cls = 0;
  while (cls < 8 && (r & (1u << cls))) cls++;   /* class k with probability 2^-(k+1) */
  size_t base = (size_t)16 << cls;
  size_t size = base + (next() % base) / 2;     /* jitter within the class */
  return size > 4096 ? 4096 : size;
}

__attribute__((noinline)) static struct obj *make_small(size_t size) {
  struct obj *o = malloc(size);
  memset(o, 0, size < 64 ? size : 64);
  return o;
}

__attribute__((noinline)) static struct obj *make_large(size_t size) {
  return calloc(1, size);   /* main() puts cross edges in words 2..5 */
}

__attribute__((noinline)) static void churn(void) {
  char *tmp = malloc(16 + next() % 200);
  tmp[0] = 1;
  free(tmp);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  if (n < 2) n = 2;
  all = malloc(sizeof *all * (size_t)n);
  long live = 0, leaks = 0;
  unsigned long bytes = 0;
  for (long i = 0; i < n; i++) {
    size_t size = pick_size();
    struct obj *o = size < 256 ? make_small(size) : make_large(size);
    bytes += size;
    if (size >= 256 && live > 0) {
      struct obj **words = (struct obj **)o;
      for (int k = 2; k < 6; k++) words[k] = all[next() % live];
    }
    if (i > 0 && next() % 100 == 0) {         /* 1%: leaked, chained to the previous leak */
      o->sibling = leaked;
      leaked = o;
      leaks++;
    } else if (live == 0) {
      all[live++] = o;
    } else {
      struct obj *parent = all[next() % live];
      o->sibling = parent->child;
      parent->child = o;
      all[live++] = o;
    }
    if ((i & 7) == 0) churn();
  }
  leaked = 0;
  printf("graph: %ld objects (%lu bytes), %ld leaked\n", n, bytes, leaks);
  return 0;
}
