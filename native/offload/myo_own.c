/* myo_own.c — pages the card released that it need not track again (on-demand).
 *
 * Under on-demand a page the card released stays invalid in the host's copy until the host
 * fetches it (myo.c), and that fetch takes the card's contents as they are then. So while the host
 * has not fetched such a page, whatever the card writes to it again has been released already:
 * the card leaves the page writable (no write fault with mprotect tracking, out of the scans with
 * uffd): the page is "owned", and memory the card rewrites on every call (weights, gradients)
 * costs one tracked write in the whole run instead of one per call. The pages moved do not
 * change: they are the pages the host fetches.
 *
 * When the host fetches an owned page, it keeps the contents it took in the stash and marks the
 * page fetched; the card tracks the page again at its next boundary. At a release it first
 * compares the page with what the host took: if the card wrote it after the host's fetch (the
 * host fetched while the offload ran), the page is released again, as a tracked write would be.
 * Under on-acquire nothing is owned: every write is tracked and copied at the release.
 */
#include "myo_view.h"

#include <string.h>
#include <sys/mman.h>

int off_myo_owns(const myo_view *v) { return v->side == OFF_MYO_CARD && v->sh->policy == OFF_MYO_ON_DEMAND; }

/* The page's next write is tracked again: protected for uffd, or read-only (the write faults). */
static void own_track_again(myo_view *v, size_t p)
{
    if (v->track.kind != OFF_MYO_TRACK_MPROTECT) {
        off_myo_track_rearm(&v->track, p, 1);
        return;
    }
    off_myo_spin_lock(&v->lock[p]);
    mprotect(v->base + p * OFF_MYO_PAGE, OFF_MYO_PAGE, PROT_READ);
    atomic_store(&v->state[p], OFF_MYO_PG_CLEAN);
    off_myo_spin_unlock(&v->lock[p]);
}

void off_myo_own_released(myo_view *v, size_t page)
{
    /* Only a tracked page becomes owned: one the host fetched meanwhile keeps its mark. */
    uint8_t tracked = OFF_MYO_OWNED_NOT;
    atomic_compare_exchange_strong(&off_myo_map(v->sh, OFF_MYO_OWNED)[page], &tracked, OFF_MYO_OWNED_BY_CARD);
}

void off_myo_own_rearm(myo_view *v, int at_release)
{
    if (!off_myo_owns(v) || !atomic_load(&v->sh->owned_fetched)) return;
    _Atomic uint8_t *owned = off_myo_map(v->sh, OFF_MYO_OWNED), *moving = off_myo_map(v->sh, OFF_MYO_MOVING);
    _Atomic uint8_t *dirty = off_myo_map(v->sh, OFF_MYO_DIRTY_CARD);
    const char *stash = off_myo_stash(v->sh);
    for (size_t p = 0; p < v->npages; p++) {
        if (atomic_load(&owned[p]) != OFF_MYO_OWNED_FETCHED) continue;
        off_myo_spin_lock(&moving[p]);
        if (at_release && memcmp(v->base + p * OFF_MYO_PAGE, stash + p * OFF_MYO_PAGE, OFF_MYO_PAGE) != 0) {
            atomic_store(&dirty[p], 1); /* written since the host took it: released at this boundary */
            atomic_store(&owned[p], OFF_MYO_OWNED_BY_CARD);
        } else {
            own_track_again(v, p);
            atomic_store(&owned[p], OFF_MYO_OWNED_NOT);
        }
        atomic_fetch_sub(&v->sh->owned_fetched, 1);
        off_myo_spin_unlock(&moving[p]);
    }
}

void off_myo_own_host_fetch(myo_view *v, size_t page, char *dst)
{
    _Atomic uint8_t *owned = &off_myo_map(v->sh, OFF_MYO_OWNED)[page];
    const size_t at = page * OFF_MYO_PAGE;
    if (atomic_load(owned) != OFF_MYO_OWNED_BY_CARD) {
        memcpy(dst + at, v->peer + at, OFF_MYO_PAGE);
        return;
    }
    _Atomic uint8_t *moving = &off_myo_map(v->sh, OFF_MYO_MOVING)[page];
    off_myo_spin_lock(moving);
    const char *from = v->peer;
    if (atomic_load(owned) == OFF_MYO_OWNED_BY_CARD) {
        char *kept = off_myo_stash(v->sh);
        memcpy(kept + at, v->peer + at, OFF_MYO_PAGE);
        atomic_store(owned, OFF_MYO_OWNED_FETCHED);
        atomic_fetch_add(&v->sh->owned_fetched, 1);
        from = kept;
    }
    memcpy(dst + at, from + at, OFF_MYO_PAGE);
    off_myo_spin_unlock(moving);
}
