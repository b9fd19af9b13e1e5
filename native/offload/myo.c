/* myo.c — MYO-style coherence of Cilk shared memory: each side keeps its OWN copy of the arena.
 *
 * With `--coherence shared` host and card map one memfd: coherent for free. With `myo`, as on the
 * Xeon Phi (Intel's MYO), the host's copy H and the card's copy C are different memory mapped at
 * the same virtual address, and software keeps them coherent at offload boundaries:
 *
 *   writes are tracked per page on each side: pages are read-only after a synchronisation point,
 *   the first write faults (SIGSEGV), the handler marks the page dirty and makes it writable;
 *
 *   offload entry (host releases, card acquires) and exit (card releases, host acquires) move the
 *   dirty pages of the releasing side:
 *     on-acquire — all of them, at the boundary, in one transfer;
 *     on-demand  — none at the boundary: the acquiring side invalidates them (PROT_NONE) and a page
 *                  moves when it is first touched, by fault, one page per transfer.
 *
 * Moving a page is a copy between the two memfds (each side maps the other's copy at a second
 * address, like a DMA engine reading the peer's memory), timed by the card's link model. A page
 * written by both sides between two synchronisation points is a data race in this model; with
 * race checking on it is reported instead of one write being silently lost.
 *
 * The dirty maps and counters live in a small shared segment (off_myo_shared) both sides map.
 * The host creates both segments (off_myo_host_open, at the end of this file) and hands their
 * descriptors to the card.
 */
#define _GNU_SOURCE
#include "myo.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "ring.h"

#define PAGE 4096u

enum { PG_CLEAN = 0, PG_DIRTY = 1, PG_INVALID = 2 };

/* One side's view: its own copy at `base`, the peer's copy at `peer`. */
struct myo_view {
    char *base, *peer;
    size_t size, npages;
    int side;                  /* OFF_MYO_HOST or OFF_MYO_CARD */
    _Atomic uint8_t *state;    /* per page, this side (private memory) */
    _Atomic uint8_t *lock;     /* per page: taken while a fault handles the page */
    off_myo_shared *sh;
    off_link link;
};

#define MAX_VIEWS 8
static myo_view *views[MAX_VIEWS];
static struct sigaction previous_segv;
static int handler_installed;

/* Four maps of one byte per page follow the header in the shared segment (offsets, not
 * pointers: the segment sits at a different address on each side):
 *   dirty[side]     written by that side since its last release (its write faults set them);
 *   released[side]  released by that side at its last boundary, not yet acquired by the other.
 * Keeping the two apart matters: the host may go on writing (a prefetch thread filling the next
 * chunk) while an offload runs, and those writes must not be lost when the card acquires. */
static _Atomic uint8_t *myo_map(off_myo_shared *sh, int which) { return (_Atomic uint8_t *)(sh + 1) + which * sh->npages; }
enum { DIRTY_HOST = 0, DIRTY_CARD = 1, RELEASED_HOST = 2, RELEASED_CARD = 3 };
static _Atomic uint8_t *myo_my_dirty(myo_view *v) { return myo_map(v->sh, v->side == OFF_MYO_HOST ? DIRTY_HOST : DIRTY_CARD); }
static _Atomic uint8_t *myo_my_released(myo_view *v) { return myo_map(v->sh, v->side == OFF_MYO_HOST ? RELEASED_HOST : RELEASED_CARD); }
static _Atomic uint8_t *myo_peer_released(myo_view *v) { return myo_map(v->sh, v->side == OFF_MYO_HOST ? RELEASED_CARD : RELEASED_HOST); }

size_t off_myo_shared_bytes(size_t arena_size)
{
    return sizeof(off_myo_shared) + 4 * (arena_size / PAGE);
}

/* ---- the fault handler ---------------------------------------------------------------------- */

static void myo_page_fetch(myo_view *v, size_t p)
{
    /* One page crosses the link: latency + 4 KiB / bandwidth, never faster than the copy. */
    double t0 = off_now();
    mprotect(v->base + p * PAGE, PAGE, PROT_READ | PROT_WRITE);
    memcpy(v->base + p * PAGE, v->peer + p * PAGE, PAGE);
    double model = off_link_time(&v->link, PAGE);
    if (t0 + model > off_now()) off_sleep_until(t0 + model);
    if (v->side == OFF_MYO_HOST) atomic_fetch_add(&v->sh->pages_from_card, 1);
    else atomic_fetch_add(&v->sh->pages_to_card, 1);
    atomic_fetch_add(v->side == OFF_MYO_HOST ? &v->sh->fetch_ns_host : &v->sh->fetch_ns_card,
                     (uint64_t)((off_now() - t0) * 1e9));
}

static int myo_handle_fault(myo_view *v, char *addr, int write)
{
    size_t p = (size_t)(addr - v->base) / PAGE;
    while (atomic_exchange_explicit(&v->lock[p], 1, memory_order_acquire)) __builtin_ia32_pause();
    uint8_t st = atomic_load(&v->state[p]);
    atomic_fetch_add(v->side == OFF_MYO_HOST ? &v->sh->faults_host : &v->sh->faults_card, 1);
    if (st == PG_INVALID) {
        myo_page_fetch(v, p);
        st = PG_CLEAN;
    }
    if (write) {
        atomic_store(&myo_my_dirty(v)[p], 1);
        atomic_store(&v->state[p], PG_DIRTY);
        mprotect(v->base + p * PAGE, PAGE, PROT_READ | PROT_WRITE);
    } else {
        atomic_store(&v->state[p], st);
        mprotect(v->base + p * PAGE, PAGE, st == PG_DIRTY ? PROT_READ | PROT_WRITE : PROT_READ);
    }
    atomic_store_explicit(&v->lock[p], 0, memory_order_release);
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

myo_view *off_myo_attach(int side, void *base, void *peer, size_t size, off_myo_shared *sh, const off_link *link)
{
    myo_view *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->base = base, v->peer = peer, v->size = size, v->npages = size / PAGE, v->side = side, v->sh = sh;
    v->link = *link;
    v->state = calloc(v->npages, 1);
    v->lock = calloc(v->npages, 1);
    int slot = -1;
    for (int i = 0; i < MAX_VIEWS; i++)
        if (!views[i]) {
            slot = i;
            break;
        }
    if (!v->state || !v->lock || slot < 0 || myo_install_handler() != OFF_OK) {
        if (slot < 0) off_fail(OFF_ESYS, "too many MYO arenas in one process (at most %d)", MAX_VIEWS);
        free(v->state);
        free(v->lock);
        free(v);
        return NULL;
    }
    /* Invariant from here on: a page dirty on neither side is equal in both copies. The host
     * starts it by copying what it wrote before (the allocator's header) into the card's copy. */
    if (side == OFF_MYO_HOST) memcpy(peer, base, size);
    mprotect(base, size, PROT_READ);
    views[slot] = v;
    return v;
}

void off_myo_detach(myo_view *v)
{
    if (!v) return;
    /* Leave the memory usable: bring back what only the peer has, then open it for writing. */
    for (size_t p = 0; p < v->npages; p++)
        if (atomic_load(&v->state[p]) == PG_INVALID) {
            mprotect(v->base + p * PAGE, PAGE, PROT_READ | PROT_WRITE);
            memcpy(v->base + p * PAGE, v->peer + p * PAGE, PAGE);
        }
    mprotect(v->base, v->size, PROT_READ | PROT_WRITE);
    for (int i = 0; i < MAX_VIEWS; i++)
        if (views[i] == v) views[i] = NULL;
    free(v->state);
    free(v->lock);
    free(v);
}

static void myo_lock_page(myo_view *v, size_t p)
{
    while (atomic_exchange_explicit(&v->lock[p], 1, memory_order_acquire)) __builtin_ia32_pause();
}
static void myo_unlock_page(myo_view *v, size_t p) { atomic_store_explicit(&v->lock[p], 0, memory_order_release); }

/* Release: every page this side dirtied goes read-only again (so the next write faults and is
 * tracked), and is either copied into the peer's copy now (on-acquire) or marked released for
 * the peer to invalidate (on-demand). Pages are locked while their protection changes, so a
 * write racing in from another thread either lands before (and is released) or faults after
 * (and is tracked for the next boundary). Returns the pages copied. */
static uint64_t myo_release(myo_view *v)
{
    _Atomic uint8_t *dirty = myo_my_dirty(v), *released = myo_my_released(v);
    const int copy = v->sh->policy == OFF_MYO_ON_ACQUIRE;
    uint64_t copied = 0;
    size_t p = 0;
    while (p < v->npages) {
        if (!atomic_load(&dirty[p])) {
            p++;
            continue;
        }
        size_t q = p;
        while (q < v->npages && atomic_load(&dirty[q])) myo_lock_page(v, q++);
        mprotect(v->base + p * PAGE, (q - p) * PAGE, PROT_READ);
        for (size_t i = p; i < q; i++) {
            if (copy) memcpy(v->peer + i * PAGE, v->base + i * PAGE, PAGE);
            atomic_store(&released[i], 1);
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
static int myo_acquire(myo_view *v, const char *when)
{
    _Atomic uint8_t *released = myo_peer_released(v), *dirty = myo_my_dirty(v);
    const int invalidate = v->sh->policy == OFF_MYO_ON_DEMAND;
    int rc = OFF_OK;
    for (size_t p = 0; p < v->npages; p++) {
        if (!atomic_load(&released[p])) continue;
        if (v->sh->race_check && atomic_load(&dirty[p]) && rc == OFF_OK) {
            atomic_fetch_add(&v->sh->races, 1);
            rc = off_fail(OFF_EKERNEL,
                          "data race in Cilk shared memory: page %zu (address %p) was written by both host "
                          "and card between two synchronisation points (%s); one write would be lost",
                          p, (void *)(v->base + p * PAGE), when);
        }
        if (invalidate) {
            myo_lock_page(v, p);
            mprotect(v->base + p * PAGE, PAGE, PROT_NONE);
            atomic_store(&v->state[p], PG_INVALID);
            myo_unlock_page(v, p);
        }
        atomic_store(&released[p], 0);
    }
    return rc;
}

static void myo_charge_link(myo_view *v, double t0, uint64_t pages)
{
    if (!pages) return;
    double model = off_link_time(&v->link, pages * PAGE); /* one transfer for the batch */
    if (t0 + model > off_now()) off_sleep_until(t0 + model);
}

/* ---- the four boundary steps: host release (before posting an offload) -> card acquire (before
 * the kernel) -> card release (before the reply) -> host acquire (after the reply) ---------------- */

/* One side's release: its dirty pages leave (counted in `moved`), the time goes to `ns`. */
static int myo_release_step(myo_view *v, _Atomic uint64_t *moved, uint64_t *ns)
{
    double t0 = off_now();
    uint64_t pages = myo_release(v);
    myo_charge_link(v, t0, pages);
    atomic_fetch_add(moved, pages);
    *ns += (uint64_t)((off_now() - t0) * 1e9);
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

/* ---- the host's set-up ------------------------------------------------------------------------ */

int off_myo_parse_coherence(const char *spec, int *myo, int *policy)
{
    *myo = 0;
    *policy = OFF_MYO_ON_DEMAND;
    if (!spec || !*spec || strcmp(spec, "shared") == 0) return OFF_OK;
    if (strcmp(spec, "myo") == 0 || strcmp(spec, "myo-on-demand") == 0) *policy = OFF_MYO_ON_DEMAND;
    else if (strcmp(spec, "myo-on-acquire") == 0) *policy = OFF_MYO_ON_ACQUIRE;
    else
        return off_fail(OFF_EARG, "unknown coherence '%s': use shared, myo, myo-on-demand or myo-on-acquire", spec);
    *myo = 1;
    return OFF_OK;
}

void off_myo_host_init(off_myo_host *m)
{
    memset(m, 0, sizeof *m);
    m->copy_fd = m->shared_fd = -1;
}

int off_myo_host_open(off_myo_host *m, const off_arena *arena, int policy, int race_check, const off_link *link)
{
    size_t size = arena->size;
    m->copy_bytes = size;
    m->shared_bytes = off_myo_shared_bytes(size);
    m->copy_fd = memfd_create("dnn-arena-card-copy", MFD_CLOEXEC);
    m->shared_fd = memfd_create("dnn-myo", MFD_CLOEXEC);
    if (m->copy_fd < 0 || m->shared_fd < 0 || ftruncate(m->copy_fd, (off_t)size) != 0 ||
        ftruncate(m->shared_fd, (off_t)m->shared_bytes) != 0)
        return off_fail(OFF_ESYS, "cannot create the card's copy of the arena: %s", strerror(errno));
    m->copy = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, m->copy_fd, 0);
    m->shared = mmap(NULL, m->shared_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, m->shared_fd, 0);
    if (m->copy == MAP_FAILED || m->shared == MAP_FAILED) {
        m->copy = m->copy == MAP_FAILED ? NULL : m->copy;
        m->shared = m->shared == MAP_FAILED ? NULL : m->shared;
        return off_fail(OFF_ESYS, "cannot map the card's copy of the arena: %s", strerror(errno));
    }
    m->shared->policy = policy;
    m->shared->race_check = race_check;
    m->shared->npages = size / PAGE;
    m->view = off_myo_attach(OFF_MYO_HOST, arena->base, m->copy, size, m->shared, link);
    return m->view ? OFF_OK : OFF_ESYS;
}

void off_myo_host_close(off_myo_host *m)
{
    if (m->view) off_myo_detach(m->view);
    m->view = NULL;
    if (m->copy) munmap(m->copy, m->copy_bytes);
    if (m->shared) munmap(m->shared, m->shared_bytes);
    m->copy = NULL;
    m->shared = NULL;
    if (m->copy_fd >= 0) close(m->copy_fd);
    if (m->shared_fd >= 0) close(m->shared_fd);
    m->copy_fd = m->shared_fd = -1;
}

void off_myo_host_stats(const off_myo_host *m, off_myo_stats *out)
{
    memset(out, 0, sizeof *out);
    const off_myo_shared *sh = m->shared;
    if (!sh) return;
    out->pages_to_card = sh->pages_to_card;
    out->pages_from_card = sh->pages_from_card;
    out->faults_host = sh->faults_host;
    out->faults_card = sh->faults_card;
    out->races = sh->races;
    out->coherence_s = 1e-9 * (double)(sh->coherence_ns_host + sh->coherence_ns_card + sh->fetch_ns_host +
                                       sh->fetch_ns_card);
}
