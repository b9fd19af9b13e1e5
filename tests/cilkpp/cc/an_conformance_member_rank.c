/* A section of struct elements subscripted again through a member, s[0:3].v[0:4]: one section expression of rank 2, the leftmost section its first dimension (the specification's rank of a postfix expression adds up); s[:].v[2] keeps rank 1. */
#include <stdio.h>
typedef struct { int v[4]; } R;
int main(void)
{
    R s[3];
    s[0:3].v[0:4] = __sec_implicit_index(0) * 10 + __sec_implicit_index(1);
    printf("%d %d %d\n", s[2].v[3], s[1].v[0], __sec_reduce_add(s[:].v[:]));
    int t[3];
    t[:] = s[:].v[2];
    printf("%d %d\n", t[0], t[2]);
    return 0;
}
