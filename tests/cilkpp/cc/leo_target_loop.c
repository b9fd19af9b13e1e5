/* The target number in a variable, in a loop over the devices, -1 (any card), an offload that
 * is a plain for loop, and _Offload_get_device_number() inside. */
#include <offload.h>
#include <stdio.h>

int main(void)
{
    int ndev = _Offload_number_of_devices();
    int devs = ndev > 0 ? ndev : 1;
    int sums[4] = {0};
    for (int d = 0; d < 4; d++) {
        int s = 0, on = -2;
        #pragma offload target(mic : d) inout(s) out(on)
        {
            for (int i = 0; i <= d * 10; i++) s += i;
            on = _Offload_get_device_number();
        }
        sums[d] = s;
        if (ndev > 0 && on != d % devs) printf("device %d ran on %d\n", d, on);
    }
    int any = 0;
    #pragma offload target(mic : -1) inout(any)
    any = 1;
    int sq[10];
    #pragma offload target(mic) out(sq)
    for (int i = 0; i < 10; i++) sq[i] = i * i;
    printf("sums %d %d %d %d any %d sq[9] %d\n", sums[0], sums[1], sums[2], sums[3], any, sq[9]);
    return 0;
}
