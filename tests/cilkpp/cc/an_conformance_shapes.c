/* Array Notation conformance (Cilk Plus specification): rank-0 broadcast, 3-D sections, arrays of structs, strides, zero length, every assignment operator, ++/-- on sections, casts, every reduction on unsigned, char, float and double. */
#include <stdio.h>
typedef struct { int x; double y; } P;
int main(void)
{
    int a[8], b[8], c[2][3][4];
    unsigned u[5]; char ch[6]; float f[4]; double d[4];
    P ps[4];
    a[:] = 3;                               /* rank-0 broadcast */
    b[:] = a[:] + __sec_implicit_index(0);  /* 3..10 */
    printf("%d %d %d\n", b[0], b[7], __sec_reduce_add(b[:]));
    c[:][:][:] = __sec_implicit_index(0) * 100 + __sec_implicit_index(1) * 10 + __sec_implicit_index(2);
    printf("%d %d\n", c[1][2][3], __sec_reduce_add(c[:][:][:]));
    printf("%d\n", __sec_reduce_max(c[1][:][2]));
    ps[:].x = __sec_implicit_index(0);
    ps[:].y = ps[:].x * 0.5;
    printf("%d %g\n", __sec_reduce_add(ps[:].x), __sec_reduce_add(ps[:].y));
    /* stride, negative stride? zero length */
    a[:] = __sec_implicit_index(0);
    b[:] = 0;
    b[0:4:2] = a[1:4:2];
    printf("%d %d %d %d\n", b[0], b[2], b[4], b[6]);
    b[0:0] = 99;
    printf("zero-len sum %d\n", __sec_reduce_add(a[3:0]));
    /* assignment operators */
    b[:] = 10;
    b[:] += a[:]; printf("%d ", b[7]);
    b[:] -= 2; printf("%d ", b[7]);
    b[:] *= 2; printf("%d ", b[7]);
    b[:] /= 3; printf("%d ", b[7]);
    b[:] %= 4; printf("%d ", b[7]);
    b[:] <<= 2; printf("%d ", b[7]);
    b[:] >>= 1; printf("%d ", b[7]);
    b[:] &= 6; printf("%d ", b[7]);
    b[:] |= 1; printf("%d ", b[7]);
    b[:] ^= 3; printf("%d\n", b[7]);
    b[:]++; ++b[:]; b[0:4]--; --b[0:2];
    printf("%d %d %d %d\n", b[0], b[3], b[5], b[7]);
    u[:] = __sec_implicit_index(0) + 1;
    ch[:] = 'a' + __sec_implicit_index(0);
    f[:] = 1.5f * (__sec_implicit_index(0) + 1);
    d[:] = (double)__sec_implicit_index(0) - 1.5;
    printf("%u %u %d %d %g %g %g %g\n", __sec_reduce_add(u[:]), __sec_reduce_mul(u[:]),
           __sec_reduce_max(ch[:]), __sec_reduce_min(ch[:]), __sec_reduce_add(f[:]),
           __sec_reduce_mul(f[:]), __sec_reduce_max(d[:]), __sec_reduce_min(d[:]));
    printf("%d %d %d %d\n", (int)__sec_reduce_max_ind(d[:]), (int)__sec_reduce_min_ind(d[:]),
           (int)__sec_reduce_max_ind(ch[:]), (int)__sec_reduce_min_ind(u[:]));
    /* casts */
    d[:] = (double)a[0:4] / 2;
    printf("%g %g\n", d[1], d[3]);
    a[0:4] = (int)d[:];
    printf("%d %d\n", a[1], a[3]);
    return 0;
}
