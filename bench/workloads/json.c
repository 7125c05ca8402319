/* JSON as a document library does it (modelled on cJSON): a multi-megabyte document is generated,
   parsed into a tree of small nodes (one malloc per value, one per key and per string), printed
   back into a buffer that grows through realloc, and the tree is freed. Several rounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { J_NULL, J_NUM, J_STR, J_ARR, J_OBJ, J_TRUE, J_FALSE };
typedef struct Node { struct Node *next, *child; char *key; char *str; double num; int type; } Node;

typedef struct { char *b; size_t n, cap; } Out;
static void out_add(Out *o, const char *s, size_t len) {
  if (o->n + len + 1 > o->cap) {
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->n + len + 1) cap *= 2;
    o->b = realloc(o->b, cap);
    o->cap = cap;
  }
  memcpy(o->b + o->n, s, len); o->n += len; o->b[o->n] = 0;
}
static void out_str(Out *o, const char *s) { out_add(o, s, strlen(s)); }

static uint32_t rng = 362436069u;
static uint32_t next_rand(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static const char *names[] = { "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel" };

/* ---- the document ---- */
static void gen_value(Out *o, int depth) {
  char tmp[32];
  uint32_t r = next_rand() % (depth > 3 ? 4 : 7);
  switch (r) {
  case 0: snprintf(tmp, sizeof tmp, "%u", next_rand() % 100000); out_str(o, tmp); break;
  case 1: out_str(o, "\""); out_str(o, names[next_rand() % 8]); out_str(o, " "); out_str(o, names[next_rand() % 8]); out_str(o, "\""); break;
  case 2: out_str(o, next_rand() & 1 ? "true" : "null"); break;
  case 3: snprintf(tmp, sizeof tmp, "%u.%02u", next_rand() % 1000, next_rand() % 100); out_str(o, tmp); break;
  case 4: case 5: {
    out_str(o, "{");
    int n = 1 + (int)(next_rand() % 6);
    for (int i = 0; i < n; i++) {
      if (i) out_str(o, ",");
      snprintf(tmp, sizeof tmp, "\"%s_%d\":", names[next_rand() % 8], i);
      out_str(o, tmp);
      gen_value(o, depth + 1);
    }
    out_str(o, "}");
    break;
  }
  default: {
    out_str(o, "[");
    int n = (int)(next_rand() % 8);
    for (int i = 0; i < n; i++) { if (i) out_str(o, ","); gen_value(o, depth + 1); }
    out_str(o, "]");
  }
  }
}

/* ---- the parser ---- */
static const char *p;
static void skip(void) { while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++; }
static Node *new_node(int type) { Node *n = calloc(1, sizeof(Node)); n->type = type; return n; }
static char *parse_string_raw(void) {
  const char *s = ++p;
  while (*p != '"') p++;
  size_t len = (size_t)(p - s);
  char *out = malloc(len + 1);
  memcpy(out, s, len); out[len] = 0;
  p++;
  return out;
}
static Node *parse_value(void);
static Node *parse_container(int type, char close) {
  Node *n = new_node(type), *last = NULL;
  p++; skip();
  if (*p == close) { p++; return n; }
  for (;;) {
    skip();
    char *key = NULL;
    if (type == J_OBJ) { key = parse_string_raw(); skip(); p++; skip(); }
    Node *v = parse_value();
    v->key = key;
    if (last) last->next = v; else n->child = v;
    last = v;
    skip();
    if (*p == ',') { p++; continue; }
    p++;
    return n;
  }
}
static Node *parse_value(void) {
  skip();
  if (*p == '{') return parse_container(J_OBJ, '}');
  if (*p == '[') return parse_container(J_ARR, ']');
  if (*p == '"') { Node *n = new_node(J_STR); n->str = parse_string_raw(); return n; }
  if (*p == 't') { p += 4; return new_node(J_TRUE); }
  if (*p == 'f') { p += 5; return new_node(J_FALSE); }
  if (*p == 'n') { p += 4; return new_node(J_NULL); }
  Node *n = new_node(J_NUM);
  char *end;
  n->num = strtod(p, &end);
  p = end;
  return n;
}

/* ---- the printer ---- */
static void print_value(Out *o, const Node *n) {
  char tmp[32];
  switch (n->type) {
  case J_NULL: out_str(o, "null"); break;
  case J_TRUE: out_str(o, "true"); break;
  case J_FALSE: out_str(o, "false"); break;
  case J_NUM: snprintf(tmp, sizeof tmp, "%g", n->num); out_str(o, tmp); break;
  case J_STR: out_str(o, "\""); out_str(o, n->str); out_str(o, "\""); break;
  default: {
    out_str(o, n->type == J_OBJ ? "{" : "[");
    for (const Node *c = n->child; c; c = c->next) {
      if (c != n->child) out_str(o, ",");
      if (c->key) { out_str(o, "\""); out_str(o, c->key); out_str(o, "\":"); }
      print_value(o, c);
    }
    out_str(o, n->type == J_OBJ ? "}" : "]");
  }
  }
}

static void delete_node(Node *n) {
  while (n) {
    Node *next = n->next;
    if (n->child) delete_node(n->child);
    free(n->key);
    free(n->str);
    free(n);
    n = next;
  }
}

int main(int argc, char **argv) {
  long records = argc > 1 ? atol(argv[1]) : 40000;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  unsigned long sum = 0;
  size_t doc_size = 0;
  for (int r = 0; r < rounds; r++) {
    Out doc = { 0, 0, 0 };
    out_str(&doc, "[");
    for (long i = 0; i < records; i++) { if (i) out_str(&doc, ",\n"); gen_value(&doc, 0); }
    out_str(&doc, "]");
    doc_size = doc.n;
    p = doc.b;
    Node *root = parse_value();
    Out printed = { 0, 0, 0 };
    print_value(&printed, root);
    sum += printed.n;
    delete_node(root);
    free(printed.b);
    free(doc.b);
  }
  printf("json: %d rounds of %zu bytes, printed %lu\n", rounds, doc_size, sum);
  return 0;
}
