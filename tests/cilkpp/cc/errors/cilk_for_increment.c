// error: 6: increment
#include <cilk/cilk.h>
int main(void)
{
    int a[64] = {0};
    cilk_for (int i = 1; i < 64; i *= 2)
        a[i] = i;
    return a[2];
}
