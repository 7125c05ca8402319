/* A binary search tree of 1M nodes built by iterative insertion of pseudo-random keys (one
   allocation site, as a long-lived index is usually built), kept reachable from a global; then
   two subtrees are dropped: the exit scan traces the whole heap and reports their nodes. */
#include <stdlib.h>
#include <stdio.h>

struct node { struct node *left, *right; unsigned key; char payload[20]; };

static struct node *root;

__attribute__((noinline)) static struct node *make(unsigned key) {
  struct node *n = malloc(sizeof *n);
  n->left = n->right = 0;
  n->key = key;
  return n;
}

static void insert(unsigned key) {
  struct node **at = &root;
  while (*at) at = key < (*at)->key ? &(*at)->left : &(*at)->right;
  *at = make(key);
}

int main(int argc, char **argv) {
  long count = argc > 1 ? atol(argv[1]) : 1000000;
  unsigned x = 12345;
  for (long i = 0; i < count; i++) {
    x = x * 1103515245u + 12345u;
    insert(x);
  }
  /* drop a subtree a few levels down on each side: its nodes are leaks */
  struct node *n = root;
  for (int i = 0; i < 6 && n->left; i++) n = n->left;
  n->left = 0;
  n = root;
  for (int i = 0; i < 6 && n->right; i++) n = n->right;
  n->right = 0;
  printf("tree: %ld nodes, root key %u\n", count, root->key);
  return 0;
}
