/* host.h — the host's card object, shared by host.c (the card's life) and call.c (its calls).
 * Not a public API: off_runtime.h declares what callers see. */
#ifndef DNN_OFFLOAD_HOST_H
#define DNN_OFFLOAD_HOST_H

#include "ring.h"
#include "myo.h"
#include "proc.h"
#include "resident.h"

/* The host's end of one lane of the control channel (internal.h). A signal names the lane and
 * the request: seq * OFF_LANES + lane. */
typedef struct {
    struct off_card *card;
    int id;
    off_lane *wire;
    uint64_t seq;
    int in_flight;
    int out_done;            /* out-data received (a wait that timed out after it needs not again) */
    off_link_clock out_clock; /* the link model's clock of the out-data */
    char kernel[64];
    off_xfer xf[OFF_MAX_XFERS];
    int nxf;
    double t_post, wait_s;
    off_ring_end ring;
} host_lane;

static inline uint64_t off_host_signal_of(const host_lane *h) { return h->seq * OFF_LANES + (uint64_t)h->id; }

struct off_card {
    off_config cfg;
    int device; /* its number in devices.c's table; -1 until it has one */
    char cpus[128];
    off_arena *arena;
    int ctl_fd;
    off_ctl *ctl;
    off_proc proc;
    off_link link;

    host_lane lane[OFF_LANES]; /* calls, and transfers that cross while a kernel runs */

    int myo, myo_policy; /* myo coherence: the card's copy of the arena and the shared maps */
    off_myo_host myo_host;

    off_resident_table resident; /* mirror of the card's resident buffers */

    off_stats total, last;
};

/* Binds each lane's host end to the control channel (call.c: the ring's abort check is there). */
void off_host_lanes_init(off_card *c);

#endif
