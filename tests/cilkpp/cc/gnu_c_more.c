/* More C that offload-era code holds: __thread, complex.h, __int128, designated initialisers,
 * offsetof, _Static_assert, __declspec(target(mic)), __builtin_expect, assert. */
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <math.h>
#include <assert.h>
#include <sys/time.h>
#include <complex.h>
__thread int tls = 3;
static __inline__ int fast(int x) { return __builtin_expect(x > 0, 1) ? x : -x; }
struct S { int a; double b; };
typedef struct { float x, y; } vec2;
_Static_assert(sizeof(int) == 4, "int");
__declspec(target(mic)) int decl_global = 7;
int main(void)
{
    bool ok = true;
    size_t off = offsetof(struct S, b);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    double complex z = 1.0 + 2.0 * I;
    __int128 big = (__int128)1 << 100;
    vec2 v = { .x = 1.5f, .y = 2.5f };
    int arr[] = { [2] = 5, [0] = 1 };
    long long ll = 1LL << 40;
    unsigned char uc = 0xff;
    const char *names[] = {"a", "b"};
    int g = 1;
    assert(fast(-3) == 3);
    printf("%d %zu %g %d %g %d %lld %u %s %d %d %d\n", ok, off, cimag(z), (int)(big >> 100), v.y, arr[2], ll, uc, names[1], tls, g, decl_global);
    return 0;
}
