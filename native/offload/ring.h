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

/* The receiver's clock of the link model: an array counts as arrived only when the model says
 * it has crossed; real and modelled times are both kept. */
typedef struct {
    off_link link;
    double model_end;   /* when the last array finished crossing, in the model */
    double first_start;
    int count;
    double real_s, model_s, elapsed_s;
} off_link_clock;

void off_link_clock_start(off_link_clock *lc, const off_link *link);
void off_link_clock_arrived(off_link_clock *lc, double t_start, uint64_t bytes);
void off_sleep_until(double t);

#endif
