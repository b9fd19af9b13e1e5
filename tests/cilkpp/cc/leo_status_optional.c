/* _Offload_status checked after optional and mandatory offloads, and the number of devices
 * decides the path, as Intel's samples did. */
#include <offload.h>
#include <stdio.h>

int main(void)
{
    int ndev = _Offload_number_of_devices();
    _Offload_status st;
    OFFLOAD_STATUS_INIT(st);
    int x = 20;
    #pragma offload target(mic:0) optional status(st) inout(x)
    x += 1;
    if (st.result == OFFLOAD_SUCCESS)
        printf("optional offload done: x=%d\n", x);
    else
        printf("optional offload failed (%d)\n", (int)st.result);

    if (ndev > 0) {
        OFFLOAD_STATUS_INIT(st);
        #pragma offload target(mic:0) mandatory status(st) inout(x)
        x *= 2;
        printf("mandatory: %s x=%d\n", st.result == OFFLOAD_SUCCESS ? "success" : "failed", x);
    } else {
        x *= 2;
        printf("mandatory: %s x=%d\n", "success", x);
    }
    printf("devices>0: %s\n", ndev > 0 ? "yes" : "no");
    return 0;
}
