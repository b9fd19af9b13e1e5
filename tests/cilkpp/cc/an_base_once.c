/* The base of a section that is a call (next()[0:n]) is evaluated once per statement and once
 * per reduction, as any rank-0 subexpression with a side effect. */
#include <stdio.h>
static int buf[8], calls;
static int *next(void) { calls++; return buf; }
int main(void)
{
    next()[0:4] = 7;
    printf("calls %d\n", calls);
    buf[0:4] = next()[4:4] + 1;
    printf("calls %d\n", calls);
    int s = __sec_reduce_add(next()[0:8]);
    printf("calls %d s %d\n", calls, s);
    return 0;
}
