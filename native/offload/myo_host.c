/* myo_host.c — the host's side of MYO set-up (myo.c keeps the copies coherent): the card's copy
 * of the arena and the shared segment (dirty maps, counters, stash), created here and handed to
 * the card; the coherence option; the counters as the API reports them. */
#define _GNU_SOURCE
#include "myo.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u

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

int off_myo_host_open(off_myo_host *m, const off_arena *arena, int policy, int race_check, off_bus *bus)
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
    m->shared = mmap(NULL, m->shared_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m->shared_fd, 0);
    if (m->copy == MAP_FAILED || m->shared == MAP_FAILED) {
        m->copy = m->copy == MAP_FAILED ? NULL : m->copy;
        m->shared = m->shared == MAP_FAILED ? NULL : m->shared;
        return off_fail(OFF_ESYS, "cannot map the card's copy of the arena: %s", strerror(errno));
    }
    m->shared->policy = policy;
    m->shared->race_check = race_check;
    m->shared->npages = size / PAGE;
    m->view = off_myo_attach(OFF_MYO_HOST, arena->base, m->copy, size, m->shared, bus);
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
    out->transfer_s = 1e-9 * (double)sh->move_ns;
    out->tracking_host = sh->tracking[OFF_MYO_HOST];
    out->tracking_card = sh->tracking[OFF_MYO_CARD];
}
