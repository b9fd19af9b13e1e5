/* A member of a section of structs, s[0:n].x, as the specification allows, and sections of a
 * member array of each (s[i].v[:]), with scalars broadcast. */
#include <stdio.h>

typedef struct {
    int x;
    double w[3];
} item;

int main(void)
{
    item s[6];
    s[0:6].x = __sec_implicit_index(0) * 2;
    for (int i = 0; i < 6; i++) s[i].w[:] = s[i].x + __sec_implicit_index(0);
    int total = __sec_reduce_add(s[:].x);
    printf("x[5] %d total %d w[5][2] %g\n", s[5].x, total, s[5].w[2]);
    return 0;
}
