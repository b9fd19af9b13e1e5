/* myo.h — MYO-style coherence of the arena (see myo.c). */
#ifndef DNN_OFFLOAD_MYO_H
#define DNN_OFFLOAD_MYO_H

#include "internal.h"

enum { OFF_MYO_HOST = 0, OFF_MYO_CARD = 1 };
enum { OFF_MYO_ON_DEMAND = 0, OFF_MYO_ON_ACQUIRE = 1 };

/* Shared by host and card (a memfd of off_myo_shared_bytes()). */
typedef struct {
    int32_t policy;      /* OFF_MYO_ON_DEMAND / ON_ACQUIRE */
    int32_t race_check;
    _Atomic uint64_t pages_to_card, pages_from_card;
    _Atomic uint64_t faults_host, faults_card;
    _Atomic uint64_t fetch_ns_host, fetch_ns_card;
    uint64_t coherence_ns_host, coherence_ns_card;
    _Atomic uint64_t move_ns; /* of the above, moving pages: release copies and fetches, link model included */
    _Atomic uint64_t races;
    _Atomic uint64_t owned_fetched; /* pages the card owns that the host has fetched (myo_own.c) */
    uint64_t npages;
    int32_t tracking[2]; /* per side (OFF_MYO_HOST, OFF_MYO_CARD): OFF_MYO_TRACK_* */
    /* followed by: dirty_host[npages], dirty_card[npages] */
} off_myo_shared;

typedef struct myo_view myo_view;

/* Write tracking of one side's copy (myo_track.c). */
enum { OFF_MYO_TRACK_MPROTECT = 1, OFF_MYO_TRACK_UFFD = 2 };
typedef struct {
    int kind; /* OFF_MYO_TRACK_*: with MPROTECT the fault handler tracks, and scan finds nothing */
    int uffd, pagemap;
    char *base;
    size_t size;
} off_myo_tracker;
/* Picks the way (uffd where the kernel has it; DNN_MYO_TRACKING forces one). OFF_OK or an error. */
int off_myo_track_start(off_myo_tracker *t, char *base, size_t size);
/* uffd: sets written[p] for every page written since the last scan and protects them again.
 * With `skip`, only reports: pages stay writable, and those with skip[p] set are left out.
 * Returns the pages found, or minus an OFF_E* code. */
int off_myo_track_scan(off_myo_tracker *t, _Atomic uint8_t *written, _Atomic uint8_t *skip);
/* uffd: pages [page, page + n) are protected again, so the next write to them is tracked (a
 * page we filled ourselves is not a write). */
void off_myo_track_rearm(off_myo_tracker *t, size_t page, size_t n);
void off_myo_track_stop(off_myo_tracker *t);

size_t off_myo_shared_bytes(size_t arena_size);
/* base: this side's copy; peer: the other side's copy mapped here read-write. */
myo_view *off_myo_attach(int side, void *base, void *peer, size_t size, off_myo_shared *sh, off_bus *bus);
void off_myo_set_bus(myo_view *v, off_bus *bus); /* NULL: page moves are not modelled (card stopped) */
void off_myo_detach(myo_view *v);
int off_myo_host_release(myo_view *v);
int off_myo_host_acquire(myo_view *v);
int off_myo_card_acquire(myo_view *v);
int off_myo_card_release(myo_view *v);

/* An allocation of the arena begins at p (arena.c tells every allocation; nothing when p is in no
 * MYO arena of this process). */
void off_myo_note_alloc(const void *p);

/* "shared" (or NULL, ""): *myo = 0. "myo", "myo-on-demand", "myo-on-acquire": *myo = 1 and the
 * policy. Anything else: OFF_EARG. */
int off_myo_parse_coherence(const char *spec, int *myo, int *policy);

/* The host's side of MYO coherence: the card's copy of the arena (a second memfd, mapped here
 * too so pages can be copied into it and fetched from it) and the shared dirty maps. */
typedef struct {
    int copy_fd, shared_fd; /* handed to the card; -1 when closed */
    void *copy;
    off_myo_shared *shared;
    size_t copy_bytes, shared_bytes;
    myo_view *view;
} off_myo_host;

void off_myo_host_init(off_myo_host *m); /* nothing open: safe to close */
int off_myo_host_open(off_myo_host *m, const off_arena *arena, int policy, int race_check, off_bus *bus);
/* Brings back into the host's copy the pages only the card's copy holds, then unmaps and closes. */
void off_myo_host_close(off_myo_host *m);
void off_myo_host_stats(const off_myo_host *m, off_myo_stats *out); /* zeros when not open */

#endif
