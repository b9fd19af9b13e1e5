// dnn-cc: --cards 2
/* signal() tags with several cards: one tag posted to card 0 and then to card 1 (a slow one)
 * without a wait between; wait() on it waits for card 1's offload, whose out() has arrived by
 * then; two tags on two cards at once, each waited for. */
#include <offload.h>
#include <stdio.h>

int r[2];
int a[2], b[2];

int main(void)
{
    int *p = r, *pa = a, *pb = b;
    char sig, sa, sb;
    #pragma offload target(mic : 0) signal(&sig) out(p : length(2))
    { p[0] = _Offload_get_device_number() + 10; p[1] = 0; }
    #pragma offload target(mic : 1) signal(&sig) out(p : length(2))
    {
        for (volatile long i = 0; i < 20000000; i++) { }
        p[0] = -1;
        p[1] = _Offload_get_device_number() + 20;
    }
    #pragma offload_wait target(mic : 1) wait(&sig)
    printf("one tag, two cards: %d %d, signaled %d\n", r[0], r[1], _Offload_signaled(1, &sig));

    #pragma offload target(mic : 0) signal(&sa) out(pa : length(2))
    { pa[0] = 1; pa[1] = _Offload_get_device_number(); }
    #pragma offload target(mic : 1) signal(&sb) out(pb : length(2))
    { pb[0] = 2; pb[1] = _Offload_get_device_number(); }
    #pragma offload_wait target(mic : 1) wait(&sb)
    #pragma offload_wait target(mic : 0) wait(&sa)
    printf("two tags: card %d gave %d, card %d gave %d\n", a[1], a[0], b[1], b[0]);
    return 0;
}
