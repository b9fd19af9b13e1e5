// error: 8: 'totl' undeclared
#include <stdio.h>

int main(void)
{
    double total = 0;
    #pragma offload target(mic) inout(total)
    totl += 1;
    printf("%g\n", total);
    return 0;
}
