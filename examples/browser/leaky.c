/* The browser demo's program: a WASI command that builds a small address book, keeps part of it
 * in a global list, loses the rest, and prints what it did. kmemleak reports the lost entries
 * (each with its name buffer) when the page scans after the program ran.
 * Build: ./build.sh (Debian's clang for wasm32-wasi; the link keeps the name section). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
  struct entry *next;
  char *name;
  int id;
};

static struct entry *kept; /* reachable: never reported */

__attribute__((noinline)) static struct entry *new_entry(const char *name, int id) {
  struct entry *e = malloc(sizeof *e);
  e->name = strdup(name);
  e->id = id;
  e->next = 0;
  return e;
}

__attribute__((noinline)) static void keep(struct entry *e) {
  e->next = kept;
  kept = e;
}

__attribute__((noinline)) static void lose(struct entry *e) {
  /* forgets e: neither the entry nor its name is freed */
  (void)e;
}

int main(int argc, char **argv) {
  static const char *names[] = {"ada", "grace", "linus", "ken", "dennis", "barbara"};
  int n = argc > 1 ? atoi(argv[1]) : 6;
  for (int i = 0; i < n; i++) {
    struct entry *e = new_entry(names[i % 6], i);
    if (i % 2 == 0) keep(e);
    else lose(e);
  }
  int count = 0;
  for (struct entry *e = kept; e; e = e->next) count++;
  printf("kept %d entries, lost %d\n", count, n - count);
  return 0;
}
