/* Random-lifetime churn: a table of 1024 slots; each step picks a slot at random, frees the block
   it holds and puts a new one there (16..527 bytes, 3 calls deep). A block lives on average 1024
   steps, so it outlives a batch of the event log and every free reaches the detector's table.
   Nothing leaks: the table is emptied at the end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024
static void *slot[SLOTS];
static uint32_t rng = 2463534242u;
static uint32_t next_rand(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

__attribute__((noinline)) static void *level3(size_t n) { return malloc(n); }
__attribute__((noinline)) static void *level2(size_t n) { return level3(n); }
__attribute__((noinline)) static void *level1(size_t n) { return level2(n); }

int main(int argc, char **argv) {
  long steps = argc > 1 ? atol(argv[1]) : 2000000;
  unsigned long sum = 0;
  for (long i = 0; i < steps; i++) {
    uint32_t r = next_rand();
    uint32_t k = r % SLOTS;
    size_t n = 16 + ((r >> 10) & 511);
    free(slot[k]);
    char *p = level1(n);
    memset(p, (int)i, 16);
    sum += (unsigned char)p[n - 1 < 15 ? n - 1 : 15];
    slot[k] = p;
  }
  for (int k = 0; k < SLOTS; k++) free(slot[k]);
  printf("churn_random: %ld steps, %lu\n", steps, sum);
  return 0;
}
