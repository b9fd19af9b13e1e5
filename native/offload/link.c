/* link.c — the link model: how long moving N bytes between host and card takes.
 * A transfer of n bytes costs latency + n / bandwidth, on one bus per direction that every
 * transfer shares (off_bus_reserve). The model can only slow a transfer down: the receiver waits
 * until the modelled time has passed; where the real copy is slower, both times are recorded. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_MIN_GBS 0.001        /* 1 MB/s */
#define LINK_MAX_GBS 100000.0     /* 100 TB/s */
#define LINK_MAX_LAT_US 1000000.0 /* 1 s */

typedef struct {
    const char *name;
    double gbytes_per_s;
    double latency_us;
    const char *what;
} link_profile;

/* knc-pcie: the Xeon Phi 7120 (Knights Corner) on PCIe gen2 x16 as measured with offload
 * transfers: ~6.4 GB/s for large transfers, ~10-15 us fixed cost per transfer. The PCIe 3/4 x16
 * profiles use the usual effective rates (~12 and ~24 GB/s) with the same fixed cost. */
static const link_profile profiles[] = {
    {"none", 0.0, 0.0, "as fast as the machine copies"},
    {"knc-pcie", 6.4, 12.0, "Xeon Phi 7120, PCIe gen2 x16"},
    {"pcie3-x16", 12.0, 10.0, "PCIe gen3 x16"},
    {"pcie4-x16", 24.0, 8.0, "PCIe gen4 x16"},
};

const char *off_link_profile_name(int i)
{
    if (i < 0 || i >= (int)(sizeof profiles / sizeof profiles[0])) return NULL;
    return profiles[i].name;
}

int off_link_parse(const char *spec, off_link *out)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec) spec = "none";
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        if (strcmp(spec, profiles[i].name) == 0) {
            snprintf(out->name, sizeof out->name, "%s", profiles[i].name);
            out->bandwidth = profiles[i].gbytes_per_s * 1e9;
            out->latency = profiles[i].latency_us * 1e-6;
            return OFF_OK;
        }
    }
    char *end = NULL;
    double bw = strtod(spec, &end);
    if (end != spec && *end == ',') {
        const char *lat_s = end + 1;
        double lat = strtod(lat_s, &end);
        if (end != lat_s && *end == 0) {
            /* A physical range (NaN fails every comparison): slower than 1 MB/s or a fixed cost
             * above one second per transfer would make a run last for ever and its waits long
             * enough to look hung. */
            if (!(bw >= LINK_MIN_GBS && bw <= LINK_MAX_GBS && lat >= 0 && lat <= LINK_MAX_LAT_US))
                return off_fail(OFF_EARG,
                                "link '%s' is outside a physical range: bandwidth %g..%g GB/s, latency "
                                "0..%g us",
                                spec, LINK_MIN_GBS, LINK_MAX_GBS, LINK_MAX_LAT_US);
            snprintf(out->name, sizeof out->name, "%g,%g", bw, lat);
            out->bandwidth = bw * 1e9;
            out->latency = lat * 1e-6;
            return OFF_OK;
        }
    }
    return off_fail(OFF_EARG,
                    "unknown link '%s': use none, knc-pcie, pcie3-x16, pcie4-x16 or BW_GBs,LAT_us "
                    "(e.g. 6.4,12)",
                    spec);
}

double off_link_time(const off_link *l, uint64_t bytes)
{
    if (l->bandwidth <= 0 && l->latency <= 0) return 0.0;
    return l->latency + (l->bandwidth > 0 ? (double)bytes / l->bandwidth : 0.0);
}

double off_bus_reserve(off_bus *b, int dir, double t_start, uint64_t bytes, double *model_s)
{
    double model = off_link_time(&b->link, bytes);
    if (model_s) *model_s = model;
    if (model <= 0) return t_start;
    /* Serial, as one bus: the transfer begins when it was sent or when the bus frees, whichever
     * is later. Reservations are taken in the order arrivals reach here, from either process. */
    int64_t start_ns = (int64_t)(t_start * 1e9), model_ns = (int64_t)(model * 1e9);
    int64_t seen = atomic_load(&b->busy_until_ns[dir]), end;
    do {
        end = (start_ns > seen ? start_ns : seen) + model_ns;
    } while (!atomic_compare_exchange_weak(&b->busy_until_ns[dir], &seen, end));
    return (double)end * 1e-9;
}
