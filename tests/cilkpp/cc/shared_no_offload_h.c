/* The offload API called without <offload.h> (Intel's compiler declared it), _Cilk_shared after
 * the type in a declaration of two structures. */
#include <stdio.h>
_Cilk_shared int numDevices;
struct pair { int a, b; };
struct pair _Cilk_shared first, second;
_Cilk_shared void setup(void) { first.a = 1; second.b = 2; numDevices += 10; }
int main(void)
{
    numDevices = _Offload_number_of_devices();
    _Cilk_offload setup();
    int dev = -1;
    #pragma offload target(mic) out(dev)
    dev = _Offload_get_device_number();
    printf("devices %d first.a %d second.b %d dev %d\n", numDevices, first.a, second.b, dev);
    return 0;
}
