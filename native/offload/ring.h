/* ring.h — the staging ring of the explicit channel and the link clock. */
#ifndef DNN_OFFLOAD_RING_H
#define DNN_OFFLOAD_RING_H

#include "internal.h"

typedef struct {
    off_lane *lane;                 /* whose ring */
    uint32_t index;                 /* next slot to use (both ends advance in step) */
    _Atomic uint32_t *my_ev, *my_sleeping;     /* what this end sleeps on */
    _Atomic uint32_t *peer_ev, *peer_sleeping; /* what the other end sleeps on */
    int (*abort_check)(void *arg);  /* non-OFF_OK stops a wait: peer died, call failed */
    void *abort_arg;
} off_ring_end;

int off_ring_send(off_ring_end *e, const void *src, uint64_t n);
int off_ring_recv(off_ring_end *e, void *dst, uint64_t n); /* dst NULL = discard */
void off_ring_reset(off_lane *lane);

/* The receiver's clock of the link model: an array counts as arrived only when the shared bus
 * (off_bus) says it has crossed. Kept per call: real copy time, modelled time, and elapsed time
 * from the first array's sending to the last one's modelled arrival (what the caller waits). */
typedef struct {
    off_bus *bus;
    int dir;                        /* OFF_BUS_TO_CARD / OFF_BUS_FROM_CARD */
    int (*abort_check)(void *arg);  /* non-OFF_OK ends a modelled wait early: the peer died */
    void *abort_arg;
    double first_start, last_arrival;
    int count;
    double real_s, model_s, elapsed_s;
} off_link_clock;

void off_link_clock_start(off_link_clock *lc, off_bus *bus, int dir, int (*abort_check)(void *), void *abort_arg);
/* Returns OFF_OK, or the abort check's code when the wait for the model was cut short. */
int off_link_clock_arrived(off_link_clock *lc, double t_start, uint64_t bytes);
/* Sleeps until off_now() >= t; with an abort check, looks at it every few milliseconds and
 * returns its code if it stops the wait. */
int off_sleep_until(double t, int (*abort_check)(void *), void *abort_arg);

#endif
