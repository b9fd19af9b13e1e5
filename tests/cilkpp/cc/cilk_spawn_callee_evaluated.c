/* The function a _Cilk_spawn calls is evaluated before the spawn, as its arguments are: a table entry indexed by a variable the parent then changes, a pointer member the parent then reassigns. */
#include <stdio.h>
#include <unistd.h>
#include <cilk/cilk.h>
static int out[4];
static void f0(int i) { usleep(1000); out[i] = 10; }
static void f1(int i) { usleep(1000); out[i] = 11; }
static void f2(int i) { usleep(1000); out[i] = 12; }
static void f3(int i) { usleep(1000); out[i] = 13; }
typedef struct { void (*fn)(int); } Holder;
int main(void)
{
    void (*table[4])(int) = {f0, f1, f2, f3};
    int k = 0;
    while (k < 4) {
        cilk_spawn table[k](k);
        k++;
    }
    cilk_sync;
    printf("%d %d %d %d\n", out[0], out[1], out[2], out[3]);
    Holder h = {f3};
    Holder *hp = &h;
    cilk_spawn hp->fn(0);
    h.fn = f0;
    cilk_sync;
    printf("%d\n", out[0]);
    return 0;
}
