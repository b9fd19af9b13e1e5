/* host.c — the host side of the card: start and stop the card process, post offload calls,
 * stream explicit transfers, wait, and keep the counters.
 *
 * The card is found dead either by waitpid (it exited or was killed) or, for the card, by EOF
 * on the lifeline socket (the host exited): neither side can hang on the other.
 */
#define _GNU_SOURCE
#include "ring.h"
#include "cilk_offload.h"
#include "myo.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct {
    const void *key;
    uint64_t bytes;
} resident;

/* The host's end of one lane of the control channel (internal.h). A signal names the lane and
 * the request: seq * OFF_LANES + lane. */
typedef struct {
    struct off_card *card;
    int id;
    off_lane *wire;
    uint64_t seq;
    int in_flight;
    int out_done;
    char kernel[64];
    off_xfer xf[OFF_MAX_XFERS];
    int nxf;
    double t_post, wait_s;
    off_ring_end ring;
} host_lane;

static uint64_t signal_of(const host_lane *h) { return h->seq * OFF_LANES + (uint64_t)h->id; }
static int host_abort_check(void *arg);

struct off_card {
    off_config cfg;
    char cpus[128];
    off_arena *arena;
    int ctl_fd;
    off_ctl *ctl;
    int life_fd;
    pid_t pid;
    int dead;
    char death[200];
    off_link link;

    host_lane lane[OFF_LANES]; /* calls, and transfers that cross while a kernel runs */

    /* myo coherence: the card's copy of the arena (mapped here too) and the shared maps */
    int myo, myo_policy;
    int myo_copy_fd, myo_shared_fd;
    void *myo_copy;
    off_myo_shared *myo_shared;
    size_t myo_shared_bytes;
    myo_view *myo_view;

    resident res[OFF_MAX_BUFFERS]; /* mirror of the card's resident buffers */
    int nres;

    off_stats total, last;
};

/* ---- the card's life ---------------------------------------------------------------------- */

static void describe_exit(off_card *c, int status)
{
    if (WIFSIGNALED(status))
        snprintf(c->death, sizeof c->death, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(c->death, sizeof c->death, "exited with status %d", WEXITSTATUS(status));
}

static int reap(off_card *c, int options)
{
    if (c->pid <= 0) return 1;
    int status = 0;
    pid_t r;
    do r = waitpid(c->pid, &status, options);
    while (r < 0 && errno == EINTR);
    if (r == c->pid || (r < 0 && errno == ECHILD)) {
        if (r == c->pid) describe_exit(c, status);
        else snprintf(c->death, sizeof c->death, "is gone");
        c->dead = 1;
        c->pid = -c->pid; /* keep the number for messages, never signal it again */
        return 1;
    }
    return 0;
}

int off_card_alive(off_card *c) { return c && !c->dead && !reap(c, WNOHANG); }

static int in_flight(const off_card *c)
{
    return c->lane[OFF_LANE_CALL].in_flight || c->lane[OFF_LANE_DMA].in_flight;
}

static int died(off_card *c)
{
    int pid = c->pid < 0 ? -c->pid : c->pid;
    const host_lane *call = &c->lane[OFF_LANE_CALL];
    /* A request in flight stays so: its wait, on either lane, reports this death too. */
    if (call->kernel[0]) /* the last kernel posted */
        return off_fail(OFF_EDIED, "the card (pid %d) died while running kernel '%s': %s", pid,
                        call->kernel, c->death);
    return off_fail(OFF_EDIED, "the card (pid %d) died during a transfer: %s", pid, c->death);
}


static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

static int spawn_card(off_card *c)
{
    /* Move our descriptors above the three the card expects, so the dup2s cannot clobber. */
    int afd = fcntl(c->arena->fd, F_DUPFD_CLOEXEC, 64);
    int cfd = fcntl(c->ctl_fd, F_DUPFD_CLOEXEC, 64);
    int sv[2] = {-1, -1};
    if (afd < 0 || cfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        int e = errno;
        if (afd >= 0) close(afd);
        if (cfd >= 0) close(cfd);
        return off_fail(OFF_ESYS, "cannot prepare the card's descriptors: %s", strerror(e));
    }
    int lfd = fcntl(sv[1], F_DUPFD_CLOEXEC, 64);
    close(sv[1]);
    int mcfd = c->myo ? fcntl(c->myo_copy_fd, F_DUPFD_CLOEXEC, 64) : -1;
    int msfd = c->myo ? fcntl(c->myo_shared_fd, F_DUPFD_CLOEXEC, 64) : -1;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, afd, OFF_CARD_ARENA_FD);
    posix_spawn_file_actions_adddup2(&fa, cfd, OFF_CARD_CTL_FD);
    posix_spawn_file_actions_adddup2(&fa, lfd, OFF_CARD_LIFE_FD);
    if (c->myo) {
        posix_spawn_file_actions_adddup2(&fa, mcfd, OFF_CARD_MYO_COPY_FD);
        posix_spawn_file_actions_adddup2(&fa, msfd, OFF_CARD_MYO_SHARED_FD);
    }

    /* Own process group: Ctrl-C in a terminal reaches the host only, which then stops the
     * card in order. Default signal dispositions and an empty mask, whatever the host had. */
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, defs;
    sigemptyset(&none);
    sigemptyset(&defs);
    sigaddset(&defs, SIGINT);
    sigaddset(&defs, SIGTERM);
    sigaddset(&defs, SIGPIPE);
    sigaddset(&defs, SIGCHLD);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &defs);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    char *argv[9] = {0};
    argv[0] = (char *)c->cfg.card_exe;
    argv[1] = fmt("--arena-addr=%p", c->arena->base);
    argv[2] = fmt("--arena-size=%zu", c->arena->size);
    argv[3] = fmt("--threads=%d", c->cfg.threads);
    argv[4] = fmt("--cpus=%s", c->cpus);
    argv[5] = fmt("--card-memory=%zu", c->cfg.card_memory);
    argv[6] = fmt("--coherence=%s", c->myo ? "myo" : "shared");

    /* GCC's OpenMP runtime and OpenBLAS size their pools when they load, before the card can
     * pin itself: give them the count in the environment. */
    size_t n = 0;
    while (environ[n]) n++;
    char **envp = calloc(n + 3, sizeof *envp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "OMP_NUM_THREADS=", 16) && strncmp(environ[i], "OPENBLAS_NUM_THREADS=", 21))
            envp[m++] = environ[i];
    envp[m++] = fmt("OMP_NUM_THREADS=%d", c->cfg.threads);
    envp[m++] = fmt("OPENBLAS_NUM_THREADS=%d", c->cfg.threads);

    pid_t pid = -1;
    int rc = posix_spawn(&pid, c->cfg.card_exe, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    free(envp[m - 1]);
    free(envp[m - 2]);
    free(envp);
    for (int i = 1; i < 7; i++) free(argv[i]);
    if (mcfd >= 0) close(mcfd);
    if (msfd >= 0) close(msfd);
    close(afd);
    close(cfd);
    close(lfd);
    if (rc != 0) {
        close(sv[0]);
        return off_fail(OFF_ESTART, "cannot start the card executable '%s': %s%s", c->cfg.card_exe,
                        strerror(rc), rc == ENOENT ? " (build it with 'make build')" : "");
    }
    c->pid = pid;
    c->life_fd = sv[0];
    return OFF_OK;
}

static int parse_coherence(off_card *c, const char *spec)
{
    if (!spec || !*spec || strcmp(spec, "shared") == 0) return OFF_OK;
    if (strcmp(spec, "myo") == 0 || strcmp(spec, "myo-on-demand") == 0) c->myo_policy = OFF_MYO_ON_DEMAND;
    else if (strcmp(spec, "myo-on-acquire") == 0) c->myo_policy = OFF_MYO_ON_ACQUIRE;
    else
        return off_fail(OFF_EARG, "unknown coherence '%s': use shared, myo, myo-on-demand or myo-on-acquire", spec);
    c->myo = 1;
    return OFF_OK;
}

/* The card's own copy of the arena (a second memfd, also mapped here so pages can be copied
 * into it and fetched from it) and the shared dirty maps. */
static int myo_setup(off_card *c)
{
    size_t size = c->arena->size;
    c->myo_shared_bytes = off_myo_shared_bytes(size);
    c->myo_copy_fd = memfd_create("dnn-arena-card-copy", MFD_CLOEXEC);
    c->myo_shared_fd = memfd_create("dnn-myo", MFD_CLOEXEC);
    if (c->myo_copy_fd < 0 || c->myo_shared_fd < 0 || ftruncate(c->myo_copy_fd, (off_t)size) != 0 ||
        ftruncate(c->myo_shared_fd, (off_t)c->myo_shared_bytes) != 0)
        return off_fail(OFF_ESYS, "cannot create the card's copy of the arena: %s", strerror(errno));
    c->myo_copy = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, c->myo_copy_fd, 0);
    c->myo_shared = mmap(NULL, c->myo_shared_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                         c->myo_shared_fd, 0);
    if (c->myo_copy == MAP_FAILED || c->myo_shared == MAP_FAILED) {
        c->myo_copy = c->myo_copy == MAP_FAILED ? NULL : c->myo_copy;
        c->myo_shared = c->myo_shared == MAP_FAILED ? NULL : c->myo_shared;
        return off_fail(OFF_ESYS, "cannot map the card's copy of the arena: %s", strerror(errno));
    }
    c->myo_shared->policy = c->myo_policy;
    c->myo_shared->race_check = c->cfg.race_check;
    c->myo_shared->npages = size / 4096;
    c->myo_view = off_myo_attach(OFF_MYO_HOST, c->arena->base, c->myo_copy, size, c->myo_shared, &c->link);
    return c->myo_view ? OFF_OK : OFF_ESYS;
}

static void myo_teardown(off_card *c)
{
    if (c->myo_view) off_myo_detach(c->myo_view); /* brings back pages only the card's copy holds */
    c->myo_view = NULL;
    if (c->myo_copy) munmap(c->myo_copy, c->arena->size);
    if (c->myo_shared) munmap(c->myo_shared, c->myo_shared_bytes);
    c->myo_copy = NULL;
    c->myo_shared = NULL;
    if (c->myo_copy_fd >= 0) close(c->myo_copy_fd);
    if (c->myo_shared_fd >= 0) close(c->myo_shared_fd);
    c->myo_copy_fd = c->myo_shared_fd = -1;
}

void off_card_myo_stats(off_card *c, off_myo_stats *out)
{
    memset(out, 0, sizeof *out);
    off_myo_shared *sh = c->myo_shared;
    if (!sh) return;
    out->pages_to_card = sh->pages_to_card;
    out->pages_from_card = sh->pages_from_card;
    out->faults_host = sh->faults_host;
    out->faults_card = sh->faults_card;
    out->races = sh->races;
    out->coherence_s = 1e-9 * (double)(sh->coherence_ns_host + sh->coherence_ns_card + sh->fetch_ns_host +
                                       sh->fetch_ns_card);
}

int off_card_open(const off_config *cfg, off_card **out)
{
    off_clear_error();
    *out = NULL;
    if (cfg->threads < 1 || cfg->threads > 1024)
        return off_fail(OFF_EARG, "card threads must be between 1 and 1024, got %d", cfg->threads);
    if (!cfg->card_exe || !*cfg->card_exe) return off_fail(OFF_EARG, "no card executable given");
    off_card *c = calloc(1, sizeof *c);
    if (!c) return off_fail(OFF_ESYS, "out of host memory");
    c->cfg = *cfg;
    c->cfg.card_exe = strdup(cfg->card_exe);
    c->ctl_fd = c->life_fd = c->myo_copy_fd = c->myo_shared_fd = -1;
    snprintf(c->cpus, sizeof c->cpus, "%s", cfg->cpus ? cfg->cpus : "");
    int rc;
    cpu_set_t set;
    if (c->cpus[0] && (rc = off_parse_cpus(c->cpus, &set)) != OFF_OK) goto fail;
    if ((rc = off_link_parse(cfg->link, &c->link)) != OFF_OK) goto fail;
    if ((rc = parse_coherence(c, cfg->coherence)) != OFF_OK) goto fail;
    if ((rc = off_arena_create(cfg->arena_bytes ? cfg->arena_bytes : (64u << 20), &c->arena)) != OFF_OK) goto fail;
    if (c->myo && (rc = myo_setup(c)) != OFF_OK) goto fail;

    c->ctl_fd = memfd_create("dnn-ctl", MFD_CLOEXEC);
    if (c->ctl_fd < 0 || ftruncate(c->ctl_fd, sizeof(off_ctl)) != 0) {
        rc = off_fail(OFF_ESYS, "cannot create the control channel: %s", strerror(errno));
        goto fail;
    }
    c->ctl = mmap(NULL, sizeof(off_ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, c->ctl_fd, 0);
    if (c->ctl == MAP_FAILED) {
        c->ctl = NULL;
        rc = off_fail(OFF_ESYS, "cannot map the control channel: %s", strerror(errno));
        goto fail;
    }
    c->ctl->magic = OFF_CTL_MAGIC;
    c->ctl->link = c->link;
    if ((rc = spawn_card(c)) != OFF_OK) goto fail;

    /* Wait for the card to map the arena and say it is ready. */
    double t0 = off_now();
    off_lane *first = &c->ctl->lane[OFF_LANE_CALL];
    for (;;) {
        uint32_t seen = atomic_load(&first->ev_host);
        int st = atomic_load(&c->ctl->card_state);
        if (st == OFF_CARD_READY) break;
        if (st == OFF_CARD_FAILED) {
            reap(c, 0);
            rc = off_fail(OFF_ESTART, "the card could not start: %s", c->ctl->start_error);
            goto fail;
        }
        if (reap(c, WNOHANG)) {
            rc = off_fail(OFF_ESTART, "the card (%s) %s before it was ready", c->cfg.card_exe, c->death);
            goto fail;
        }
        if (off_now() - t0 > 30.0) {
            rc = off_fail(OFF_ESTART, "the card did not become ready within 30 s");
            goto fail;
        }
        off_futex_wait(&first->ev_host, seen, &first->host_sleeping, 0.02);
    }
    for (int i = 0; i < OFF_LANES; i++) {
        host_lane *h = &c->lane[i];
        off_lane *L = &c->ctl->lane[i];
        h->card = c;
        h->id = i;
        h->wire = L;
        h->ring = (off_ring_end){L, 0, &L->ev_host, &L->host_sleeping, &L->ev_card, &L->card_sleeping,
                                 host_abort_check, h};
    }
    if (!off_default_card()) off_set_default_card(c);
    *out = c;
    return OFF_OK;
fail:;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", off_last_error());
    off_card_destroy(c);
    return off_fail(rc, "%s", msg);
}

int off_card_stop(off_card *c)
{
    if (!c) return OFF_OK;
    if (c->pid > 0 && !c->dead) {
        if (c->ctl) {
            atomic_store(&c->ctl->quit, 1);
            for (int i = 0; i < OFF_LANES; i++)
                off_futex_bump(&c->ctl->lane[i].ev_card, &c->ctl->lane[i].card_sleeping);
        }
        /* A card in the middle of a kernel does not look at `quit`: after a short grace
         * period it is killed. Nothing it holds outlives it (memfds close with it). */
        double t0 = off_now();
        while (!reap(c, WNOHANG) && off_now() - t0 < (in_flight(c) ? 0.05 : 1.0)) usleep(200);
        if (!c->dead) {
            kill(c->pid, SIGKILL);
            reap(c, 0);
        }
    }
    for (int i = 0; i < OFF_LANES; i++) c->lane[i].in_flight = 0;
    if (c->life_fd >= 0) close(c->life_fd);
    c->life_fd = -1;
    if (c->ctl) munmap(c->ctl, sizeof(off_ctl));
    c->ctl = NULL;
    if (c->ctl_fd >= 0) close(c->ctl_fd);
    c->ctl_fd = -1;
    if (c->arena && c->arena->fd >= 0) {
        /* The host mapping keeps the memory until off_card_destroy; the descriptor can go. */
        close(c->arena->fd);
        c->arena->fd = -1;
    }
    return OFF_OK;
}

void off_card_destroy(off_card *c)
{
    if (!c) return;
    if (c == off_default_card()) off_set_default_card(NULL);
    off_card_stop(c);
    if (c->arena) myo_teardown(c);
    off_arena_release(c->arena);
    free((char *)c->cfg.card_exe);
    free(c);
}

/* The card _Cilk_offload and _Offload_shared_malloc use on the host: the first one opened. */
static off_card *default_card;

off_card *off_default_card(void) { return default_card; }

void off_set_default_card(off_card *c)
{
    default_card = c;
    off_current_arena = c ? c->arena : NULL;
}

int off_card_pid(const off_card *c) { return c->pid < 0 ? -c->pid : c->pid; }
off_arena *off_card_arena(off_card *c) { return c->arena; }
const char *off_card_link_name(const off_card *c) { return c->link.name; }
int off_in_flight(const off_card *c) { return in_flight(c); }

/* ---- checking a call before anything moves ------------------------------------------------ */

static const resident *find_resident(const off_card *c, const void *p, int containing)
{
    for (int i = 0; i < c->nres; i++) {
        const char *k = c->res[i].key;
        if ((const char *)p == k) return &c->res[i];
        if (containing && (const char *)p > k && (const char *)p < k + c->res[i].bytes) return &c->res[i];
    }
    return NULL;
}

static int check_xfers(off_card *c, const off_xfer *xf, int nxf)
{
    if (nxf < 0 || nxf > OFF_MAX_XFERS)
        return off_fail(OFF_EARG, "an offload call takes at most %d transfer clauses, got %d", OFF_MAX_XFERS, nxf);
    for (int i = 0; i < nxf; i++) {
        uint32_t dir = xf[i].flags & 7;
        const void *key = xf[i].into ? xf[i].into : xf[i].host;
        if (dir != OFF_IN && dir != OFF_OUT && dir != OFF_INOUT && dir != OFF_NOCOPY)
            return off_fail(OFF_EARG, "transfer %d: give exactly one of in, out, inout, nocopy", i + 1);
        if (!xf[i].host) return off_fail(OFF_EARG, "transfer %d: the host address is NULL", i + 1);
        if (xf[i].into && dir != OFF_IN)
            return off_fail(OFF_EARG, "transfer %d: into() goes with in() only", i + 1);
        if (off_arena_contains(c->arena, xf[i].host, 1))
            return off_fail(OFF_EARG, "transfer %d: %p lies in the shared arena; shared data needs no "
                            "explicit transfer", i + 1, xf[i].host);
        for (int j = 0; j < i; j++)
            if ((xf[j].into ? xf[j].into : xf[j].host) == key)
                return off_fail(OFF_EARG, "transfers %d and %d name the same card buffer %p", j + 1, i + 1, key);
        const resident *r = find_resident(c, key, 0);
        if (xf[i].flags & OFF_ALLOC_IF) {
            if (r)
                return off_fail(OFF_EARG, "transfer %d: alloc_if(1) but the card already holds a buffer "
                                "for %p (kept by an earlier free_if(0)); use alloc_if(0)", i + 1, key);
        } else {
            if (!r)
                return off_fail(OFF_EARG, "transfer %d: alloc_if(0) but the card holds no buffer for %p; "
                                "the first transfer must use alloc_if(1)", i + 1, key);
            if (xf[i].bytes > r->bytes)
                return off_fail(OFF_EARG, "transfer %d: %llu bytes do not fit the card buffer of %llu bytes "
                                "kept for %p", i + 1, (unsigned long long)xf[i].bytes,
                                (unsigned long long)r->bytes, key);
        }
    }
    return OFF_OK;
}

static int in_this_call(const off_xfer *xf, int nxf, const void *p)
{
    for (int i = 0; i < nxf; i++) {
        const char *k = xf[i].into ? xf[i].into : xf[i].host;
        if ((const char *)p == k || ((const char *)p > k && (const char *)p < k + xf[i].bytes)) return 1;
    }
    return 0;
}

static int check_args(off_card *c, const char *kernel, const off_arg *args, int nargs,
                      const off_xfer *xf, int nxf)
{
    const off_kernel *k = off_kernel_find(kernel);
    if (!k) return off_fail(OFF_ENOKERNEL, "no kernel named '%s' is registered", kernel);
    int rc = off_kernel_check_args(k, args, nargs);
    if (rc != OFF_OK) return rc;
    for (int i = 0; i < nargs; i++) {
        const void *p = args[i].v.p;
        if (args[i].kind != OFF_ARG_PTR || !p) continue;
        if (off_arena_contains(c->arena, p, 1) || in_this_call(xf, nxf, p) || find_resident(c, p, 1)) continue;
        char name[64];
        return off_fail(OFF_EARG,
                        "argument %d ('%s') of kernel '%s' is a host pointer %p outside the shared "
                        "arena [%p, %p): the card cannot see it; allocate it with "
                        "_Offload_shared_malloc (implicit) or transfer it with in/out/inout (explicit)",
                        i + 1, off_kernel_param_name(k, i, name, sizeof name), kernel, p,
                        c->arena->base, (char *)c->arena->base + c->arena->size);
    }
    return OFF_OK;
}

/* ---- posting, streaming, waiting ---------------------------------------------------------- */

static int host_abort_check(void *arg)
{
    host_lane *h = arg;
    if (atomic_load_explicit(&h->wire->rep_seq, memory_order_acquire) == h->seq) return OFF_EKERNEL;
    if (!off_card_alive(h->card)) return died(h->card);
    return OFF_OK;
}

/* A transfer of one lane must not touch a card buffer the other lane's request in flight uses:
 * the two cross at the same time. */
static int clash(const off_card *c, int lane, const off_xfer *xf, int nxf)
{
    const host_lane *o = &c->lane[1 - lane];
    if (!o->in_flight) return OFF_OK;
    for (int i = 0; i < nxf; i++) {
        const char *k = xf[i].into ? xf[i].into : xf[i].host;
        for (int j = 0; j < o->nxf; j++) {
            const char *ko = o->xf[j].into ? o->xf[j].into : o->xf[j].host;
            if (k < ko + o->xf[j].bytes && ko < k + (xf[i].bytes ? xf[i].bytes : 1))
                return off_fail(OFF_EBUSY, "transfer %d (%p) touches a card buffer that the %s in flight "
                                "(signal %llu) is using; wait for it first", i + 1, (const void *)k,
                                lane == OFF_LANE_CALL ? "transfer" : "offload",
                                (unsigned long long)signal_of(o));
        }
    }
    return OFF_OK;
}

static int post(off_card *c, int lane, const char *kernel, const off_arg *args, int nargs,
                const off_xfer *xf, int nxf, uint64_t *signal)
{
    off_clear_error();
    if (!c || !c->ctl) return off_fail(OFF_EARG, "the card is stopped");
    if (c->dead || !off_card_alive(c)) return died(c);
    host_lane *h = &c->lane[lane];
    if (h->in_flight)
        return off_fail(OFF_EBUSY, "an asynchronous %s (signal %llu%s%s) is still in flight; wait for it first",
                        lane == OFF_LANE_CALL ? "offload" : "transfer",
                        (unsigned long long)signal_of(h), h->kernel[0] ? ", kernel " : "",
                        h->kernel);
    if (nargs < 0 || nargs > OFF_MAX_ARGS)
        return off_fail(OFF_EARG, "an offload call takes at most %d arguments, got %d", OFF_MAX_ARGS, nargs);
    int rc = check_xfers(c, xf, nxf);
    if (rc == OFF_OK) rc = clash(c, lane, xf, nxf);
    if (rc == OFF_OK && kernel) {
        if (strlen(kernel) >= sizeof h->wire->kernel) return off_fail(OFF_EARG, "kernel name too long");
        rc = check_args(c, kernel, args, nargs, xf, nxf);
    }
    if (rc != OFF_OK) return rc;

    off_lane *L = h->wire;
    h->t_post = off_now();
    if (c->myo && lane == OFF_LANE_CALL) off_myo_host_release(c->myo_view); /* entry: the host releases */
    h->wait_s = 0;
    h->out_done = 0;
    snprintf(h->kernel, sizeof h->kernel, "%s", kernel ? kernel : "");
    if (nxf) memcpy(h->xf, xf, sizeof *xf * (size_t)nxf);
    h->nxf = nxf;

    off_ring_reset(L);
    snprintf(L->kernel, sizeof L->kernel, "%s", kernel ? kernel : "");
    L->nargs = nargs;
    if (nargs) memcpy(L->args, args, sizeof *args * (size_t)nargs);
    L->nxf = nxf;
    for (int i = 0; i < nxf; i++) {
        L->xf[i].x = xf[i];
        L->xf[i].t_start = 0;
    }
    h->seq++;
    h->in_flight = 1;
    atomic_store_explicit(&L->req_seq, h->seq, memory_order_release);
    off_futex_bump(&L->ev_card, &L->card_sleeping);

    /* In-data crosses now, while the card receives it slot by slot. */
    h->ring.index = 0;
    for (int i = 0; i < nxf; i++) {
        if (!(xf[i].flags & OFF_IN)) continue;
        L->xf[i].t_start = off_now();
        rc = off_ring_send(&h->ring, xf[i].host, xf[i].bytes);
        if (rc == OFF_EKERNEL) break; /* the card refused the call: its reply says why */
        if (rc != OFF_OK) return rc;
    }
    *signal = signal_of(h);
    return OFF_OK;
}

int off_call_async(off_card *c, const char *kernel, const off_arg *args, int nargs,
                   const off_xfer *xf, int nxf, uint64_t *signal)
{
    return post(c, OFF_LANE_CALL, kernel, args, nargs, xf, nxf, signal);
}

int off_transfer_async(off_card *c, const off_xfer *xf, int nxf, uint64_t *signal)
{
    return post(c, OFF_LANE_DMA, NULL, NULL, 0, xf, nxf, signal);
}

static void add_stats(off_stats *t, const off_stats *s)
{
    t->calls += s->calls;
    t->bytes_to_card += s->bytes_to_card;
    t->bytes_from_card += s->bytes_from_card;
    t->transfers += s->transfers;
    t->transfer_s += s->transfer_s;
    t->transfer_real_s += s->transfer_real_s;
    t->transfer_model_s += s->transfer_model_s;
    t->compute_s += s->compute_s;
    t->wait_s += s->wait_s;
    t->wall_s += s->wall_s;
}

/* Blocks until *word reaches the lane's request (or the reply does), or the deadline. */
static int wait_reply_or(host_lane *h, _Atomic uint64_t *word, double deadline)
{
    off_lane *L = h->wire;
    for (;;) {
        uint32_t seen = atomic_load_explicit(&L->ev_host, memory_order_acquire);
        if (atomic_load_explicit(word, memory_order_acquire) == h->seq) return OFF_OK;
        if (atomic_load_explicit(&L->rep_seq, memory_order_acquire) == h->seq) return OFF_OK;
        if (!off_card_alive(h->card)) return died(h->card);
        double now = off_now();
        if (deadline >= 0 && now >= deadline) return OFF_ETIMEDOUT;
        double t = deadline >= 0 ? deadline - now : 0.02;
        double t0 = now;
        off_futex_wait(&L->ev_host, seen, &L->host_sleeping, t < 0.02 ? t : 0.02);
        h->wait_s += off_now() - t0;
    }
}

int off_wait_for(off_card *c, uint64_t signal, double timeout_s, double *result, int *nresult)
{
    off_clear_error();
    if (!c || !c->ctl) return off_fail(OFF_EARG, "the card is stopped");
    host_lane *h = &c->lane[signal % OFF_LANES];
    if (!h->in_flight || signal / OFF_LANES != h->seq)
        return off_fail(OFF_EARG, "no offload in flight with signal %llu", (unsigned long long)signal);
    off_lane *L = h->wire;
    double deadline = timeout_s < 0 ? -1 : off_now() + timeout_s;
    int rc;

    off_link_clock out_clock;
    off_link_clock_start(&out_clock, &c->link);
    if (!h->out_done) {
        if ((rc = wait_reply_or(h, &L->kernel_done_seq, deadline)) != OFF_OK) return rc;
        for (int i = 0; i < h->nxf; i++) {
            if (!(h->xf[i].flags & OFF_OUT)) continue;
            rc = off_ring_recv(&h->ring, (void *)h->xf[i].host, h->xf[i].bytes);
            if (rc == OFF_EKERNEL) break;
            if (rc != OFF_OK) return rc;
            off_link_clock_arrived(&out_clock, L->xf[i].t_start, h->xf[i].bytes);
        }
        h->out_done = 1;
    }
    if ((rc = wait_reply_or(h, &L->rep_seq, -1)) != OFF_OK) return rc;
    h->in_flight = 0;
    int coherence_rc = c->myo && h->id == OFF_LANE_CALL ? off_myo_host_acquire(c->myo_view) : OFF_OK;

    off_stats s = {0};
    s.calls = 1;
    s.compute_s = L->compute_s;
    s.wait_s = h->wait_s;
    s.wall_s = off_now() - h->t_post;
    int status = L->status;
    if (status == OFF_OK) {
        for (int i = 0; i < h->nxf; i++) {
            const off_xfer *x = &h->xf[i];
            if (x->flags & OFF_IN) s.bytes_to_card += x->bytes, s.transfers++;
            if (x->flags & OFF_OUT) s.bytes_from_card += x->bytes, s.transfers++;
            const void *key = x->into ? x->into : x->host;
            if ((x->flags & OFF_ALLOC_IF) && !(x->flags & OFF_FREE_IF) && c->nres < OFF_MAX_BUFFERS)
                c->res[c->nres++] = (resident){key, x->bytes};
            if ((x->flags & OFF_FREE_IF) && !(x->flags & OFF_ALLOC_IF)) {
                for (int j = 0; j < c->nres; j++)
                    if (c->res[j].key == key) {
                        c->res[j] = c->res[--c->nres];
                        break;
                    }
            }
        }
        s.transfer_real_s = L->in_real_s + out_clock.real_s;
        s.transfer_model_s = L->in_model_s + out_clock.model_s;
        s.transfer_s = L->in_elapsed_s + out_clock.elapsed_s;
        int n = L->nresult;
        if (result && n > 0) memcpy(result, L->result, sizeof(double) * (size_t)n);
        if (nresult) *nresult = n;
    }
    c->last = s;
    add_stats(&c->total, &s);
    if (status == OFF_OK && coherence_rc != OFF_OK) return coherence_rc;
    if (status != OFF_OK) {
        if (h->kernel[0] && status == OFF_EKERNEL)
            return off_fail(status, "kernel '%s' failed on the card: %s", h->kernel, L->error);
        return off_fail(status, "%s", L->error);
    }
    return OFF_OK;
}

int off_wait(off_card *c, uint64_t signal, double *result, int *nresult)
{
    return off_wait_for(c, signal, -1, result, nresult);
}

int off_call(off_card *c, const char *kernel, const off_arg *args, int nargs, const off_xfer *xf,
             int nxf, double *result, int *nresult)
{
    uint64_t sig;
    int rc = off_call_async(c, kernel, args, nargs, xf, nxf, &sig);
    if (rc != OFF_OK) return rc;
    return off_wait(c, sig, result, nresult);
}

void off_card_stats(const off_card *c, off_stats *total, off_stats *last)
{
    if (total) *total = c->total;
    if (last) *last = c->last;
}

void off_card_reset_stats(off_card *c)
{
    memset(&c->total, 0, sizeof c->total);
    memset(&c->last, 0, sizeof c->last);
}

void off_card_memory(off_card *c, uint64_t *used, uint64_t *peak, uint64_t *buffers)
{
    /* As of the last reply; the card is idle between calls, so this is current. */
    if (used) *used = c->ctl ? atomic_load(&c->ctl->mem_used) : 0;
    if (peak) *peak = c->ctl ? atomic_load(&c->ctl->mem_peak) : 0;
    if (buffers) *buffers = c->ctl ? atomic_load(&c->ctl->mem_buffers) : 0;
}

