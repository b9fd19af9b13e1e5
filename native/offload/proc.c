/* proc.c — the card process seen from the host: start it, wait until it is ready, reap it, stop it.
 *
 * The card is found dead either by waitpid (it exited or was killed) or, for the card, by EOF on
 * the lifeline socket (the host exited): neither side can hang on the other.
 */
#define _GNU_SOURCE
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void off_proc_init(off_proc *p)
{
    memset(p, 0, sizeof *p);
    p->life_fd = -1;
}

int off_proc_running(const off_proc *p) { return p->pid > 0 && !p->dead; }

int off_proc_pid(const off_proc *p) { return p->pid < 0 ? -p->pid : p->pid; }

int off_proc_thread_runnable(const off_proc *p, int tid)
{
    if (!off_proc_running(p) || tid <= 0) return -1;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)p->pid, tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    /* "tid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'. */
    char *end = strrchr(buf, ')');
    if (!end || end[1] != ' ') return -1;
    return end[2] == 'R';
}

/* ---- reaping ------------------------------------------------------------------------------- */

static void proc_describe_exit(off_proc *p, int status)
{
    if (WIFSIGNALED(status))
        snprintf(p->death, sizeof p->death, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(p->death, sizeof p->death, "exited with status %d", WEXITSTATUS(status));
}

int off_proc_reap(off_proc *p, int options)
{
    if (p->pid <= 0) return 1;
    int status = 0;
    pid_t r;
    do r = waitpid(p->pid, &status, options);
    while (r < 0 && errno == EINTR);
    if (r == p->pid || (r < 0 && errno == ECHILD)) {
        if (r == p->pid) proc_describe_exit(p, status);
        else snprintf(p->death, sizeof p->death, "is gone");
        p->dead = 1;
        p->pid = -p->pid;
        return 1;
    }
    return 0;
}

void off_proc_stop(off_proc *p, double grace_s)
{
    if (off_proc_running(p)) {
        /* A card in the middle of a kernel does not look at `quit`: after the grace period it is
         * killed. Nothing it holds outlives it (memfds close with it). */
        double t0 = off_now();
        while (!off_proc_reap(p, WNOHANG) && off_now() - t0 < grace_s) usleep(200);
        if (!p->dead) {
            kill(p->pid, SIGKILL);
            off_proc_reap(p, 0);
        }
    }
    if (p->life_fd >= 0) close(p->life_fd);
    p->life_fd = -1;
}

/* ---- starting ------------------------------------------------------------------------------ */

/* The host's descriptors for the card, each moved to 64 or above, and the host's lifeline end. */
typedef struct {
    int arena, ctl, life, myo_copy, myo_shared;
    int host_life;
} proc_fds;

static void proc_close_fds(proc_fds *f)
{
    int *all[] = {&f->arena, &f->ctl, &f->life, &f->myo_copy, &f->myo_shared};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (*all[i] >= 0) close(*all[i]);
        *all[i] = -1;
    }
}

/* Move our descriptors above the ones the card expects, so the dup2s cannot clobber. (Just
 * above, not far above: a low `ulimit -n` must still leave room.) */
static int proc_lift(int fd) { return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, OFF_CARD_MYO_SHARED_FD + 1); }

static int proc_prepare_fds(const off_proc_start *s, proc_fds *f)
{
    int sv[2] = {-1, -1};
    *f = (proc_fds){-1, -1, -1, -1, -1, -1};
    f->arena = proc_lift(s->arena->fd);
    f->ctl = proc_lift(s->ctl_fd);
    if (f->arena < 0 || f->ctl < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        int e = errno;
        proc_close_fds(f);
        struct rlimit rl;
        if ((e == EMFILE || e == EINVAL) && getrlimit(RLIMIT_NOFILE, &rl) == 0)
            return off_fail(OFF_ESYS, "cannot prepare the card's descriptors: the limit on open files "
                            "(ulimit -n) is %llu and all are in use; raise it, e.g. ulimit -n 1024",
                            (unsigned long long)rl.rlim_cur);
        return off_fail(OFF_ESYS, "cannot prepare the card's descriptors: %s", strerror(e));
    }
    f->host_life = sv[0];
    f->life = proc_lift(sv[1]);
    close(sv[1]);
    f->myo_copy = proc_lift(s->myo_copy_fd);
    f->myo_shared = proc_lift(s->myo_shared_fd);
    return OFF_OK;
}

static void proc_file_actions(posix_spawn_file_actions_t *fa, const proc_fds *f)
{
    posix_spawn_file_actions_init(fa);
    posix_spawn_file_actions_adddup2(fa, f->arena, OFF_CARD_ARENA_FD);
    posix_spawn_file_actions_adddup2(fa, f->ctl, OFF_CARD_CTL_FD);
    posix_spawn_file_actions_adddup2(fa, f->life, OFF_CARD_LIFE_FD);
    if (f->myo_copy >= 0) posix_spawn_file_actions_adddup2(fa, f->myo_copy, OFF_CARD_MYO_COPY_FD);
    if (f->myo_shared >= 0) posix_spawn_file_actions_adddup2(fa, f->myo_shared, OFF_CARD_MYO_SHARED_FD);
}

/* Own process group: Ctrl-C in a terminal reaches the host only, which then stops the card in
 * order. Default signal dispositions and an empty mask, whatever the host had. */
static void proc_attributes(posix_spawnattr_t *at)
{
    posix_spawnattr_init(at);
    sigset_t none, defs;
    sigemptyset(&none);
    sigemptyset(&defs);
    sigaddset(&defs, SIGINT);
    sigaddset(&defs, SIGTERM);
    sigaddset(&defs, SIGPIPE);
    sigaddset(&defs, SIGCHLD);
    posix_spawnattr_setsigmask(at, &none);
    posix_spawnattr_setsigdefault(at, &defs);
    posix_spawnattr_setpgroup(at, 0);
    posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

static char *proc_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *proc_fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

enum { PROC_ARGS = 7 }; /* the executable and six options */

static void proc_argv(char *argv[PROC_ARGS + 1], const off_proc_start *s)
{
    argv[0] = (char *)s->exe;
    argv[1] = proc_fmt("--arena-addr=%p", s->arena->base);
    argv[2] = proc_fmt("--arena-size=%zu", s->arena->size);
    argv[3] = proc_fmt("--threads=%d", s->threads);
    argv[4] = proc_fmt("--cpus=%s", s->cpus);
    argv[5] = proc_fmt("--card-memory=%zu", s->card_memory);
    argv[6] = proc_fmt("--coherence=%s", s->myo_copy_fd >= 0 ? "myo" : "shared");
    argv[PROC_ARGS] = NULL;
}

/* GCC's OpenMP runtime and OpenBLAS size their pools when they load, before the card can pin
 * itself: give them the count in the environment. The host's environment otherwise, shared
 * (not copied): free only the two entries made here and the array, with proc_free_env. */
enum { PROC_OWN_ENV = 2 };

static char **proc_environment(int threads)
{
    size_t n = 0;
    while (environ[n]) n++;
    char **envp = calloc(n + PROC_OWN_ENV + 1, sizeof *envp);
    if (!envp) return NULL;
    size_t m = 0;
    envp[m++] = proc_fmt("OMP_NUM_THREADS=%d", threads);
    envp[m++] = proc_fmt("OPENBLAS_NUM_THREADS=%d", threads);
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "OMP_NUM_THREADS=", 16) && strncmp(environ[i], "OPENBLAS_NUM_THREADS=", 21))
            envp[m++] = environ[i];
    return envp;
}

static void proc_free_env(char **envp)
{
    if (!envp) return;
    for (int i = 0; i < PROC_OWN_ENV; i++) free(envp[i]);
    free(envp);
}

int off_proc_spawn(off_proc *p, const off_proc_start *s)
{
    proc_fds f;
    int rc = proc_prepare_fds(s, &f);
    if (rc != OFF_OK) return rc;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    char *argv[PROC_ARGS + 1];
    proc_file_actions(&fa, &f);
    proc_attributes(&at);
    proc_argv(argv, s);
    char **envp = proc_environment(s->threads);

    pid_t pid = -1;
    int err = envp ? posix_spawn(&pid, s->exe, &fa, &at, argv, envp) : ENOMEM;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    proc_free_env(envp);
    for (int i = 1; i < PROC_ARGS; i++) free(argv[i]);
    proc_close_fds(&f);
    if (err != 0) {
        close(f.host_life);
        return off_fail(OFF_ESTART, "cannot start the card executable '%s': %s%s", s->exe, strerror(err),
                        err == ENOENT ? " (build it with 'make build')" : "");
    }
    p->pid = pid;
    p->life_fd = f.host_life;
    return OFF_OK;
}

#define PROC_FEW_FILES 32 /* below this limit on open files, a card that dies at start is blamed on it */

int off_proc_wait_ready(off_proc *p, off_ctl *ctl, const char *exe)
{
    double t0 = off_now();
    off_lane *first = &ctl->lane[OFF_LANE_CALL]; /* the card bumps its ev_host when ready or failed */
    for (;;) {
        uint32_t seen = atomic_load(&first->ev_host);
        int st = atomic_load(&ctl->card_state);
        if (st == OFF_CARD_READY) return OFF_OK;
        if (st == OFF_CARD_FAILED) {
            off_proc_reap(p, 0);
            return off_fail(OFF_ESTART, "the card could not start: %s", ctl->start_error);
        }
        if (off_proc_reap(p, WNOHANG)) {
            /* Its threads and libraries need descriptors too: a very low limit ends it early. */
            struct rlimit rl;
            if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < PROC_FEW_FILES)
                return off_fail(OFF_ESTART, "the card (%s) %s before it was ready: the limit on open files "
                                "(ulimit -n) is %llu; raise it, e.g. ulimit -n 1024", exe, p->death,
                                (unsigned long long)rl.rlim_cur);
            return off_fail(OFF_ESTART, "the card (%s) %s before it was ready", exe, p->death);
        }
        if (off_now() - t0 > 30.0) return off_fail(OFF_ESTART, "the card did not become ready within 30 s");
        off_futex_wait(&first->ev_host, seen, &first->host_sleeping, 0.02);
    }
}
