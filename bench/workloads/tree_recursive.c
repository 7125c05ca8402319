/* Adversarial for exact backtraces: a balanced tree built recursively, so that nearly every node
   is allocated from its own call path (left/right choices at every level: ~N distinct 16-frame
   stacks). Kept reachable from a global; two subtrees are dropped at the end. */
#include <stdio.h>
#include <stdlib.h>

struct node { struct node *left, *right; long key; char payload[20]; };

static struct node *root;

__attribute__((noinline)) static struct node *make(long key) {
  struct node *n = malloc(sizeof *n);
  n->left = n->right = 0;
  n->key = key;
  return n;
}

static struct node *build(long lo, long hi) {
  if (lo > hi) return 0;
  long mid = lo + (hi - lo) / 2;
  struct node *n = make(mid);
  n->left = build(lo, mid - 1);
  n->right = build(mid + 1, hi);
  return n;
}

int main(int argc, char **argv) {
  long count = argc > 1 ? atol(argv[1]) : 1000000;
  root = build(0, count - 1);
  /* drop two small subtrees: their nodes are leaks */
  struct node *n = root;
  for (int i = 0; i < 12 && n->left; i++) n = n->left;
  n->left = 0;
  n = root;
  for (int i = 0; i < 12 && n->right; i++) n = n->right;
  n->right = 0;
  printf("tree: %ld nodes, root key %ld\n", count, root->key);
  return 0;
}
