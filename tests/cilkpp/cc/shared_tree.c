/* A binary tree in Cilk shared memory, built on the host with _Offload_shared_malloc, summed on
 * the card by a recursive _Cilk_shared function that spawns, and changed there. */
#include <offload.h>
#include <stdio.h>
#include <cilk/cilk.h>

typedef struct node {
    int key;
    struct node *_Cilk_shared left, *_Cilk_shared right;
} node;

static _Cilk_shared node *build(int lo, int hi)
{
    if (lo > hi) return 0;
    int mid = (lo + hi) / 2;
    _Cilk_shared node *t = (_Cilk_shared node *)_Offload_shared_malloc(sizeof(node));
    t->key = mid;
    t->left = build(lo, mid - 1);
    t->right = build(mid + 1, hi);
    return t;
}

_Cilk_shared long tree_sum(_Cilk_shared node *t)
{
    if (!t) return 0;
    long a = _Cilk_spawn tree_sum(t->left);
    long b = tree_sum(t->right);
    _Cilk_sync;
    return a + b + t->key;
}

_Cilk_shared void bump(_Cilk_shared node *t)
{
    if (!t) return;
    t->key += 1;
    bump(t->left);
    bump(t->right);
}

_Cilk_shared node *_Cilk_shared root;

int main(void)
{
    root = build(1, 100);
    long before = _Cilk_offload tree_sum(root);
    _Cilk_offload bump(root);
    long after = tree_sum(root);
    printf("sum %ld after bump %ld root key %d\n", before, after, root->key);
    return 0;
}
