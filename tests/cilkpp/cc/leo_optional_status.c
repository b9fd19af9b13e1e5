/* optional offload with status(): on failure the code ran on the host; the program checks. */
#include <offload.h>
#include <stdio.h>

int main(void)
{
    _Offload_status st;
    OFFLOAD_STATUS_INIT(st);
    int v[4] = {1, 2, 3, 4};
    int dev = -5;
    #pragma offload target(mic) optional status(st) inout(v) out(dev)
    {
        for (int i = 0; i < 4; i++) v[i] *= 10;
        dev = _Offload_get_device_number();
    }
    if (st.result == OFFLOAD_SUCCESS)
        printf("offload ok, ran on %s\n", dev >= 0 ? "card" : "host");
    else
        printf("offload failed: %d\n", st.result);
    printf("v %d %d %d %d\n", v[0], v[1], v[2], v[3]);
    return 0;
}
