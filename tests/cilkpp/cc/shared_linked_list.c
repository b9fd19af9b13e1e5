/* A linked list built in shared memory on the host, walked and changed on the card. */
#include <offload.h>
#include <stdio.h>

typedef struct node { int value; struct node *_Cilk_shared next; } node;
typedef _Cilk_shared node snode;

_Cilk_shared snode *head;

_Cilk_shared int sum_and_double(void)
{
    int s = 0;
    for (snode *p = head; p; p = p->next) { s += p->value; p->value *= 2; }
    return s;
}

int main(void)
{
    for (int i = 1; i <= 5; i++) {
        snode *n = (snode *)_Offload_shared_malloc(sizeof(snode));
        n->value = i;
        n->next = head;
        head = n;
    }
    int s1 = _Cilk_offload sum_and_double();
    int s2 = _Cilk_offload sum_and_double();
    printf("sums %d %d head %d\n", s1, s2, head->value);
    while (head) { snode *n = head->next; _Offload_shared_free((void *)head); head = n; }
    return 0;
}
