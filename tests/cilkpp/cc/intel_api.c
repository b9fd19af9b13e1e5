// dnn-cc: --cards 2
/* Intel's offload API from <offload.h>: how many cards, which one runs an offload (target
 * numbers modulo the number of cards), status() with OFFLOAD_STATUS_INIT and OFFLOAD_SUCCESS,
 * _Offload_signaled on an asynchronous offload, shared aligned memory, __INTEL_OFFLOAD. */
#include <offload.h>
#include <stdint.h>
#include <stdio.h>

int main(void)
{
#ifdef __INTEL_OFFLOAD
    printf("offload compiler\n");
#endif
    int n = _Offload_number_of_devices();
    printf("cards %d, host device %d\n", n, _Offload_get_device_number());
    for (int t = 0; t < 3; t++) {
        int dev = -2;
        #pragma offload target(mic : t + 4) out(dev)
        dev = _Offload_get_device_number();
        printf("target %d ran on device %d\n", t + 4, dev);
    }
    _Offload_status st;
    OFFLOAD_STATUS_INIT(st);
    printf("before: %s\n", st.result == OFFLOAD_DISABLED ? "disabled" : "?");
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = i;
    float total = 0;
    #pragma offload target(mic : 0) status(st) in(x) inout(total)
    for (int i = 0; i < 64; i++) total += x[i];
    printf("status %s, total %.0f\n", st.result == OFFLOAD_SUCCESS ? "success" : "failure", total);

    double *a = _Offload_shared_aligned_malloc(16 * sizeof(double), 4096);
    printf("aligned: %d\n", (int)((uintptr_t)a % 4096 == 0));
    _Offload_shared_aligned_free(a);

    static float y[1024];
    char tag;
    #pragma offload target(mic : 0) out(y) signal(&tag)
    for (int i = 0; i < 1024; i++) y[i] = 2.0f * i;
    while (!_Offload_signaled(0, &tag))
        ;
    #pragma offload_wait target(mic : 0) wait(&tag)
    printf("signaled, y[1023] = %.0f\n", y[1023]);
    return 0;
}
