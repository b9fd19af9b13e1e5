/* myo_view.h — what the files of MYO coherence share inside the runtime: one side's view of its
 * copy of the arena, and the maps of the shared segment (myo.c explains the scheme). */
#ifndef DNN_OFFLOAD_MYO_VIEW_H
#define DNN_OFFLOAD_MYO_VIEW_H

#include "myo.h"

#define OFF_MYO_PAGE 4096u

enum { OFF_MYO_PG_CLEAN = 0, OFF_MYO_PG_DIRTY = 1, OFF_MYO_PG_INVALID = 2 };

/* One side's view: its own copy at `base`, the peer's copy at `peer`. */
struct myo_view {
    char *base, *peer;
    size_t size, npages;
    int side;                  /* OFF_MYO_HOST or OFF_MYO_CARD */
    _Atomic uint8_t *state;    /* per page, this side (private memory) */
    _Atomic uint8_t *lock;     /* per page: taken while a fault handles the page */
    off_myo_shared *sh;
    off_bus *bus;              /* the modelled link, shared with the explicit channel; NULL: none */
    off_myo_tracker track;
    char *alias;               /* this side's copy mapped a second time (mremap): fetches fill it
                                * there, untracked and unprotected; NULL: through base */
    uint8_t *guarded;          /* host, uffd, on-demand: made read-only at the last release only to
                                * stash a write over a page the card may still fetch (myo.c) */
};

/* Eight maps of one byte per page follow the header in the shared segment (offsets, not
 * pointers: the segment sits at a different address on each side):
 *   dirty[side]     written by that side since its last release (its write faults set them);
 *   released[side]  released by that side at its last boundary, not yet acquired by the other.
 * Keeping the two apart matters: the host may go on writing (a prefetch thread filling the next
 * chunk) while an offload runs, and those writes must not be lost when the card acquires.
 * Two more serve on-demand, where the card fetches a released page from the host's copy later:
 *   pending         the host released the page and the card has not fetched it yet; a host write
 *                   to it first keeps the released contents aside (PENDING_STASHED, in the stash:
 *                   one page per arena page, at the end of the segment, touched only when used),
 *                   and the card's fetch takes them from there, not what was written after. Host
 *                   memory to host memory: no traffic until the card fetches, as for any page;
 *   moving          a lock both processes take while such a page is stashed or fetched;
 *   owned           (myo_own.c) the card released the page and the host has not fetched it
 *                   since: the card writes it untracked (OWNED_BY_CARD); OWNED_FETCHED once the
 *                   host has fetched it, its fetched contents in the stash;
 *   starts          an allocation of the arena begins in the page (off_myo_note_alloc, from
 *                   either side): a fetch of pending pages stays within one allocation. */
enum { OFF_MYO_DIRTY_HOST = 0, OFF_MYO_DIRTY_CARD = 1, OFF_MYO_RELEASED_HOST = 2, OFF_MYO_RELEASED_CARD = 3,
       OFF_MYO_PENDING = 4, OFF_MYO_MOVING = 5, OFF_MYO_OWNED = 6, OFF_MYO_STARTS = 7, OFF_MYO_MAPS = 8 };
enum { OFF_MYO_PENDING_NONE = 0, OFF_MYO_PENDING_IN_HOST = 1, OFF_MYO_PENDING_STASHED = 2 };
enum { OFF_MYO_OWNED_NOT = 0, OFF_MYO_OWNED_BY_CARD = 1, OFF_MYO_OWNED_FETCHED = 2 };

static inline _Atomic uint8_t *off_myo_map(off_myo_shared *sh, int which)
{
    return (_Atomic uint8_t *)(sh + 1) + which * sh->npages;
}
static inline size_t off_myo_stash_offset(size_t npages)
{
    return (sizeof(off_myo_shared) + OFF_MYO_MAPS * npages + OFF_MYO_PAGE - 1) / OFF_MYO_PAGE * OFF_MYO_PAGE;
}
static inline char *off_myo_stash(off_myo_shared *sh) { return (char *)sh + off_myo_stash_offset(sh->npages); }

static inline void off_myo_spin_lock(_Atomic uint8_t *l)
{
    while (atomic_exchange_explicit(l, 1, memory_order_acquire)) __builtin_ia32_pause();
}
static inline int off_myo_try_lock(_Atomic uint8_t *l) { return !atomic_exchange_explicit(l, 1, memory_order_acquire); }
static inline void off_myo_spin_unlock(_Atomic uint8_t *l) { atomic_store_explicit(l, 0, memory_order_release); }

/* Pages moved since t0 cross the bus in direction `dir` as one transfer (latency once) and take
 * at least what the model says, queued behind whatever else uses it (myo.c). */
void off_myo_charge_link(myo_view *v, double t0, uint64_t pages, int dir);

/* myo_fetch.c: on-demand, page p (and, on the card, the pending pages around it) into this
 * side's copy, the caller holding p's lock; and the host's stash of a page it writes over while
 * the card may still fetch it. */
void off_myo_fetch(myo_view *v, size_t p);
void off_myo_stash_if_pending(myo_view *v, size_t p);

/* myo_own.c: the card's pages that it need not track (on-demand with uffd tracking only). */
int off_myo_owns(const myo_view *v);
void off_myo_own_released(myo_view *v, size_t page);         /* the card released it: now owned */
void off_myo_own_rearm(myo_view *v, int at_release);          /* pages the host fetched: track again */
void off_myo_own_host_fetch(myo_view *v, size_t page, char *dst); /* the host's fetch of a page */

#endif
