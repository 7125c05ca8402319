/* A heap past 2 GiB (issue 12): MB megabytes in 64 KiB blocks kept reachable in a list, then
   five 100-byte leaks at the top (above 2^31 once MB > 2048). The heap is taken from the memory
   in one step (one malloc, freed): Node 20's V8 runs a full garbage collection at every
   memory.grow past 2 GiB, which would make the run itself take minutes.
   Link with -Wl,--max-memory=4294967296 (bench/big-heap.mjs does).
     big_heap.wasm [MB]        default 2200 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
struct node { struct node *next; char pad[65536 - sizeof(void*)]; };
static struct node *head;
char *volatile sink;
int main(int argc, char **argv) {
  long mb = argc > 1 ? atol(argv[1]) : 2200;
  long n = mb * 16;
  free(malloc((size_t)n * sizeof(struct node) + (1 << 20)));
  for (long i = 0; i < n; i++) {
    struct node *p = malloc(sizeof *p);
    if (!p) { fprintf(stderr, "oom at %ld\n", i); return 1; }
    p->next = head; head = p;
  }
  for (int i = 0; i < 5; i++) { char *q = malloc(100); memset(q, 'x', 100); sink = q; }
  sink = 0;
  printf("allocated %ld MB, head=%p\n", mb, (void*)head);
  return 0;
}
