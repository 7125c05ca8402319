/* An interpreter's heap, allocated as Lua's allocator does it: one function, l_alloc(ptr, osize,
   nsize), that calls realloc for every new object (ptr NULL) and every growth, and free when nsize
   is 0. The "script" builds strings in a growing buffer, tables whose array parts double through
   realloc, and drops most of them; a mark-and-sweep collector over the list of all objects frees
   the unreachable ones every 256 KiB of allocation. Nothing leaks: the state is closed at the end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *l_alloc(void *ptr, size_t osize, size_t nsize) {
  (void)osize;
  if (nsize == 0) { free(ptr); return NULL; }
  return realloc(ptr, nsize);
}

enum { T_STR, T_TABLE };
typedef struct Obj { struct Obj *next; uint8_t type, marked; uint32_t size; } Obj;
typedef struct { Obj h; uint32_t hash, len; char data[]; } Str;
typedef struct { Obj h; Obj **array; uint32_t n, cap; } Table;

static Obj *allgc;
static size_t debt;
#define NROOTS 256
static Obj *roots[NROOTS];
static uint32_t rng = 88172645u;
static uint32_t next_rand(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

static void *new_obj(int type, size_t size) {
  Obj *o = l_alloc(NULL, 0, size);
  o->next = allgc; o->type = (uint8_t)type; o->marked = 0; o->size = (uint32_t)size;
  allgc = o;
  debt += size;
  return o;
}

static Str *new_str(const char *s, uint32_t len) {
  Str *str = new_obj(T_STR, sizeof(Str) + len + 1);
  memcpy(str->data, s, len); str->data[len] = 0; str->len = len;
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  str->hash = h;
  return str;
}

static Table *new_table(void) {
  Table *t = new_obj(T_TABLE, sizeof(Table));
  t->array = NULL; t->n = 0; t->cap = 0;
  return t;
}

static void table_push(Table *t, Obj *v) {
  if (t->n == t->cap) {
    uint32_t cap = t->cap ? t->cap * 2 : 4;
    t->array = l_alloc(t->array, t->cap * sizeof(Obj *), cap * sizeof(Obj *));
    debt += (cap - t->cap) * sizeof(Obj *);
    t->cap = cap;
  }
  t->array[t->n++] = v;
}

/* A string builder (luaL_Buffer): grows by doubling through realloc, then becomes a string. */
typedef struct { char *b; size_t n, cap; } Buffer;
static void buf_add(Buffer *B, const char *s, size_t len) {
  if (B->n + len > B->cap) {
    size_t cap = B->cap ? B->cap * 2 : 32;
    while (cap < B->n + len) cap *= 2;
    B->b = l_alloc(B->b, B->cap, cap);
    B->cap = cap;
  }
  memcpy(B->b + B->n, s, len); B->n += len;
}

static void mark(Obj *o) {
  while (o && !o->marked) {
    o->marked = 1;
    if (o->type != T_TABLE) return;
    Table *t = (Table *)o;
    for (uint32_t i = 0; i + 1 < t->n; i++) mark(t->array[i]);
    o = t->n ? t->array[t->n - 1] : NULL;
  }
}

static void free_obj(Obj *o) {
  if (o->type == T_TABLE) { Table *t = (Table *)o; l_alloc(t->array, t->cap * sizeof(Obj *), 0); }
  l_alloc(o, o->size, 0);
}

static void collect(void) {
  for (int i = 0; i < NROOTS; i++) mark(roots[i]);
  Obj **p = &allgc;
  while (*p) {
    Obj *o = *p;
    if (o->marked) { o->marked = 0; p = &o->next; }
    else { *p = o->next; free_obj(o); }
  }
  debt = 0;
}

static const char *words[] = { "local", "function", "return", "end", "while", "do", "self", "nil", "x", "value" };

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 60000;
  unsigned long sum = 0;
  for (long r = 0; r < rounds; r++) {
    Table *t = new_table();
    int items = 1 + (int)(next_rand() % 48);
    for (int i = 0; i < items; i++) {
      Buffer B = { 0, 0, 0 };
      int parts = 1 + (int)(next_rand() % 6);
      for (int k = 0; k < parts; k++) { const char *w = words[next_rand() % 10]; buf_add(&B, w, strlen(w)); buf_add(&B, " ", 1); }
      Str *s = new_str(B.b, (uint32_t)B.n);
      l_alloc(B.b, B.cap, 0);
      sum += s->hash & 0xff;
      table_push(t, &s->h);
      if ((next_rand() & 7) == 0) table_push(t, &new_table()->h);
    }
    /* keep some tables alive for a while: a root slot is overwritten at random */
    if ((next_rand() & 3) == 0) roots[next_rand() % NROOTS] = &t->h;
    if (debt > (256u << 10)) collect();
  }
  memset(roots, 0, sizeof roots);
  collect();
  printf("interp_realloc: %ld rounds, %lu\n", rounds, sum);
  return 0;
}
