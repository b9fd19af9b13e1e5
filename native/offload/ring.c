/* ring.c — the explicit channel's staging window: a ring of slots in the control segment.
 *
 * A copy crosses twice, like a bounce buffer over DMA: sender memory -> slot -> receiver
 * memory. Sender and receiver work at once on different slots (each on its own core), which is
 * what keeps the channel above the modelled bus: one copy after the other would not be.
 * Both directions use the same ring; an offload call moves its in-data, then its out-data. Each
 * lane of the control channel (internal.h) has its own ring.
 */
#define _GNU_SOURCE
#include "ring.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static int ring_wait_slot(off_ring_end *e, uint32_t slot, uint32_t want_full)
{
    off_slot_state *s = &e->lane->slot[slot];
    for (;;) {
        uint32_t seen = atomic_load_explicit(e->my_ev, memory_order_acquire);
        if (atomic_load_explicit(&s->full, memory_order_acquire) == want_full) return OFF_OK;
        int rc = e->abort_check ? e->abort_check(e->abort_arg) : OFF_OK;
        if (rc != OFF_OK) return rc;
        off_futex_wait(e->my_ev, seen, e->my_sleeping, 0.02);
    }
}

int off_ring_send(off_ring_end *e, const void *src, uint64_t n)
{
    const char *p = src;
    do {
        uint32_t slot = e->index % OFF_RING_SLOTS;
        int rc = ring_wait_slot(e, slot, 0);
        if (rc != OFF_OK) return rc;
        uint32_t len = n < OFF_SLOT_BYTES ? (uint32_t)n : OFF_SLOT_BYTES;
        if (len) memcpy(e->lane->data[slot], p, len);
        e->lane->slot[slot].bytes = len;
        atomic_store_explicit(&e->lane->slot[slot].full, 1, memory_order_release);
        off_futex_bump(e->peer_ev, e->peer_sleeping);
        e->index++;
        p += len;
        n -= len;
    } while (n > 0);
    return OFF_OK;
}

int off_ring_recv(off_ring_end *e, void *dst, uint64_t n)
{
    char *p = dst;
    do {
        uint32_t slot = e->index % OFF_RING_SLOTS;
        int rc = ring_wait_slot(e, slot, 1);
        if (rc != OFF_OK) return rc;
        uint32_t len = e->lane->slot[slot].bytes;
        if (len > n || (len == 0 && n != 0))
            return off_fail(OFF_ESYS, "explicit channel out of step (%u bytes in a slot, %llu expected)",
                            len, (unsigned long long)n);
        /* dst == NULL: the receiver discards (an array whose card buffer could not be had). */
        if (len && p) memcpy(p, e->lane->data[slot], len);
        atomic_store_explicit(&e->lane->slot[slot].full, 0, memory_order_release);
        off_futex_bump(e->peer_ev, e->peer_sleeping);
        e->index++;
        if (p) p += len;
        n -= len;
    } while (n > 0);
    return OFF_OK;
}

void off_ring_reset(off_lane *lane)
{
    for (int i = 0; i < OFF_RING_SLOTS; i++) {
        lane->slot[i].bytes = 0;
        atomic_store_explicit(&lane->slot[i].full, 0, memory_order_release);
    }
}

int off_sleep_until(double t, int (*abort_check)(void *), void *abort_arg)
{
    for (;;) {
        double left = t - off_now();
        if (left <= 0) return OFF_OK;
        if (abort_check) {
            int rc = abort_check(abort_arg);
            if (rc != OFF_OK) return rc;
        }
        if (left > 300e-6) {
            /* Sleep most of it, spin the rest: nanosleep overshoots by ~60 us here. A long wait
             * (a queue on the bus) is cut into slices so a dead peer is noticed. */
            double s = left - 150e-6;
            if (abort_check && s > 5e-3) s = 5e-3;
            struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
            /* A signal (Ctrl-C, SIGTERM) ends the modelled wait at once: the host's handler then
             * runs as soon as the call returns, however long the model said the link takes. */
            if (nanosleep(&ts, NULL) != 0 && errno == EINTR) return OFF_OK; /* the data are there */
        } else {
            __builtin_ia32_pause();
        }
    }
}

void off_link_clock_start(off_link_clock *lc, off_bus *bus, int dir, int (*abort_check)(void *), void *abort_arg)
{
    memset(lc, 0, sizeof *lc);
    lc->bus = bus;
    lc->dir = dir;
    lc->abort_check = abort_check;
    lc->abort_arg = abort_arg;
}

int off_link_clock_arrived(off_link_clock *lc, double t_start, uint64_t bytes)
{
    /* Real copy time: from when this array was sent, or from the previous arrival when the
     * sender was ahead of us, to now. Elapsed: to the bus's modelled arrival, queue included. */
    double now = off_now();
    double from = t_start > lc->last_arrival ? t_start : lc->last_arrival;
    lc->real_s += now - from > 0 ? now - from : 0;
    double model = 0;
    double end = off_bus_reserve(lc->bus, lc->dir, t_start, bytes, &model);
    lc->model_s += model;
    if (lc->count++ == 0) lc->first_start = t_start;
    int rc = end > now ? off_sleep_until(end, lc->abort_check, lc->abort_arg) : OFF_OK;
    lc->last_arrival = off_now();
    lc->elapsed_s = lc->last_arrival - lc->first_start;
    return rc;
}
