/* A shared pointer in one file initialised with the address of a shared array of another. */
#include <stdio.h>
extern _Cilk_shared int arr[3];
_Cilk_shared int *_Cilk_shared last = &arr[2];
_Cilk_shared int bump(void) { return ++*last; }
int main(void)
{
    int v = _Cilk_offload bump();
    printf("%d %d\n", v, arr[2]);
    return 0;
}
