/* Allocation cost on 4 threads (bench/threads.mjs, issue 18): each thread does OPS rounds of
 * malloc (16..271 bytes) into one of its 64 slots and free of the block that was there, then
 * frees its slots. argv: OPS [join|poll]: main waits in pthread_join ("join", where no JavaScript
 * runs on the main thread) or polls with usleep(1 ms) until all are done ("poll"). Prints the time
 * from the first pthread_create to the last join, measured by the program itself. */
#include <emscripten.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define SLOTS 64
static int ops;
static volatile int done[THREADS];

static void *work(void *arg) {
  int t = (int)(long)arg;
  unsigned seed = 77u + (unsigned)t;
  void *slot[SLOTS] = {0};
  for (int i = 0; i < ops; i++) {
    int s = rand_r(&seed) % SLOTS;
    size_t n = 16 + rand_r(&seed) % 256;
    char *p = malloc(n);
    p[0] = (char)i;
    free(slot[s]);
    slot[s] = p;
  }
  for (int s = 0; s < SLOTS; s++) free(slot[s]);
  done[t] = 1;
  return NULL;
}

int main(int argc, char **argv) {
  ops = argc > 1 ? atoi(argv[1]) : 100000;
  int poll = argc > 2 && !strcmp(argv[2], "poll");
  pthread_t t[THREADS];
  double t0 = emscripten_get_now();
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, work, (void *)i);
  if (poll) {
    for (;;) {
      int all = 1;
      for (int i = 0; i < THREADS; i++) all &= done[i];
      if (all) break;
      usleep(1000);
    }
  }
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  printf("alloc4: %d threads x %d ops (%s): %.1f ms\n", THREADS, ops, poll ? "poll" : "join", emscripten_get_now() - t0);
  return 0;
}
