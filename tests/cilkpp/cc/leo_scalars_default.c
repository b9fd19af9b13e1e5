/* What crosses without a clause: scalars and fixed-size arrays the block uses are copied in
 * and back out (inout), as LEO did; a pointer's data must be named. */
#include <stdio.h>

struct pair { int a; double b; };

int main(void)
{
    int count = 3;
    double arr[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct pair p = {1, 0.5};
    float f = 1.5f;
    #pragma offload target(mic)
    {
        count += 10;
        for (int i = 0; i < 8; i++) arr[i] *= 2;
        p.a = 42;
        p.b *= 4;
        f = -f;
    }
    printf("count %d arr[0] %g arr[7] %g p %d %g f %g\n", count, arr[0], arr[7], p.a, p.b, f);
    return 0;
}
