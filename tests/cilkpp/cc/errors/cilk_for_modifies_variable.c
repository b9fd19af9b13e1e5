// error: 7: may not modify the control variable 'i'
#include <cilk/cilk.h>
int main(void)
{
    int a[10] = {0};
    cilk_for (int i = 0; i < 10; i++) {
        if (a[i] == 0) i++;
        a[i] = 1;
    }
    return a[0];
}
