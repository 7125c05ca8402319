/* leaks.c - one of each kind of finding, for `./bin/kmemleak run examples/leaks.wasm`.
 *
 * Reported (6 objects):
 *   - a plain leak: a 100-byte message buffer whose pointer was dropped (make_greeting);
 *   - a leaked list: its head and both nodes behind it, 3 x 24 bytes (build_list): a block that
 *     only leaked blocks point to is a leak too;
 *   - a cycle: two 40-byte peers pointing at each other and nothing else (make_cycle).
 * Not reported:
 *   - a 256-byte table reachable only through a pointer into its middle (interior pointers count);
 *   - a 64-byte cache marked with kmemleak_not_leak() (annotations: include/kmemleak.h);
 *   - everything freed, and a config block still referenced from a global.
 * Build: examples/build.sh (clang --target=wasm32-wasi; the .wasm is committed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kmemleak.h"

#define NOINLINE __attribute__((noinline))

struct node { struct node *next; int value; char pad[16]; };
struct peer { struct peer *other; char name[36]; };

static char *config;            /* referenced: not a leak */
static const char *table_cursor; /* points into the middle of a table: not a leak */
static void *volatile sink;     /* keeps the optimiser from removing allocations */

NOINLINE static void make_greeting(const char *who) {
  char *msg = malloc(100);
  snprintf(msg, 100, "hello, %s: this buffer is never freed", who);
  sink = msg;
  sink = 0;
}

NOINLINE static struct node *build_list(int n) {
  struct node *head = 0;
  for (int i = 0; i < n; i++) {
    struct node *e = calloc(1, sizeof *e);
    e->next = head;
    e->value = i;
    head = e;
  }
  return head;
}

NOINLINE static void make_cycle(void) {
  struct peer *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  a->other = b; strcpy(a->name, "peer a");
  b->other = a; strcpy(b->name, "peer b");
  sink = a;
  sink = 0;
}

NOINLINE static void make_table(void) {
  char *table = malloc(256);
  memset(table, 't', 256);
  table_cursor = table + 128;
}

NOINLINE static void make_cache(void) {
  void *cache = malloc(64);
  memset(cache, 'c', 64);
  kmemleak_not_leak(cache);   /* we know: it lives until exit on purpose */
  sink = cache;
  sink = 0;
}

int main(void) {
  config = strdup("verbose=1");
  make_greeting("world");
  struct node *list = build_list(3);
  sink = list;
  list = 0;
  sink = 0;
  make_cycle();
  make_table();
  make_cache();
  char *scratch = malloc(500);
  free(scratch);
  printf("leaks: done (config %s, table %c)\n", config, *table_cursor);
  return 0;
}
