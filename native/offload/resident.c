/* resident.c — one table of card buffers and one set of alloc_if / free_if rules for both sides.
 *
 * The card holds the buffers themselves; the host holds a mirror of them (keys and sizes only) so
 * that a call breaking a rule is refused before anything moves. The card checks the same rules
 * again, with the same messages, before it touches memory: its table is the one that owns the
 * buffers, and a stale mirror must never make it write past one.
 */
#include "resident.h"

off_resident *off_resident_find(off_resident_table *t, const void *p, int containing)
{
    const char *q = p;
    for (int i = 0; i < t->n; i++) {
        const char *k = t->buf[i].key;
        if (q == k) return &t->buf[i];
        if (containing && q > k && q < k + t->buf[i].bytes) return &t->buf[i];
    }
    return NULL;
}

int off_resident_add(off_resident_table *t, off_resident r)
{
    if (t->n >= OFF_MAX_BUFFERS) return 0;
    t->buf[t->n++] = r;
    return 1;
}

void off_resident_remove(off_resident_table *t, off_resident *r) { *r = t->buf[--t->n]; }

int off_resident_check(off_resident_table *t, const off_xfer *x, int index)
{
    const void *key = off_xfer_key(x);
    const off_resident *r = off_resident_find(t, key, 0);
    if (x->flags & OFF_ALLOC_IF) {
        if (r)
            return off_fail(OFF_EARG, "transfer %d: alloc_if(1) but the card already holds a buffer for %p "
                            "(kept by an earlier free_if(0)); use alloc_if(0)", index + 1, key);
        return OFF_OK;
    }
    if (!r) r = off_resident_find(t, key, 1); /* p[a:n] of a buffer kept for p (or allocated by alloc()) */
    if (!r)
        return off_fail(OFF_EARG, "transfer %d: alloc_if(0) but the card holds no buffer for %p; the first "
                        "transfer must use alloc_if(1)", index + 1, key);
    uint64_t at = (uint64_t)((const char *)key - (const char *)r->key);
    if (at + x->bytes > r->bytes)
        return off_fail(OFF_EARG, "transfer %d: %llu bytes do not fit the card buffer of %llu bytes kept for %p",
                        index + 1, (unsigned long long)(at + x->bytes), (unsigned long long)r->bytes, r->key);
    return OFF_OK;
}

void off_resident_mirror_call(off_resident_table *t, const off_xfer *xf, int nxf)
{
    for (int i = 0; i < nxf; i++) {
        const uint32_t life = xf[i].flags & (OFF_ALLOC_IF | OFF_FREE_IF);
        const void *key = off_xfer_key(&xf[i]);
        if (life == OFF_ALLOC_IF) {
            off_resident_add(t, (off_resident){key, xf[i].bytes, 0, NULL});
        } else if (life == OFF_FREE_IF) {
            off_resident *r = off_resident_find(t, key, 0);
            if (r) off_resident_remove(t, r);
        }
    }
}
