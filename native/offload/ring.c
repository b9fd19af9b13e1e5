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

void off_sleep_until(double t)
{
    for (;;) {
        double left = t - off_now();
        if (left <= 0) return;
        if (left > 300e-6) {
            /* Sleep most of it, spin the rest: nanosleep overshoots by ~60 us here. */
            double s = left - 150e-6;
            struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
            nanosleep(&ts, NULL);
        } else {
            __builtin_ia32_pause();
        }
    }
}

void off_link_clock_start(off_link_clock *lc, const off_link *link)
{
    memset(lc, 0, sizeof *lc);
    lc->link = *link;
}

void off_link_clock_arrived(off_link_clock *lc, double t_start, uint64_t bytes)
{
    /* The modelled link is serial: an array starts when it was sent, but not before the
     * previous one has finished crossing. */
    double now = off_now();
    double begin = t_start > lc->model_end ? t_start : lc->model_end;
    double model = off_link_time(&lc->link, bytes);
    lc->model_end = begin + model;
    if (lc->count++ == 0) lc->first_start = t_start;
    lc->real_s += now - begin > 0 ? now - begin : 0;
    lc->model_s += model;
    if (lc->model_end > now) off_sleep_until(lc->model_end);
    lc->elapsed_s = off_now() - lc->first_start;
}
