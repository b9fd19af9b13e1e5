// error: 5: _Cilk_shared on a variable local to a function
#include <stdio.h>
int main(void)
{
    _Cilk_shared int x = 1;
    printf("%d\n", x);
    return 0;
}
