/* card.c — the card: the dnn-card executable's main, its dispatcher and its private heap.
 *
 * Started by the host with the arena on fd 3, the control channel on fd 4 and the lifeline on
 * fd 5. It pins itself, maps the arena at the host's address, says it is ready and serves calls
 * until asked to quit or until the lifeline reads EOF (the host died): then it exits at once.
 */
#define _GNU_SOURCE
#include "ring.h"
#include "cilk_offload.h"
#include "myo.h"
#include "resident.h"

#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the card's private heap: buffers of explicit transfers, keyed by host address -------- */

/* Freed buffers are kept for reuse: a copy-every-call policy frees and allocates the same sizes
 * each call, and fresh pages cost ~3 us per 4 KiB to fault in. Cached bytes do not count
 * against the card's capacity and are released when an allocation would not fit. */
typedef struct {
    void *ptr;
    uint64_t cap;
} cached_buf;

static struct {
    off_ctl *ctl;
    off_arena *arena;
    int threads;
    uint64_t capacity;
    off_resident_table bufs; /* keyed by host address (resident.h) */
    cached_buf cache[64];
    int ncache;
    uint64_t used, peak;
    myo_view *myo; /* myo coherence: this card's own copy of the arena, kept coherent by pages */
    /* The buffer table is shared by the main thread (calls) and the DMA thread (transfers that
     * cross while a kernel runs): every look-up, allocation and free holds this lock, and no
     * off_resident pointer is kept past it (freeing moves entries). */
    pthread_mutex_t lock;
} card = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Buffers of 4 MiB and more ask for 2 MiB pages, as NumPy asks for its own arrays of that size
 * (transparent huge pages are often "madvise" only): a kernel streaming a large operand through
 * 4 KiB pages takes a TLB miss, a nested page walk in a VM, every 4 KiB, and first touching one
 * faults 512 times per 2 MiB. The advice is a hint: refused, the buffer keeps 4 KiB pages. */
#define CARD_HUGE_MIN ((uint64_t)4 << 20)
#define CARD_HUGE_PAGE ((size_t)2 << 20)

static void *card_heap_alloc(uint64_t cap)
{
    void *p = NULL;
    const int huge = cap >= CARD_HUGE_MIN;
    if (posix_memalign(&p, huge ? CARD_HUGE_PAGE : 64, cap) != 0) return NULL;
    if (huge) (void)madvise(p, cap, MADV_HUGEPAGE);
    return p;
}

static void card_drop_cache(void)
{
    for (int i = 0; i < card.ncache; i++) free(card.cache[i].ptr);
    card.ncache = 0;
}

static int card_alloc_buf(const void *key, uint64_t bytes, int index)
{
    if (card.bufs.n >= OFF_MAX_BUFFERS)
        return off_fail(OFF_ECARDMEM, "card out of buffer slots (%d live buffers)", OFF_MAX_BUFFERS);
    if (card.capacity && card.used + bytes > card.capacity)
        return off_fail(OFF_ECARDMEM,
                        "card memory full: transfer %d needs %llu bytes, %llu of %llu in use; start the "
                        "card with more memory or keep fewer arrays resident",
                        index + 1, (unsigned long long)bytes, (unsigned long long)card.used,
                        (unsigned long long)card.capacity);
    void *p = NULL;
    uint64_t cap = bytes ? bytes : 1;
    for (int i = 0; i < card.ncache; i++) {
        if (card.cache[i].cap >= cap && card.cache[i].cap <= cap + cap / 4) {
            p = card.cache[i].ptr;
            cap = card.cache[i].cap;
            card.cache[i] = card.cache[--card.ncache];
            break;
        }
    }
    if (!p) {
        card_drop_cache(); /* sizes changed: give the old ones back before taking more */
        if (!(p = card_heap_alloc(cap)))
            return off_fail(OFF_ECARDMEM, "card memory: cannot allocate %llu bytes for transfer %d",
                            (unsigned long long)bytes, index + 1);
    }
    off_resident_add(&card.bufs, (off_resident){key, bytes, cap, p});
    card.used += bytes;
    if (card.used > card.peak) card.peak = card.used;
    return OFF_OK;
}

static void card_free_buf(off_resident *b)
{
    card.used -= b->bytes;
    if (card.ncache < (int)(sizeof card.cache / sizeof card.cache[0]))
        card.cache[card.ncache++] = (cached_buf){b->ptr, b->cap};
    else
        free(b->ptr);
    off_resident_remove(&card.bufs, b);
}

/* ---- serving one call --------------------------------------------------------------------- */

static int card_abort_check(void *arg)
{
    (void)arg;
    if (atomic_load(&card.ctl->quit)) return off_fail(OFF_EDIED, "the host asked the card to quit");
    return OFF_OK;
}

/* The card address of host address key inside a buffer, or NULL. */
static void *card_buf_ptr(const void *key, int containing)
{
    pthread_mutex_lock(&card.lock);
    off_resident *b = off_resident_find(&card.bufs, key, containing);
    void *p = b ? (char *)b->ptr + ((const char *)key - (const char *)b->key) : NULL;
    pthread_mutex_unlock(&card.lock);
    return p;
}

static void card_free_key(const void *key)
{
    pthread_mutex_lock(&card.lock);
    off_resident *b = off_resident_find(&card.bufs, key, 0);
    if (b) card_free_buf(b);
    pthread_mutex_unlock(&card.lock);
}

static void card_reply(off_lane *L, uint64_t seq, int status, const char *msg)
{
    L->status = status;
    snprintf(L->error, sizeof L->error, "%s", status == OFF_OK ? "" : msg);
    pthread_mutex_lock(&card.lock);
    atomic_store(&card.ctl->mem_used, card.used);
    atomic_store(&card.ctl->mem_peak, card.peak);
    atomic_store(&card.ctl->mem_buffers, (uint64_t)card.bufs.n);
    pthread_mutex_unlock(&card.lock);
    atomic_store_explicit(&L->rep_seq, seq, memory_order_release);
    off_futex_bump(&L->ev_host, &L->host_sleeping);
}

/* One request of lane L: a call (kernel and transfers) or, kernel-less, an offload_transfer. */
static void card_serve(off_lane *L, uint64_t seq)
{
    off_clear_error();
    off_ctl *ctl = card.ctl;
    const int dma = L == &ctl->lane[OFF_LANE_DMA];
    L->nresult = 0;
    L->compute_s = L->in_real_s = L->in_model_s = L->in_elapsed_s = 0;
    int nxf = L->nxf, nargs = L->nargs;
    off_xfer xf[OFF_MAX_XFERS];
    off_arg args[OFF_MAX_ARGS];
    const void *fresh[OFF_MAX_XFERS]; /* buffers allocated by this call, freed if it fails */
    int nfresh = 0;
    for (int i = 0; i < nxf; i++) xf[i] = L->xf[i].x;
    memcpy(args, L->args, sizeof args[0] * (size_t)nargs);

    const off_kernel *k = NULL;
    int rc = OFF_OK;
    if (card.myo && !dma) off_myo_card_acquire(card.myo); /* entry: the card acquires the host's writes */
    if (L->kernel[0] && !(k = off_kernel_find(L->kernel)))
        rc = off_fail(OFF_ENOKERNEL, "no kernel named '%s' on the card", L->kernel);

    /* 1. card buffers: allocate what alloc_if asks for, find the rest */
    pthread_mutex_lock(&card.lock);
    for (int i = 0; rc == OFF_OK && i < nxf; i++) {
        const void *key = off_xfer_key(&xf[i]);
        rc = off_resident_check(&card.bufs, &xf[i], i);
        if (rc == OFF_OK && (xf[i].flags & OFF_ALLOC_IF) && (rc = card_alloc_buf(key, xf[i].bytes, i)) == OFF_OK)
            fresh[nfresh++] = key;
    }
    pthread_mutex_unlock(&card.lock);

    /* 2. in-data, through the ring, as the link model allows */
    off_ring_end ring = {L, 0, &L->ev_card, &L->card_sleeping, &L->ev_host, &L->host_sleeping,
                         card_abort_check, NULL};
    off_link_clock in_clock;
    off_link_clock_start(&in_clock, &ctl->bus, OFF_BUS_TO_CARD, card_abort_check, NULL);
    for (int i = 0; rc == OFF_OK && i < nxf; i++) {
        if (!(xf[i].flags & OFF_IN)) continue;
        rc = off_ring_recv(&ring, card_buf_ptr(off_xfer_key(&xf[i]), 1), xf[i].bytes);
        if (rc == OFF_OK) rc = off_link_clock_arrived(&in_clock, L->xf[i].t_start, xf[i].bytes);
    }
    L->in_real_s = in_clock.real_s;
    L->in_model_s = in_clock.model_s;
    L->in_elapsed_s = in_clock.elapsed_s;

    /* 3. the kernel, with host addresses of transferred arrays turned into card addresses */
    off_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.threads = card.threads;
    if (rc == OFF_OK && k) {
        for (int i = 0; i < nargs; i++) {
            if (args[i].kind != OFF_ARG_PTR || !args[i].v.p) continue;
            void *on_card = card_buf_ptr(args[i].v.p, 1);
            if (on_card) args[i].v.p = on_card;
            else if (!off_arena_contains(card.arena, args[i].v.p, 1))
                rc = off_fail(OFF_EARG, "argument %d of kernel '%s' (%p) is neither shared nor transferred",
                              i + 1, k->name, args[i].v.p);
        }
        if (rc == OFF_OK) rc = off_kernel_check_args(k, args, nargs);
        if (rc == OFF_OK) {
            double t0 = off_now();
            rc = off_kernel_invoke(k, &ctx, args, nargs);
            L->compute_s = off_now() - t0;
            if (rc != OFF_OK)
                off_fail(rc, "%s", ctx.error[0] ? ctx.error : "the kernel returned an error");
        }
    }
    atomic_store_explicit(&L->kernel_done_seq, seq, memory_order_release);
    off_futex_bump(&L->ev_host, &L->host_sleeping);

    /* 4. out-data, then free_if */
    for (int i = 0; rc == OFF_OK && i < nxf; i++) {
        if (!(xf[i].flags & OFF_OUT)) continue;
        L->xf[i].t_start = off_now();
        /* from the buffer named (out(b : into(h)): b's), or the part of it out(p[a:n]) names */
        rc = off_ring_send(&ring, card_buf_ptr(off_xfer_key(&xf[i]), 1), xf[i].bytes);
    }
    if (rc == OFF_OK) {
        for (int i = 0; i < nxf; i++) {
            if (!(xf[i].flags & OFF_FREE_IF)) continue;
            card_free_key(off_xfer_key(&xf[i]));
        }
        int n = ctx.nresult < 0 ? 0 : ctx.nresult > OFF_MAX_RESULTS ? OFF_MAX_RESULTS : ctx.nresult;
        memcpy(L->result, ctx.result, sizeof(double) * (size_t)n);
        L->nresult = n;
    } else {
        for (int i = 0; i < nfresh; i++) card_free_key(fresh[i]);
    }
    if (card.myo && !dma) off_myo_card_release(card.myo); /* exit: the card releases its writes */
    card_reply(L, seq, rc, off_last_error());
}

/* Seconds the lane spins after a call before sleeping (internal.h: OFF_CARD_LINGER_SECONDS). */
static double card_linger_s(void)
{
    const char *env = getenv("DNN_CARD_LINGER_S");
    char *end;
    double s = env && *env ? strtod(env, &end) : OFF_CARD_LINGER_SECONDS;
    if (env && *env && (*end || s < 0 || s > 1)) s = OFF_CARD_LINGER_SECONDS; /* nonsense: the default */
    return s > OFF_SPIN_SECONDS ? s : OFF_SPIN_SECONDS;
}

/* Serves the lane's requests in order until the host asks the card to quit. Right after a call
 * it spins `linger` seconds, so the next call within that time finds it awake; a wait that
 * timed out (an idle card) spins only the ordinary OFF_SPIN_SECONDS before sleeping again. */
static void card_serve_lane(off_lane *L, double linger)
{
    uint64_t done = 0;
    int just_served = 0;
    for (;;) {
        uint32_t seen = atomic_load_explicit(&L->ev_card, memory_order_acquire);
        if (atomic_load(&card.ctl->quit)) break;
        uint64_t seq = atomic_load_explicit(&L->req_seq, memory_order_acquire);
        if (seq != done) {
            card_serve(L, seq);
            done = seq;
            just_served = 1;
            continue;
        }
        off_futex_wait_spin(&L->ev_card, seen, &L->card_sleeping, 1.0, just_served ? linger : OFF_SPIN_SECONDS);
        just_served = 0;
    }
}

/* The card's DMA engine: transfers posted with off_transfer_async cross here, on their own ring,
 * while the main thread runs a kernel. */
static void *card_dma_server(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "dnn-card-dma");
    card_serve_lane(&card.ctl->lane[OFF_LANE_DMA], OFF_SPIN_SECONDS);
    return NULL;
}

/* ---- start-up ----------------------------------------------------------------------------- */

static void *card_lifeline(void *arg)
{
    (void)arg;
    char byte;
    for (;;) {
        ssize_t r = read(OFF_CARD_LIFE_FD, &byte, 1);
        if (r == 0 || (r < 0 && errno != EINTR)) _exit(0); /* the host is gone: so are we */
    }
    return NULL;
}

/* The heartbeat (internal.h): a thread of its own, so that a long kernel keeps beating. */
static void *card_beat(void *arg)
{
    (void)arg;
    struct timespec ts = {0, (long)(OFF_BEAT_S * 1e9)};
    atomic_store(&card.ctl->beat_tid, (int32_t)syscall(SYS_gettid));
    while (!atomic_load(&card.ctl->quit)) {
        atomic_fetch_add_explicit(&card.ctl->heartbeat, 1, memory_order_relaxed);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int card_pin_all_threads(const char *cpus)
{
    cpu_set_t set;
    int rc = off_parse_cpus(cpus, &set);
    if (rc != OFF_OK) return rc;
    /* Threads made before main (OpenBLAS makes its pool when it loads) each need pinning. */
    DIR *d = opendir("/proc/self/task");
    if (!d) return off_fail(OFF_ESYS, "cannot list the card's threads: %s", strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        pid_t tid = (pid_t)atoi(e->d_name);
        if (sched_setaffinity(tid, sizeof set, &set) != 0) {
            int err = errno;
            closedir(d);
            return off_fail(OFF_ESTART, "cannot pin the card to CPUs %s: %s", cpus, strerror(err));
        }
    }
    closedir(d);
    return OFF_OK;
}

static const char *card_opt(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return argv[i] + n + 1;
    return NULL;
}

static void card_start_failed(off_ctl *ctl, const char *msg)
{
    if (ctl) {
        snprintf(ctl->start_error, sizeof ctl->start_error, "%s", msg);
        atomic_store(&ctl->card_state, OFF_CARD_FAILED);
        off_futex_bump(&ctl->lane[OFF_LANE_CALL].ev_host, &ctl->lane[OFF_LANE_CALL].host_sleeping);
    } else {
        fprintf(stderr, "dnn-card: %s\n", msg);
    }
    _exit(3);
}

int main(int argc, char **argv)
{
    prctl(PR_SET_NAME, "dnn-card");
    struct stat st;
    if (fstat(OFF_CARD_CTL_FD, &st) != 0 || (size_t)st.st_size < sizeof(off_ctl))
        card_start_failed(NULL, "no control channel on fd 4: dnn-card is started by the dnn runtime, not by hand");
    off_ctl *ctl = mmap(NULL, sizeof(off_ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, OFF_CARD_CTL_FD, 0);
    if (ctl == MAP_FAILED || ctl->magic != OFF_CTL_MAGIC) card_start_failed(NULL, "the control channel is not valid");
    card.ctl = ctl;
    ctl->card_pid = getpid();

    pthread_t life;
    if (pthread_create(&life, NULL, card_lifeline, NULL) != 0) card_start_failed(ctl, "cannot start the lifeline thread");
    pthread_detach(life);
    pthread_t beat;
    if (pthread_create(&beat, NULL, card_beat, NULL) != 0) card_start_failed(ctl, "cannot start the heartbeat thread");
    pthread_detach(beat);

    const char *addr_s = card_opt(argc, argv, "--arena-addr"), *size_s = card_opt(argc, argv, "--arena-size");
    const char *threads_s = card_opt(argc, argv, "--threads"), *cpus = card_opt(argc, argv, "--cpus");
    const char *mem_s = card_opt(argc, argv, "--card-memory");
    const char *coherence = card_opt(argc, argv, "--coherence");
    int myo = coherence && strcmp(coherence, "myo") == 0;
    if (!addr_s || !size_s || !threads_s) card_start_failed(ctl, "missing --arena-addr, --arena-size or --threads");
    void *addr = (void *)(uintptr_t)strtoull(addr_s, NULL, 16);
    size_t size = (size_t)strtoull(size_s, NULL, 10);
    card.threads = atoi(threads_s);
    card.capacity = mem_s ? strtoull(mem_s, NULL, 10) : 0;

    if (cpus && *cpus && card_pin_all_threads(cpus) != OFF_OK) card_start_failed(ctl, off_last_error());
    omp_set_num_threads(card.threads);
    /* shared: the host's arena itself. myo: this card's own copy at the same address, and the
     * host's copy mapped elsewhere, from which pages are fetched. */
    if (off_arena_attach(myo ? OFF_CARD_MYO_COPY_FD : OFF_CARD_ARENA_FD, addr, size, &card.arena) != OFF_OK)
        card_start_failed(ctl, off_last_error());
    if (myo) {
        void *host_copy = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, OFF_CARD_ARENA_FD, 0);
        struct stat sst;
        off_myo_shared *sh = NULL;
        if (fstat(OFF_CARD_MYO_SHARED_FD, &sst) == 0)
            sh = mmap(NULL, (size_t)sst.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, /* not populated: */
                      OFF_CARD_MYO_SHARED_FD, 0);                 /* its stash is mostly never used */
        if (host_copy == MAP_FAILED || !sh || sh == MAP_FAILED) card_start_failed(ctl, "cannot map the host's arena copy");
        card.myo = off_myo_attach(OFF_MYO_CARD, addr, host_copy, size, sh, &ctl->bus);
        if (!card.myo) card_start_failed(ctl, off_last_error());
    }
    off_current_arena = card.arena; /* _Offload_shared_malloc on the card */

    pthread_t dma;
    if (pthread_create(&dma, NULL, card_dma_server, NULL) != 0) card_start_failed(ctl, "cannot start the DMA thread");
    pthread_detach(dma);
    atomic_store(&ctl->card_state, OFF_CARD_READY);
    off_futex_bump(&ctl->lane[OFF_LANE_CALL].ev_host, &ctl->lane[OFF_LANE_CALL].host_sleeping);
    card_serve_lane(&ctl->lane[OFF_LANE_CALL], card_linger_s());
    pthread_mutex_lock(&card.lock); /* the DMA thread may still be serving */
    card_drop_cache();
    pthread_mutex_unlock(&card.lock);
    return 0;
}
