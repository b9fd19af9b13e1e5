// error: 7: break
#include <cilk/cilk.h>
int main(void)
{
    int a[10] = {0};
    cilk_for (int i = 0; i < 10; i++) {
        if (i == 5) break;
        a[i] = i;
    }
    return a[1];
}
