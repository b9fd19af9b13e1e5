/* A shared pointer initialised with the address of a shared global, and a shared table of
 * pointers into shared arrays, used on the card. */
#include <offload.h>
#include <stdio.h>

_Cilk_shared int counts[4] = {1, 2, 3, 4};
_Cilk_shared int total;
_Cilk_shared int *_Cilk_shared cursor = &counts[1];

_Cilk_shared void walk(int steps)
{
    for (int i = 0; i < steps; i++) total += *cursor++;
}

int main(void)
{
    _Cilk_offload walk(2);
    printf("total %d, cursor at %d\n", total, (int)(cursor - counts));
    return 0;
}
