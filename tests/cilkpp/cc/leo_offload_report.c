/* _Offload_report(0) switches the offload report off (OFFLOAD_REPORT would switch it on): the
 * program's own output is unchanged. The report itself: tests/test_offload_report.py. */
#include <offload.h>
#include <stdio.h>
int main(void)
{
    _Offload_report(0);
    int a = 3;
    #pragma offload target(mic) inout(a)
    a *= 7;
    printf("a %d\n", a);
    return 0;
}
