/* C11 _Generic in a program built with dnn-cc: a type-generic macro used on the host and
 * inside an offloaded block. */
#include <stdio.h>

#define kind(x) _Generic((x), int: "int", float: "float", double: "double", default: "other")
#define absval(x) _Generic((x), int: iabs_, double: dabs_, default: dabs_)(x)

__attribute__((target(mic))) static int iabs_(int v) { return v < 0 ? -v : v; }
__attribute__((target(mic))) static double dabs_(double v) { return v < 0 ? -v : v; }

int main(void)
{
    int i = -3;
    double d = -2.5;
    char c = 'x';
    printf("%s %s %s %s\n", kind(i), kind(d), kind(1.0f), kind(c));
    int ri = 0;
    double rd = 0;
    #pragma offload target(mic) in(i, d) out(ri, rd)
    {
        ri = absval(i);
        rd = absval(d);
    }
    printf("%d %g\n", ri, rd);
    return 0;
}
