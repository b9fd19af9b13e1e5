/* Results coming back asynchronously: an offload with signal() whose out() array lands at the
 * offload_wait, an offload_transfer of out-data with signal, a local array kept on the card
 * between calls by its section, and a card global that only the card writes (nocopy), read
 * back with out(). */
#include <offload.h>
#include <stdio.h>

__attribute__((target(mic))) int card_calls;

int main(void)
{
    int n = 64;
    double res[64], keep[64];
    for (int i = 0; i < n; i++) res[i] = -1, keep[i] = i;
    char done;
    #pragma offload target(mic:0) out(res[0:n]) nocopy(card_calls) signal(&done)
    {
        for (int i = 0; i < 64; i++) res[i] = i * 0.5;
        card_calls++;
    }
    #pragma offload_wait target(mic:0) wait(&done)
    printf("after wait: res[63] %g\n", res[63]);

    #pragma offload target(mic:0) in(keep[0:n] : alloc_if(1) free_if(0)) nocopy(card_calls)
    {
        for (int i = 0; i < 64; i++) keep[i] *= 10;
        card_calls++;
    }
    keep[5] = -5; /* the host's copy; the card's is 50 */
    int tag;
    #pragma offload_transfer target(mic:0) out(keep[0:n] : alloc_if(0) free_if(1)) signal(&tag)
    #pragma offload_wait target(mic:0) wait(&tag)
    int calls = 0;
    #pragma offload target(mic:0) out(card_calls) nocopy(calls)
    { }
    calls = card_calls;
    printf("keep[5] %g keep[63] %g card calls %d\n", keep[5], keep[63], calls);
    return 0;
}
