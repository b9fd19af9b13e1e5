/* Array Notation conformance: sections of addresses (&a[:]) and through them (*p[:], p[:]->x, (*p[:]).x), elemental mapping over struct elements, sections in functions with VLA and pointer-to-row parameters, a VLA section, sections in a comma expression, logical and unary operators on sections, a section of a string literal. */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
typedef struct { double x, y; } V;
static double norm(V v) { return sqrt(v.x * v.x + v.y * v.y); }
static void zero(int n, double a[n]) { a[0:n] = 0; a[n - 1] = n; }
static void grid(int n, int m, double (*g)[m]) { g[0:n][0:m] = __sec_implicit_index(0) - __sec_implicit_index(1); }
int main(void)
{
    int a[4] = {1, 2, 3, 4}, b[4], *ps[4];
    ps[:] = &a[:];
    *ps[:] += 10;
    printf("%d %d\n", a[0], a[3]);
    b[:] = *ps[:] * 2;
    printf("%d\n", b[2]);
    V vs[3] = {{3, 4}, {6, 8}, {0, 1}};
    double nv[3];
    nv[:] = norm(vs[:]);
    printf("%g %g %g\n", nv[0], nv[1], nv[2]);
    double z[5];
    zero(5, z);
    printf("%g %g\n", z[0], z[4]);
    int n = 3, m = 4;
    double (*g)[m] = malloc(n * sizeof *g);
    grid(n, m, g);
    printf("%g %g %g\n", g[2][0], g[0][3], __sec_reduce_add(g[0:n][0:m]));
    free(g);
    int vla[n];
    vla[:] = 7;
    printf("%d\n", __sec_reduce_add(vla[:]));
    a[:] = 1, b[:] = 2;
    printf("%d %d\n", a[1], b[1]);
    int c[4];
    c[:] = a[:] > 0 && b[:] > 1;
    printf("%d\n", __sec_reduce_add(c[:]));
    c[:] = !a[:] + ~b[:] + -a[:];
    printf("%d\n", c[0]);
    char str[8];
    str[0:7] = "abcdefg"[0:7];
    str[7] = 0;
    printf("%s\n", str);
    return 0;
}
