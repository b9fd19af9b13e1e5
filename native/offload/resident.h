/* resident.h — the card buffers of explicit transfers, keyed by host address, and the rules of
 * alloc_if / free_if (see resident.c). */
#ifndef DNN_OFFLOAD_RESIDENT_H
#define DNN_OFFLOAD_RESIDENT_H

#include "internal.h"

typedef struct {
    const void *key; /* off_xfer_key of the transfer that allocated it */
    uint64_t bytes;  /* size the host asked for */
    uint64_t cap;    /* card: size of the allocation; host mirror: 0 */
    void *ptr;       /* card: the buffer; host mirror: NULL */
} off_resident;

typedef struct {
    off_resident buf[OFF_MAX_BUFFERS];
    int n;
} off_resident_table;

/* The buffer whose key is p, or (containing) whose bytes hold p; NULL if none. */
off_resident *off_resident_find(off_resident_table *t, const void *p, int containing);
/* Appends r; 0 when the table is full (the caller says why). */
int off_resident_add(off_resident_table *t, off_resident r);
/* Removes r (the last entry moves into its place: no pointer into t survives this). */
void off_resident_remove(off_resident_table *t, off_resident *r);

/* The alloc_if / free_if rules for transfer `index` (0-based) against the buffers held: OFF_OK
 * or OFF_EARG with the one message both sides give. */
int off_resident_check(off_resident_table *t, const off_xfer *x, int index);
/* Host: what a call that succeeded left on the card (alloc_if without free_if keeps a buffer,
 * free_if without alloc_if frees one), so the next call can be checked before anything moves. */
void off_resident_mirror_call(off_resident_table *t, const off_xfer *xf, int nxf);

#endif
