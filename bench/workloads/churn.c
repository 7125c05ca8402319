/* Allocation churn: 2M malloc/free pairs, each allocation 3 calls deep (the case where peers pay
   most for stacks). Nothing leaks. */
#include <stdlib.h>
#include <stdio.h>

static void *volatile sink;
__attribute__((noinline)) static void *level3(size_t n) { return malloc(n); }
__attribute__((noinline)) static void *level2(size_t n) { return level3(n + 8); }
__attribute__((noinline)) static void *level1(size_t n) { return level2(n + 8); }

int main(int argc, char **argv) {
  long pairs = argc > 1 ? atol(argv[1]) : 2000000;
  unsigned long sum = 0;
  for (long i = 0; i < pairs; i++) {
    char *p = level1((size_t)(i & 127));
    p[0] = (char)i;
    sum += (unsigned char)p[0];
    sink = p;
    free(p);
  }
  printf("churn: %ld pairs, %lu\n", pairs, sum);
  return 0;
}
