/* myo.c — MYO-style coherence of Cilk shared memory: each side keeps its OWN copy of the arena.
 *
 * With `--coherence shared` host and card map one memfd: coherent for free. With `myo`, as on the
 * Xeon Phi (Intel's MYO), the host's copy H and the card's copy C are different memory mapped at
 * the same virtual address, and software keeps them coherent at offload boundaries:
 *
 *   writes are tracked per page on each side (myo_track.c): by userfaultfd write-protection and
 *   PAGEMAP_SCAN where the kernel has them, with no fault; otherwise pages are read-only after a
 *   synchronisation point, the first write faults (SIGSEGV), the handler marks the page dirty and
 *   makes it writable;
 *
 *   offload entry (host releases, card acquires) and exit (card releases, host acquires) move the
 *   dirty pages of the releasing side:
 *     on-acquire — all of them, at the boundary, in one transfer;
 *     on-demand  — none at the boundary: the acquiring side invalidates them (PROT_NONE) and a page
 *                  moves when it is first touched, by fault (myo_fetch.c: a page released at this
 *                  offload's entry brings the rest of that release in its allocation with it, in
 *                  one transfer; others cross one per fault). The card does not track again the
 *                  pages it released that the host has not fetched (myo_own.c).
 *
 * Moving a page is a copy between the two memfds (each side maps the other's copy at a second
 * address, like a DMA engine reading the peer's memory), timed by the card's link model. A page
 * written by both sides between two synchronisation points is a data race in this model; with
 * race checking on it is reported instead of one write being silently lost.
 *
 * The dirty maps and counters live in a small shared segment (off_myo_shared, maps described in
 * myo_view.h) both sides map.
 * The host creates both segments (off_myo_host_open, in myo_host.c) and hands their
 * descriptors to the card.
 */
#define _GNU_SOURCE
#include "myo_view.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "ring.h"

#define PAGE OFF_MYO_PAGE
enum { PG_CLEAN = OFF_MYO_PG_CLEAN, PG_DIRTY = OFF_MYO_PG_DIRTY, PG_INVALID = OFF_MYO_PG_INVALID };

static int myo_by_fault(const myo_view *v) { return v->track.kind == OFF_MYO_TRACK_MPROTECT; }

#define MAX_VIEWS 8
static myo_view *views[MAX_VIEWS];
static struct sigaction previous_segv;
static int handler_installed;

static _Atomic uint8_t *myo_map(off_myo_shared *sh, int which) { return off_myo_map(sh, which); }
enum { DIRTY_HOST = OFF_MYO_DIRTY_HOST, DIRTY_CARD = OFF_MYO_DIRTY_CARD, RELEASED_HOST = OFF_MYO_RELEASED_HOST,
       RELEASED_CARD = OFF_MYO_RELEASED_CARD, PENDING = OFF_MYO_PENDING, OWNED = OFF_MYO_OWNED };
static _Atomic uint8_t *myo_my_dirty(myo_view *v) { return myo_map(v->sh, v->side == OFF_MYO_HOST ? DIRTY_HOST : DIRTY_CARD); }
static _Atomic uint8_t *myo_my_released(myo_view *v) { return myo_map(v->sh, v->side == OFF_MYO_HOST ? RELEASED_HOST : RELEASED_CARD); }
static _Atomic uint8_t *myo_peer_released(myo_view *v) { return myo_map(v->sh, v->side == OFF_MYO_HOST ? RELEASED_CARD : RELEASED_HOST); }
/* The card's owned pages are left out of its scans (myo_own.c); NULL: every page is tracked. */
static _Atomic uint8_t *myo_scan_skip(myo_view *v) { return off_myo_owns(v) ? myo_map(v->sh, OWNED) : NULL; }

size_t off_myo_shared_bytes(size_t arena_size)
{
    return off_myo_stash_offset(arena_size / PAGE) + arena_size;
}

/* ---- the fault handler ---------------------------------------------------------------------- */

void off_myo_charge_link(myo_view *v, double t0, uint64_t pages, int dir)
{
    if (!pages || !v->bus) return;
    double end = off_bus_reserve(v->bus, dir, t0, pages * PAGE, NULL);
    if (end > off_now()) off_sleep_until(end, NULL, NULL);
}

static int myo_handle_fault(myo_view *v, char *addr, int write)
{
    size_t p = (size_t)(addr - v->base) / PAGE;
    off_myo_spin_lock(&v->lock[p]);
    uint8_t st = atomic_load(&v->state[p]);
    atomic_fetch_add(v->side == OFF_MYO_HOST ? &v->sh->faults_host : &v->sh->faults_card, 1);
    if (st == PG_INVALID) {
        off_myo_fetch(v, p);
        st = PG_CLEAN;
    }
    if (write && v->side == OFF_MYO_HOST) off_myo_stash_if_pending(v, p);
    if (!myo_by_fault(v)) {
        /* Only invalid pages and pages to stash fault here; the write itself is tracked by uffd. */
        atomic_store(&v->state[p], PG_CLEAN);
        mprotect(v->base + p * PAGE, PAGE, PROT_READ | PROT_WRITE);
    } else if (write) {
        atomic_store(&myo_my_dirty(v)[p], 1);
        atomic_store(&v->state[p], PG_DIRTY);
        mprotect(v->base + p * PAGE, PAGE, PROT_READ | PROT_WRITE);
    } else {
        atomic_store(&v->state[p], st);
        mprotect(v->base + p * PAGE, PAGE, st == PG_DIRTY ? PROT_READ | PROT_WRITE : PROT_READ);
    }
    off_myo_spin_unlock(&v->lock[p]);
    return 1;
}

static void myo_on_segv(int sig, siginfo_t *si, void *uctx)
{
    char *addr = si->si_addr;
    for (int i = 0; i < MAX_VIEWS; i++) {
        myo_view *v = views[i];
        if (v && addr >= v->base && addr < v->base + v->size) {
            ucontext_t *uc = uctx;
            int write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0; /* x86-64: bit 1 = write */
            myo_handle_fault(v, addr, write);
            return;
        }
    }
    /* Not ours: hand it to whoever was there before (or die as the default would). */
    if (previous_segv.sa_flags & SA_SIGINFO) {
        previous_segv.sa_sigaction(sig, si, uctx);
    } else if (previous_segv.sa_handler != SIG_DFL && previous_segv.sa_handler != SIG_IGN) {
        previous_segv.sa_handler(sig);
    } else {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
}

static int myo_install_handler(void)
{
    if (handler_installed) return OFF_OK;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = myo_on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &previous_segv) != 0)
        return off_fail(OFF_ESYS, "cannot install the MYO page-fault handler: %s", strerror(errno));
    handler_installed = 1;
    return OFF_OK;
}

/* ---- set-up ----------------------------------------------------------------------------------- */

myo_view *off_myo_attach(int side, void *base, void *peer, size_t size, off_myo_shared *sh, off_bus *bus)
{
    myo_view *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->base = base, v->peer = peer, v->size = size, v->npages = size / PAGE, v->side = side, v->sh = sh;
    v->bus = bus;
    v->state = calloc(v->npages, 1);
    v->lock = calloc(v->npages, 1);
    v->guarded = calloc(v->npages, 1);
    int slot = -1;
    for (int i = 0; i < MAX_VIEWS; i++)
        if (!views[i]) {
            slot = i;
            break;
        }
    if (slot < 0) off_fail(OFF_ESYS, "too many MYO arenas in one process (at most %d)", MAX_VIEWS);
    if (!v->state || !v->lock || !v->guarded || slot < 0 || myo_install_handler() != OFF_OK ||
        off_myo_track_start(&v->track, base, size) != OFF_OK) {
        free(v->state);
        free(v->lock);
        free(v->guarded);
        free(v);
        return NULL;
    }
    /* Invariant from here on: a page dirty on neither side is equal in both copies. The host
     * starts it by copying what it wrote before (the allocator's header) into the card's copy. */
    if (side == OFF_MYO_HOST) memcpy(peer, base, size);
    v->alias = mremap(base, 0, size, MREMAP_MAYMOVE); /* old size 0: a second mapping of the same pages */
    if (v->alias == MAP_FAILED) v->alias = NULL;
    if (myo_by_fault(v)) mprotect(base, size, PROT_READ);
    sh->tracking[side] = v->track.kind;
    views[slot] = v;
    return v;
}

void off_myo_note_alloc(const void *p)
{
    for (int i = 0; i < MAX_VIEWS; i++) {
        myo_view *v = views[i];
        if (v && (const char *)p >= v->base && (const char *)p < v->base + v->size)
            atomic_store(&myo_map(v->sh, OFF_MYO_STARTS)[((const char *)p - v->base) / PAGE], 1);
    }
}

void off_myo_set_bus(myo_view *v, off_bus *bus)
{
    if (v) v->bus = bus;
}

void off_myo_detach(myo_view *v)
{
    if (!v) return;
    off_myo_track_stop(&v->track);
    /* Leave the memory usable: bring back what only the peer has, then open it for writing. */
    for (size_t p = 0; p < v->npages; p++)
        if (atomic_load(&v->state[p]) == PG_INVALID) {
            mprotect(v->base + p * PAGE, PAGE, PROT_READ | PROT_WRITE);
            memcpy(v->base + p * PAGE, v->peer + p * PAGE, PAGE);
        }
    mprotect(v->base, v->size, PROT_READ | PROT_WRITE);
    if (v->alias) munmap(v->alias, v->size);
    for (int i = 0; i < MAX_VIEWS; i++)
        if (views[i] == v) views[i] = NULL;
    free(v->state);
    free(v->lock);
    free(v->guarded);
    free(v);
}

static void myo_lock_page(myo_view *v, size_t p) { off_myo_spin_lock(&v->lock[p]); }
static void myo_unlock_page(myo_view *v, size_t p) { off_myo_spin_unlock(&v->lock[p]); }

/* Release: every page this side dirtied goes read-only again (so the next write faults and is
 * tracked), and is either copied into the peer's copy now (on-acquire) or marked released for
 * the peer to invalidate (on-demand). Pages are locked while their protection changes, so a
 * write racing in from another thread either lands before (and is released) or faults after
 * (and is tracked for the next boundary). Returns the pages copied. */
static uint64_t myo_release(myo_view *v)
{
    _Atomic uint8_t *dirty = myo_my_dirty(v), *released = myo_my_released(v);
    const int copy = v->sh->policy == OFF_MYO_ON_ACQUIRE;
    /* Read-only again: to track the next write by fault (not the card's owned pages, myo_own.c),
     * or (uffd) to catch a host write over a page the card may still fetch, which must stash the
     * released contents first. */
    const int protect = (myo_by_fault(v) && !off_myo_owns(v)) || (!copy && v->side == OFF_MYO_HOST);
    uint64_t copied = 0;
    size_t p = 0;
    off_myo_own_rearm(v, 1);
    off_myo_track_scan(&v->track, dirty, myo_scan_skip(v));
    while (p < v->npages) {
        if (!atomic_load(&dirty[p])) {
            p++;
            continue;
        }
        size_t q = p;
        while (q < v->npages && atomic_load(&dirty[q])) myo_lock_page(v, q++);
        if (protect) mprotect(v->base + p * PAGE, (q - p) * PAGE, PROT_READ);
        for (size_t i = p; i < q; i++) {
            if (copy) memcpy(v->peer + i * PAGE, v->base + i * PAGE, PAGE);
            else if (v->side == OFF_MYO_HOST) atomic_store(&myo_map(v->sh, PENDING)[i], OFF_MYO_PENDING_IN_HOST);
            atomic_store(&released[i], 1);
            if (protect && !myo_by_fault(v)) v->guarded[i] = 1;
            if (off_myo_owns(v)) off_myo_own_released(v, i);
            atomic_store(&dirty[i], 0);
            atomic_store(&v->state[i], PG_CLEAN);
            myo_unlock_page(v, i);
        }
        copied += copy ? q - p : 0;
        p = q;
    }
    return copied;
}

/* Acquire: pages the peer released are invalidated here (on-demand: fetched at first touch); with
 * on-acquire their new contents are already in this copy. Returns a race error if asked to look. */
static int myo_race(myo_view *v, size_t p, const char *when)
{
    atomic_fetch_add(&v->sh->races, 1);
    return off_fail(OFF_EKERNEL,
                    "data race in Cilk shared memory: page %zu (address %p) was written by both host "
                    "and card between two synchronisation points (%s); one write would be lost",
                    p, (void *)(v->base + p * PAGE), when);
}

/* Host, uffd: once the card's kernel has ended it fetches nothing more in this offload, so the
 * pages guarded at the release are opened again (their writes are tracked by uffd): a host that
 * rewrites a buffer later takes no fault per page. */
static void myo_unguard(myo_view *v)
{
    size_t p = 0;
    while (p < v->npages) {
        if (!v->guarded[p]) {
            p++;
            continue;
        }
        size_t q = p;
        while (q < v->npages && v->guarded[q]) myo_lock_page(v, q++);
        mprotect(v->base + p * PAGE, (q - p) * PAGE, PROT_READ | PROT_WRITE);
        for (size_t i = p; i < q; i++) {
            v->guarded[i] = 0;
            myo_unlock_page(v, i);
        }
        p = q;
    }
}

static int myo_acquire(myo_view *v, const char *when)
{
    _Atomic uint8_t *released = myo_peer_released(v), *dirty = myo_my_dirty(v), *pending = myo_map(v->sh, PENDING);
    const int invalidate = v->sh->policy == OFF_MYO_ON_DEMAND;
    int rc = OFF_OK;
    off_myo_own_rearm(v, 0); /* before the kernel runs: what the host fetched is tracked again */
    if (v->sh->race_check) off_myo_track_scan(&v->track, dirty, myo_scan_skip(v)); /* this side's writes, to compare */
    /* The host acquires once the card's kernel has ended: what it did not fetch it never will in
     * this offload, and a host write to it now is released at the next entry. */
    if (v->side == OFF_MYO_HOST) {
        for (size_t p = 0; p < v->npages; p++)
            if (atomic_load(&pending[p])) atomic_store(&pending[p], OFF_MYO_PENDING_NONE);
        myo_unguard(v);
    }
    size_t p = 0;
    while (p < v->npages) {
        if (!atomic_load(&released[p])) {
            p++;
            continue;
        }
        /* A run of released pages: checked page by page, invalidated in one mprotect. */
        size_t q = p;
        for (; q < v->npages && atomic_load(&released[q]); q++) {
            if (v->sh->race_check && atomic_load(&dirty[q]) && rc == OFF_OK) rc = myo_race(v, q, when);
            if (invalidate) myo_lock_page(v, q);
        }
        if (invalidate) mprotect(v->base + p * PAGE, (q - p) * PAGE, PROT_NONE);
        for (size_t i = p; i < q; i++) {
            if (invalidate) {
                atomic_store(&v->state[i], PG_INVALID);
                myo_unlock_page(v, i);
            }
            atomic_store(&released[i], 0);
        }
        p = q;
    }
    return rc;
}

/* ---- the four boundary steps: host release (before posting an offload) -> card acquire (before
 * the kernel) -> card release (before the reply) -> host acquire (after the reply) ---------------- */

/* One side's release: its dirty pages leave (counted in `moved`), the time goes to `ns`. */
static int myo_release_step(myo_view *v, _Atomic uint64_t *moved, uint64_t *ns)
{
    double t0 = off_now();
    uint64_t pages = myo_release(v);
    off_myo_charge_link(v, t0, pages, v->side == OFF_MYO_HOST ? OFF_BUS_TO_CARD : OFF_BUS_FROM_CARD);
    atomic_fetch_add(moved, pages);
    uint64_t took = (uint64_t)((off_now() - t0) * 1e9);
    *ns += took;
    if (pages) atomic_fetch_add(&v->sh->move_ns, took);
    return OFF_OK;
}

int off_myo_host_release(myo_view *v) { return myo_release_step(v, &v->sh->pages_to_card, &v->sh->coherence_ns_host); }
int off_myo_card_release(myo_view *v) { return myo_release_step(v, &v->sh->pages_from_card, &v->sh->coherence_ns_card); }

int off_myo_card_acquire(myo_view *v)
{
    double t0 = off_now();
    myo_acquire(v, "before an offload");
    v->sh->coherence_ns_card += (uint64_t)((off_now() - t0) * 1e9);
    return OFF_OK;
}

int off_myo_host_acquire(myo_view *v)
{
    double t0 = off_now();
    int rc = myo_acquire(v, "during an offload");
    v->sh->coherence_ns_host += (uint64_t)((off_now() - t0) * 1e9);
    return rc;
}
