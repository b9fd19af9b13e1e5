/* _Cilk_for with != and a step known only at run time, counting up and counting down (the direction is the step's sign). */
#include <stdio.h>
#include <cilk/cilk.h>
static int hits[64];
int main(int argc, char **argv)
{
    int k = argc + 2, total = 0;   /* 3 */
    cilk_for (int i = 0; i != 12; i += k) hits[i]++;
    k = -k;
    cilk_for (int i = 12; 0 != i; i += k) hits[i] += 10;
    for (int q = 0; q < 64; q++) total += hits[q] * (q + 1);
    printf("%d\n", total);
    int i;
    cilk_for (i = 0; i < 10; i++) ;
    return 0;
}
