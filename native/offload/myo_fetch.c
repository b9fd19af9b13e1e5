/* myo_fetch.c — on-demand: a page the other side released is brought into this side's copy when
 * it is first touched (called from myo.c's fault handler), and the host's side of keeping the
 * released contents for the card (the stash).
 *
 * The card fetches from the host's copy, or from the stash where the host wrote over the page
 * after releasing it. When the touched page was released at this offload's entry and not fetched
 * yet (pending), the whole run of pending pages around it crosses with it: one fault, one change of
 * protection, one transfer on the modelled link (latency once) instead of one of each per page.
 * Those pages would cross anyway the first time the card touched them, unless the host wrote them
 * again first. Pages released at an earlier offload (no longer pending) still cross one by one, so
 * a kernel that reads part of an array it was not handed at entry moves only the pages it reads.
 */
#include "myo_view.h"

#include <string.h>
#include <sys/mman.h>

#define PAGE OFF_MYO_PAGE

/* Copies page p from the host's copy (or the stash) into dst; the page's moving lock is taken. */
static void fetch_from_host(myo_view *v, size_t p, char *dst)
{
    _Atomic uint8_t *moving = &off_myo_map(v->sh, OFF_MYO_MOVING)[p];
    off_myo_spin_lock(moving);
    int stashed = atomic_exchange(&off_myo_map(v->sh, OFF_MYO_PENDING)[p], OFF_MYO_PENDING_NONE) ==
                  OFF_MYO_PENDING_STASHED;
    memcpy(dst + p * PAGE, (stashed ? off_myo_stash(v->sh) : v->peer) + p * PAGE, PAGE);
    off_myo_spin_unlock(moving);
}

/* A page next to the touched one joins its fetch if it is invalid here, still pending, and no
 * other thread is handling it (its lock is taken without waiting: two faults never wait on
 * each other). Returns 1 with the page's lock held. */
static int fetch_joins(myo_view *v, size_t q)
{
    _Atomic uint8_t *pending = off_myo_map(v->sh, OFF_MYO_PENDING);
    if (atomic_load(&v->state[q]) != OFF_MYO_PG_INVALID || atomic_load(&pending[q]) == OFF_MYO_PENDING_NONE)
        return 0;
    if (!off_myo_try_lock(&v->lock[q])) return 0;
    if (atomic_load(&v->state[q]) == OFF_MYO_PG_INVALID) return 1;
    off_myo_spin_unlock(&v->lock[q]);
    return 0;
}

/* The run [*first, *end) of pages fetched with p: p alone unless p is pending on the card; then
 * the pending pages around it up to the edges of its allocation, so that a buffer the host is
 * still filling next to it (its pages released as they are written) is not fetched early. */
static void fetch_run(myo_view *v, size_t p, size_t *first, size_t *end)
{
    size_t a = p, b = p + 1;
    _Atomic uint8_t *starts = off_myo_map(v->sh, OFF_MYO_STARTS);
    if (v->side == OFF_MYO_CARD && v->alias &&
        atomic_load(&off_myo_map(v->sh, OFF_MYO_PENDING)[p]) != OFF_MYO_PENDING_NONE) {
        while (a > 0 && !atomic_load(&starts[a]) && fetch_joins(v, a - 1)) a--;
        while (b < v->npages && !atomic_load(&starts[b]) && fetch_joins(v, b)) b++;
    }
    *first = a, *end = b;
}

void off_myo_fetch(myo_view *v, size_t p)
{
    double t0 = off_now();
    size_t first, end;
    fetch_run(v, p, &first, &end);
    /* Filled through the alias, the pages are neither opened early nor marked written by us. */
    char *dst = v->alias ? v->alias : v->base;
    if (!v->alias) mprotect(v->base + p * PAGE, PAGE, PROT_READ | PROT_WRITE);
    for (size_t q = first; q < end; q++) {
        if (v->side == OFF_MYO_CARD) fetch_from_host(v, q, dst);
        else off_myo_own_host_fetch(v, q, dst);
    }
    if (!v->alias) off_myo_track_rearm(&v->track, p, 1);
    if (end - first > 1) {
        /* The pages around p: readable as after a read fault (mprotect tracking), or open (uffd:
         * writes are tracked by the scan). The fault handler gives p its protection. */
        int prot = v->track.kind == OFF_MYO_TRACK_MPROTECT ? PROT_READ : PROT_READ | PROT_WRITE;
        mprotect(v->base + first * PAGE, (end - first) * PAGE, prot);
        for (size_t q = first; q < end; q++)
            if (q != p) {
                atomic_store(&v->state[q], OFF_MYO_PG_CLEAN);
                off_myo_spin_unlock(&v->lock[q]);
            }
    }
    const uint64_t pages = end - first;
    off_myo_charge_link(v, t0, pages, v->side == OFF_MYO_HOST ? OFF_BUS_FROM_CARD : OFF_BUS_TO_CARD);
    atomic_fetch_add(v->side == OFF_MYO_HOST ? &v->sh->pages_from_card : &v->sh->pages_to_card, pages);
    uint64_t ns = (uint64_t)((off_now() - t0) * 1e9);
    atomic_fetch_add(v->side == OFF_MYO_HOST ? &v->sh->fetch_ns_host : &v->sh->fetch_ns_card, ns);
    atomic_fetch_add(&v->sh->move_ns, ns);
}

/* The host is about to write a page it released that the card has not fetched yet (on-demand):
 * the released contents go aside, so the card reads them and not this later write. */
void off_myo_stash_if_pending(myo_view *v, size_t p)
{
    _Atomic uint8_t *pending = &off_myo_map(v->sh, OFF_MYO_PENDING)[p];
    if (atomic_load(pending) != OFF_MYO_PENDING_IN_HOST) return;
    _Atomic uint8_t *moving = &off_myo_map(v->sh, OFF_MYO_MOVING)[p];
    off_myo_spin_lock(moving);
    if (atomic_load(pending) == OFF_MYO_PENDING_IN_HOST) {
        memcpy(off_myo_stash(v->sh) + p * PAGE, v->base + p * PAGE, PAGE);
        atomic_store(pending, OFF_MYO_PENDING_STASHED);
    }
    off_myo_spin_unlock(moving);
}
