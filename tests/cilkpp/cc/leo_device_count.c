/* A program that only asks how many cards there are (Intel's check-the-devices samples): it has
 * no offload of its own, and still sees its card. */
#include <offload.h>
#include <stdio.h>

int main(void)
{
    int n = _Offload_number_of_devices();
    printf("%d coprocessor%s available\n", n, n == 1 ? "" : "s");
    return 0;
}
