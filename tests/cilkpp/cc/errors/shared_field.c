// error: 5: _Cilk_shared on a field of a structure
#include <stdio.h>
struct counter {
    int id;
    _Cilk_shared int hits;
};
int main(void)
{
    struct counter c = {1, 0};
    printf("%d\n", c.hits);
    return 0;
}
