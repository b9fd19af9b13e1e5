/* Intel's sized integer types (__int64, unsigned __int64, __int32), which its compiler took on
 * Linux, in an offload. */
#include <stdio.h>
int main(void)
{
    __int64 big = 1;
    unsigned __int64 u = 0;
    __int32 k = 3;
    #pragma offload target(mic) inout(big, u, k)
    {
        big <<= 40;
        u = ~u;
        k *= 2;
    }
    printf("%lld %llu %d %zu\n", big, u, k, sizeof(__int64));
    return 0;
}
