/* OFFLOAD_REPORT and _Offload_report(): accepted, the program's own output is unchanged. */
#include <offload.h>
#include <stdio.h>
int main(void)
{
    _Offload_report(1);
    int a = 3;
    #pragma offload target(mic) inout(a)
    a *= 7;
    _Offload_report(0);
    printf("a %d\n", a);
    return 0;
}
