/* In the style of TACC's offload labs: hello from the card, how many cards, which one. */
#include <stdio.h>
#include <offload.h>
#include <omp.h>

__attribute__((target(mic))) int where_am_i(void)
{
#ifdef __MIC__
    return 1;
#else
    return 0;
#endif
}

int main(int argc, char **argv)
{
    int ndev = _Offload_number_of_devices();
    int on_card = -1, dev = -2;
    printf("devices present: %d\n", ndev > 0);
    #pragma offload target(mic:0) out(on_card, dev)
    {
        on_card = where_am_i();
        dev = _Offload_get_device_number();
    }
    printf("offloaded block ran on the card: %d (device %d)\n", on_card, dev);
#ifdef __INTEL_OFFLOAD
    printf("__INTEL_OFFLOAD is defined\n");
#endif
    return 0;
}
