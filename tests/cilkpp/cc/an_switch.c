/* A switch on an array section: the switch runs for each element, its cases on that element. */
#include <stdio.h>
int main(void)
{
    int a[8], b[8];
    a[:] = __sec_implicit_index(0) % 3;
    b[:] = 0;
    switch (a[:]) {
    case 0: b[:] = 100; break;
    case 1: b[:] = a[:] + 10; break;
    default: b[:] = -1;
    }
    printf("%d %d %d %d\n", b[0], b[1], b[2], b[3]);
    return 0;
}
