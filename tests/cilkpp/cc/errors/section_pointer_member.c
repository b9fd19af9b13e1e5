// error: 7: pointer member
#include <stdlib.h>
typedef struct { int n; float *data; } vec;
int main(void)
{
    vec v = {4, malloc(4 * sizeof(float))};
    v.data[:] = 0;
    return (int)v.data[0];
}
