/* Array Notation conformance: negative strides (start, length, stride as GCC's and Intel's tests write them), variable start, length and stride, strided 2-D sections, implicit index of a reversed section. */
#include <stdio.h>
int main(void)
{
    int a[10], b[10], c[10];
    a[:] = __sec_implicit_index(0);
    b[0:10:1] = a[9:10:-1];
    printf("%d %d %d\n", b[0], b[1], b[9]);
    c[:] = 0;
    c[0:5] = a[8:5:-2];
    printf("%d %d %d\n", c[0], c[1], c[4]);
    int n = 3, s = 2, st = 1;
    c[st:n:s] = -1;
    printf("%d %d %d %d\n", c[1], c[2], c[3], c[5]);
    int m[4][5];
    m[:][:] = 0;
    m[1:2][0:3:2] = 7;
    printf("%d %d\n", __sec_reduce_add(m[:][:]), m[2][4]);
    printf("%d\n", __sec_reduce_add(a[9:10:-1] * __sec_implicit_index(0)));
    return 0;
}
