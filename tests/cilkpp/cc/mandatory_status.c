/* mandatory + status(): without a card the offload does not run, and the program learns it
 * from the status instead of ending (run here with the card, and with DNN_CARDS=0). */
#include <offload.h>
#include <stdio.h>

int main(void)
{
    _Offload_status s;
    OFFLOAD_STATUS_INIT(s);
    int ran = 0;
    #pragma offload target(mic) mandatory status(s) inout(ran)
    ran = 1;
    if (s.result == OFFLOAD_SUCCESS)
        printf("offloaded to device %d, ran %d\n", s.device_number, ran);
    else if (s.result == OFFLOAD_UNAVAILABLE)
        printf("no card: ran %d\n", ran);
    return 0;
}
