/* devices.c — the host's table of open cards by device number: what target(mic:n),
 * _Cilk_offload_to(n) and _Offload_number_of_devices() address. A card takes a number when it
 * opens (the lowest free one, or the one asked for) and gives it back when it is destroyed, so
 * card n is always the same process until it goes. Host side only; not thread-safe, as opening
 * and destroying cards is not. */
#include "host.h"

static off_card *devices_table[OFF_MAX_DEVICES];

int off_devices_claim(off_card *c, int want)
{
    if (want >= OFF_MAX_DEVICES) return -1;
    if (want >= 0) {
        if (devices_table[want]) return -1;
        devices_table[want] = c;
        return want;
    }
    for (int i = 0; i < OFF_MAX_DEVICES; i++)
        if (!devices_table[i]) {
            devices_table[i] = c;
            return i;
        }
    return -1;
}

void off_devices_drop(off_card *c)
{
    for (int i = 0; i < OFF_MAX_DEVICES; i++)
        if (devices_table[i] == c) devices_table[i] = NULL;
}

int off_number_of_devices(void)
{
    int n = 0;
    for (int i = 0; i < OFF_MAX_DEVICES; i++) n += devices_table[i] != NULL;
    return n;
}

off_card *off_device(int n) { return n >= 0 && n < OFF_MAX_DEVICES ? devices_table[n] : NULL; }

int off_offload_to(int n, const char *kernel, const off_arg *args, int nargs)
{
    off_card *c = off_device(n);
    if (!c)
        return off_fail(OFF_EARG, "target(mic:%d): no card %d is open (%d card(s) in this host)", n, n,
                        off_number_of_devices());
    return off_call(c, kernel, args, nargs, NULL, 0, NULL, NULL);
}
