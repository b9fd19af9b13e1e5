/* shared.c — the Cilk keyword layer's allocator entry points and the default card.
 * _Offload_shared_malloc allocates in the arena of the side it runs on: the default card's on
 * the host (host.c sets it), the card's own inside a kernel. */
#include "internal.h"

#include "cilk_offload.h"

off_arena *off_current_arena;

void *_Offload_shared_aligned_malloc(size_t size, size_t align)
{
    if (!off_current_arena) {
        off_fail(OFF_EARG, "_Offload_shared_malloc: no card is open (call off_card_open first)");
        return NULL;
    }
    return off_arena_malloc(off_current_arena, size, align);
}

void *_Offload_shared_malloc(size_t size) { return _Offload_shared_aligned_malloc(size, 64); }

void _Offload_shared_free(void *p)
{
    if (off_current_arena) off_arena_free(off_current_arena, p);
}

void _Offload_shared_aligned_free(void *p) { _Offload_shared_free(p); }
