/* A linked list in Cilk shared memory, summed on the card through a _Cilk_shared pointer
 * global; a shared global the card writes; hello from the side that runs. */
#include <stdio.h>
#include <offload.h>

typedef struct node { int v; _Cilk_shared struct node *next; } node;
_Cilk_shared node *_Cilk_shared head;
_Cilk_shared int nodes = 0;

_Cilk_shared int sum_list(void)
{
    int s = 0;
    for (_Cilk_shared node *p = head; p; p = p->next) s += p->v;
#ifdef __MIC__
    nodes = -1;
#endif
    return s;
}

int main(void)
{
    head = 0;
    for (int i = 1; i <= 10; i++) {
        _Cilk_shared node *n = (_Cilk_shared node *)_Offload_shared_malloc(sizeof(node));
        n->v = i;
        n->next = head;
        head = n;
        nodes++;
    }
    int s = _Cilk_offload sum_list();
    printf("sum %d, nodes %d\n", s, nodes);
#pragma offload target(mic)
    {
#ifdef __MIC__
        printf("Hello from the card %d\n", _Offload_get_device_number());
#else
        printf("Hello from the host\n");
#endif
        fflush(0);
    }
    return 0;
}
