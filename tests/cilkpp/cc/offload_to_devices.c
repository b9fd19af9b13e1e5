// dnn-cc: --cards 3
/* _Cilk_offload_to(n) with several cards: the function learns its device number n % 3. */
#include <stdio.h>
#include <offload.h>
_Cilk_shared int where(void) { return _Offload_get_device_number(); }
int main(void)
{
    int d[6];
    for (int i = 0; i < 6; i++)
        d[i] = _Cilk_spawn _Cilk_offload_to(i) where();
    _Cilk_sync;
    int n = 0;
    #pragma offload target(mic:4) out(n)
    n = _Offload_get_device_number();
    printf("cards %d: %d %d %d %d %d %d, block %d, then %d\n", _Offload_number_of_devices(),
           d[0], d[1], d[2], d[3], d[4], d[5], n, _Cilk_offload_to(2) where());
    return 0;
}
