/* Array Notation conformance: -> on a section of pointers to structs, member arrays through it, __sec_implicit_index in gathers from a 2-D array (diagonal and anti-diagonal). */
#include <stdio.h>
typedef struct { int x; int arr[3]; } T;
int main(void)
{
    T ts[4], *ps[4];
    ps[:] = &ts[:];
    ps[:]->x = __sec_implicit_index(0) * 3;
    (*ps[0:2]).x += 100;
    ps[:]->arr[1] = ps[:]->x + 1;
    printf("%d %d %d %d\n", ts[0].x, ts[1].x, ts[3].x, ts[2].arr[1]);
    printf("%d\n", __sec_reduce_add(ps[:]->x));
    int m[3][3];
    m[:][:] = 0;
    int one[3] = {1, 1, 1};
    for (int i = 0; i < 3; i++) m[i][i] = one[i];
    printf("%d %d\n", __sec_reduce_add(m[:][:]), m[2][2]);
    int d[3];
    d[:] = m[__sec_implicit_index(0)][2 - __sec_implicit_index(0)] + 5;
    printf("%d %d %d\n", d[0], d[1], d[2]);
    return 0;
}
