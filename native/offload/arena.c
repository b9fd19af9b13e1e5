/* arena.c — the shared arena (Cilk shared memory) and its allocator.
 *
 * One memfd, mapped by the host wherever the kernel puts it and by the card at the SAME
 * address (MAP_FIXED_NOREPLACE), so pointers into it are valid on both sides. The allocator's
 * state lives inside the arena (header + boundary-tagged blocks, offsets not pointers), guarded
 * by a process-shared robust mutex, so host and card kernels may both allocate.
 *
 * Block layout: a 64-byte header, then the payload (64-byte aligned). Sizes are multiples of
 * 64. Free blocks sit on one address-ordered-agnostic doubly linked list (first fit); a freed
 * block merges with free neighbours at once, so the arena does not fragment into dust.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "myo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define ARENA_MAGIC 0x444e4e4152454e41ull /* "DNNARENA" */
#define BLK_MAGIC 0x424c4b21u
#define ALIGN 64u
#define MIN_BLOCK (2 * ALIGN)

typedef struct {
    uint64_t size;      /* whole block, header included */
    uint64_t prev_size; /* size of the block before (0 for the first) */
    uint32_t used;
    uint32_t magic;
    uint64_t next_free; /* offsets from the arena base; 0 = none */
    uint64_t prev_free;
    uint64_t requested; /* bytes asked for (for statistics) */
    char pad[16];
} blk;

typedef struct {
    uint64_t magic;
    uint64_t size;
    uint64_t heap_off, heap_end;
    uint64_t free_head;
    uint64_t used, peak, live_blocks;
    pthread_mutex_t lock;
} arena_hdr;

_Static_assert(sizeof(blk) == ALIGN, "block header must be one alignment unit");

#define HDR_BYTES ((sizeof(arena_hdr) + ALIGN - 1) / ALIGN * ALIGN)

static inline arena_hdr *arena_header(const off_arena *a) { return (arena_hdr *)a->base; }
static inline blk *arena_at(const off_arena *a, uint64_t off) { return (blk *)((char *)a->base + off); }
static inline uint64_t arena_off_of(const off_arena *a, const void *p) { return (uint64_t)((const char *)p - (const char *)a->base); }

static int arena_lock(off_arena *a)
{
    int rc = pthread_mutex_lock(&arena_header(a)->lock);
    if (rc == EOWNERDEAD) {
        /* The other side died holding the lock. Its change was a few stores on the lists;
         * declare the state consistent and let off_arena_check judge it. */
        pthread_mutex_consistent(&arena_header(a)->lock);
        rc = 0;
    }
    return rc;
}
static void arena_unlock(off_arena *a) { pthread_mutex_unlock(&arena_header(a)->lock); }

static void arena_list_push(off_arena *a, blk *b)
{
    arena_hdr *h = arena_header(a);
    uint64_t o = arena_off_of(a, b);
    b->used = 0;
    b->prev_free = 0;
    b->next_free = h->free_head;
    if (h->free_head) arena_at(a, h->free_head)->prev_free = o;
    h->free_head = o;
}

static void arena_list_remove(off_arena *a, blk *b)
{
    arena_hdr *h = arena_header(a);
    if (b->prev_free) arena_at(a, b->prev_free)->next_free = b->next_free;
    else h->free_head = b->next_free;
    if (b->next_free) arena_at(a, b->next_free)->prev_free = b->prev_free;
    b->next_free = b->prev_free = 0;
}

static blk *arena_next_blk(const off_arena *a, blk *b)
{
    uint64_t o = arena_off_of(a, b) + b->size;
    return o < arena_header(a)->heap_end ? arena_at(a, o) : NULL;
}

static blk *arena_prev_blk(const off_arena *a, blk *b)
{
    return b->prev_size ? arena_at(a, arena_off_of(a, b) - b->prev_size) : NULL;
}

static void arena_set_size(off_arena *a, blk *b, uint64_t size)
{
    b->size = size;
    blk *n = arena_next_blk(a, b);
    if (n) n->prev_size = size;
}

/* Where the arena goes. The card maps it at the same address after its own start-up, and left to
 * itself the kernel would put the arena just under this process's shared libraries — where the
 * card's (randomised) libraries and thread stacks land too, so now and then the card found the
 * address taken. Both processes leave the range from 16 to 64 TiB empty (executable and heap sit
 * near 0x55..., the mmap area near 0x7f...), so the arena is placed there, at a random 1 GiB
 * step, and a step already taken in this process is skipped. */
static void *arena_map_away(int fd, size_t size)
{
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer keeps its shadow memory in that range and kills a process that maps there:
     * under it (make sanitize-thread) the kernel chooses, as before this placement existed. */
    return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
#endif
    const uintptr_t low = (uintptr_t)1 << 44, steps = ((uintptr_t)3 << 44) >> 30;
    uintptr_t r = (uintptr_t)getpid() * 2654435761u ^ (uintptr_t)time(NULL) ^ (uintptr_t)&r;
    for (int tries = 0; tries < 16; tries++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        void *want = (void *)(low + ((r >> 20) % steps << 30));
        void *p = mmap(want, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE | MAP_FIXED_NOREPLACE, fd, 0);
        if (p == want) return p;
        if (p != MAP_FAILED) munmap(p, size); /* an old kernel that took the hint as a hint */
        else if (errno != EEXIST) return MAP_FAILED;
    }
    return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
}

int off_arena_create(size_t size, off_arena **out)
{
    size = (size + 4095) & ~(size_t)4095;
    if (size < 1u << 16) return off_fail(OFF_EARG, "arena size %zu bytes is too small (at least 64 KiB)", size);
    /* The arena is pre-faulted: one larger than the machine would bring the OOM killer, not an error. */
    size_t physical = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGE_SIZE);
    if (size > physical)
        return off_fail(OFF_EARENA, "shared arena of %zu bytes is larger than this machine's memory (%zu bytes)",
                        size, physical);
    int fd = memfd_create("dnn-arena", MFD_CLOEXEC);
    if (fd < 0) return off_fail(OFF_ESYS, "memfd_create for the shared arena failed: %s", strerror(errno));
    if (ftruncate(fd, (off_t)size) != 0) {
        int e = errno;
        close(fd);
        return off_fail(OFF_ESYS, "cannot size the shared arena to %zu bytes: %s", size, strerror(e));
    }
    /* Pre-fault once: first touch of a fresh page costs ~3 us per 4 KiB here. */
    void *p = arena_map_away(fd, size);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        return off_fail(OFF_ESYS, "cannot map the shared arena (%zu bytes): %s", size, strerror(e));
    }
    off_arena *a = calloc(1, sizeof *a);
    if (!a) {
        munmap(p, size);
        close(fd);
        return off_fail(OFF_ESYS, "out of host memory");
    }
    a->base = p;
    a->size = size;
    a->fd = fd;
    a->owner = 1;
    a->refs = 1;
    *out = a;
    return off_arena_format(a);
}

int off_arena_attach(int fd, void *addr, size_t size, off_arena **out)
{
    void *p = mmap(addr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED || p != addr) {
        int e = errno;
        if (p != MAP_FAILED) munmap(p, size);
        return off_fail(OFF_ESTART,
                        "the card cannot map the shared arena at %p (%zu bytes): %s; the address "
                        "is taken in the card's address space",
                        addr, size, p == MAP_FAILED ? strerror(e) : "kernel placed it elsewhere");
    }
    off_arena *a = calloc(1, sizeof *a);
    if (!a) return off_fail(OFF_ESYS, "out of card memory");
    a->base = p;
    a->size = size;
    a->fd = fd;
    a->owner = 0;
    a->refs = 1;
    if (arena_header(a)->magic != ARENA_MAGIC) {
        munmap(p, size);
        free(a);
        return off_fail(OFF_ESTART, "the shared arena at %p is not formatted", addr);
    }
    *out = a;
    return OFF_OK;
}

int off_arena_format(off_arena *a)
{
    arena_hdr *h = arena_header(a);
    memset(h, 0, HDR_BYTES);
    pthread_mutexattr_t at_;
    pthread_mutexattr_init(&at_);
    pthread_mutexattr_setpshared(&at_, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&at_, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&h->lock, &at_);
    pthread_mutexattr_destroy(&at_);
    h->size = a->size;
    h->heap_off = HDR_BYTES;
    h->heap_end = a->size / ALIGN * ALIGN;
    blk *b = arena_at(a, h->heap_off);
    memset(b, 0, sizeof *b);
    b->magic = BLK_MAGIC;
    b->size = h->heap_end - h->heap_off;
    b->prev_size = 0;
    arena_list_push(a, b);
    h->magic = ARENA_MAGIC;
    return OFF_OK;
}

void off_arena_release(off_arena *a)
{
    if (!a || --a->refs > 0) return;
    if (a->base) munmap(a->base, a->size);
    if (a->fd >= 0 && a->owner) close(a->fd);
    free(a);
}

void *off_arena_base(const off_arena *a) { return a->base; }
size_t off_arena_size(const off_arena *a) { return a->size; }
size_t off_arena_used(const off_arena *a) { return arena_header(a)->used; }
size_t off_arena_peak(const off_arena *a) { return arena_header(a)->peak; }

int off_arena_contains(const off_arena *a, const void *p, size_t len)
{
    uintptr_t b = (uintptr_t)a->base, q = (uintptr_t)p;
    return q >= b && q <= b + a->size && len <= b + a->size - q;
}

/* Split the tail of a free block b (already off the list) so that it holds `need` bytes. */
static void arena_take(off_arena *a, blk *b, uint64_t need)
{
    if (b->size - need >= MIN_BLOCK) {
        uint64_t rest = b->size - need;
        b->size = need;
        blk *r = arena_at(a, arena_off_of(a, b) + need);
        memset(r, 0, sizeof *r);
        r->magic = BLK_MAGIC;
        r->prev_size = need;
        arena_set_size(a, r, rest);
        arena_list_push(a, r);
    }
    b->used = 1;
}

void *off_arena_malloc(off_arena *a, size_t size, size_t align)
{
    if (align < ALIGN) align = ALIGN;
    if (align & (align - 1)) {
        off_fail(OFF_EARG, "alignment %zu is not a power of two", align);
        return NULL;
    }
    if (size == 0) size = 1;
    if (size > a->size) {
        off_fail(OFF_EARENA, "shared arena full: %zu bytes requested, the arena holds %zu in all; "
                             "start the card with a larger arena", size, a->size);
        return NULL;
    }
    uint64_t need = ALIGN + ((size + ALIGN - 1) / ALIGN * ALIGN);
    if (arena_lock(a) != 0) {
        off_fail(OFF_ESYS, "cannot lock the shared arena");
        return NULL;
    }
    arena_hdr *h = arena_header(a);
    for (uint64_t o = h->free_head; o; o = arena_at(a, o)->next_free) {
        blk *b = arena_at(a, o);
        uintptr_t payload = (uintptr_t)b + ALIGN;
        uint64_t gap = (uint64_t)(((payload + align - 1) & ~(uintptr_t)(align - 1)) - payload);
        /* A leading gap must be big enough to stand as a free block of its own. */
        while (gap != 0 && gap < MIN_BLOCK) gap += align;
        if (b->size < gap + need) continue;
        arena_list_remove(a, b);
        if (gap) {
            uint64_t total = b->size;
            arena_set_size(a, b, gap);
            arena_list_push(a, b);
            blk *nb = arena_at(a, o + gap);
            memset(nb, 0, sizeof *nb);
            nb->magic = BLK_MAGIC;
            nb->prev_size = gap;
            arena_set_size(a, nb, total - gap);
            b = nb;
        }
        arena_take(a, b, need);
        b->requested = size;
        h->used += b->size;
        h->live_blocks++;
        if (h->used > h->peak) h->peak = h->used;
        arena_unlock(a);
        off_myo_note_alloc((char *)b + ALIGN); /* MYO fetches stay within one allocation */
        return (char *)b + ALIGN;
    }
    uint64_t used = h->used;
    arena_unlock(a);
    off_fail(OFF_EARENA,
             "shared arena full: no free block of %zu bytes (arena %zu bytes, %llu in use, "
             "largest free block %zu); start the card with a larger arena",
             size, a->size, (unsigned long long)used, off_arena_largest_free(a));
    return NULL;
}

int off_arena_free(off_arena *a, void *p)
{
    if (!p) return OFF_OK;
    if (!off_arena_contains(a, p, 1) || ((uintptr_t)p - (uintptr_t)a->base) % ALIGN)
        return off_fail(OFF_EARG, "_Offload_shared_free(%p): not a pointer from the shared arena", p);
    blk *b = (blk *)((char *)p - ALIGN);
    if (b->magic != BLK_MAGIC || !b->used)
        return off_fail(OFF_EARG, "_Offload_shared_free(%p): not a live shared block (double free?)", p);
    if (arena_lock(a) != 0) return off_fail(OFF_ESYS, "cannot lock the shared arena");
    arena_hdr *h = arena_header(a);
    h->used -= b->size;
    h->live_blocks--;
    b->used = 0;
    blk *n = arena_next_blk(a, b);
    if (n && !n->used) {
        arena_list_remove(a, n);
        n->magic = 0;
        arena_set_size(a, b, b->size + n->size);
    }
    blk *pv = arena_prev_blk(a, b);
    if (pv && !pv->used) {
        arena_list_remove(a, pv);
        b->magic = 0;
        arena_set_size(a, pv, pv->size + b->size);
        b = pv;
    }
    arena_list_push(a, b);
    arena_unlock(a);
    return OFF_OK;
}

size_t off_arena_largest_free(off_arena *a)
{
    size_t best = 0;
    if (arena_lock(a) != 0) return 0;
    for (uint64_t o = arena_header(a)->free_head; o; o = arena_at(a, o)->next_free)
        if (arena_at(a, o)->size - ALIGN > best) best = arena_at(a, o)->size - ALIGN;
    arena_unlock(a);
    return best;
}

int off_arena_check(off_arena *a)
{
    if (arena_lock(a) != 0) return off_fail(OFF_ESYS, "cannot lock the shared arena");
    arena_hdr *h = arena_header(a);
    uint64_t used = 0, free_blocks = 0, listed = 0, prev = 0;
    int rc = OFF_OK;
    for (uint64_t o = h->heap_off; o < h->heap_end;) {
        blk *b = arena_at(a, o);
        if (b->magic != BLK_MAGIC || b->size < MIN_BLOCK || b->size % ALIGN || b->prev_size != prev) {
            rc = off_fail(OFF_ESYS, "shared arena corrupt at offset %llu", (unsigned long long)o);
            break;
        }
        if (b->used) used += b->size;
        else free_blocks++;
        prev = b->size;
        o += b->size;
    }
    for (uint64_t o = h->free_head; rc == OFF_OK && o; o = arena_at(a, o)->next_free)
        if (++listed > free_blocks) rc = off_fail(OFF_ESYS, "shared arena free list is cyclic");
    if (rc == OFF_OK && (used != h->used || listed != free_blocks))
        rc = off_fail(OFF_ESYS, "shared arena accounting is off (%llu used, header says %llu)",
                      (unsigned long long)used, (unsigned long long)h->used);
    arena_unlock(a);
    return rc;
}
