// error: 5: _Cilk_shared on a variable local to a function
#include <stdio.h>
static int bump(void)
{
    static _Cilk_shared int calls;
    return ++calls;
}
int main(void)
{
    printf("%d\n", bump());
    return 0;
}
