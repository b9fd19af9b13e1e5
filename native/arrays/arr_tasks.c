/* arr_tasks.c — the one parallel loop of dnn.arrays' kernels: each kernel cuts its work into
 * tasks (pieces of ARR_PIECE elements, rows, tiles) and hands them here, to a team of threads
 * of its own (the card's thread count, omp_get_max_threads()).
 *
 * Why not _Cilk_for (an OpenMP `parallel for` once translated): a parallel region ends in a
 * barrier that waits for every thread of the team, and on a loaded machine a sleeping thread
 * waits a scheduler slice to wake (10-20 ms measured), so every kernel above ARR_PIECE
 * elements cost at least that, whatever its size. Here the calling thread never waits for a
 * helper that has not started:
 *
 *   - the tasks are split into one contiguous range per thread (memory streams in order);
 *   - each thread takes its own range's tasks front to back, then the others' leftovers;
 *   - the caller, once no task is left to take, waits only for tasks a helper took and has
 *     not finished. A helper that wakes after the job finds it closed and touches nothing.
 *
 * A job whose tasks hold ARR_PIECE elements or fewer in all runs in the calling thread (waking
 * a helper costs more than the work), and so does a job posted from inside a task or while
 * another thread's job runs. */
#include "arr.h"

#include <linux/futex.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARR_TEAM_MAX 64     /* threads at most, the caller included */
#define ARR_TEAM_SPIN 4000 /* polls before a helper sleeps, or a waiting caller yields */

typedef struct {
    _Atomic int64_t next; /* the next task to take */
    int64_t end;
    char pad[48]; /* one cache line per range: the threads do not share lines */
} arr_range;

static struct {
    pthread_mutex_t lock; /* one job at a time; held by the caller while its job runs */
    int helpers;          /* helper threads started */
    _Atomic uint32_t posted, closed; /* job numbers; posted is the helpers' futex word */
    _Atomic int busy;     /* helpers inside the current job */
    _Atomic int sleeping; /* helpers asleep on `posted` */
    _Atomic int64_t done; /* tasks finished */
    int threads;          /* threads of the current job */
    int64_t n;
    arr_task_fn task;
    const void *ctx;
    arr_range range[ARR_TEAM_MAX];
} arr_team = {.lock = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local int arr_team_inside; /* this thread runs a task (helpers: always) */

static void arr_team_pause(void) { __builtin_ia32_pause(); }

/* Thread `me` takes tasks: its own range first, then each other range's leftovers. */
static void arr_team_work(int me)
{
    const int threads = arr_team.threads;
    int64_t finished = 0;
    for (int k = 0; k < threads; k++) {
        arr_range *r = &arr_team.range[(me + k) % threads];
        for (int64_t t; (t = atomic_fetch_add(&r->next, 1)) < r->end; finished++) arr_team.task(t, arr_team.ctx);
    }
    atomic_fetch_add(&arr_team.done, finished);
}

static void *arr_team_helper(void *arg)
{
    const int me = (int)(intptr_t)arg;
    uint32_t seen = atomic_load(&arr_team.posted);
    arr_team_inside = 1;
    for (;;) {
        int spins = 0;
        while (atomic_load(&arr_team.posted) == seen) {
            if (++spins < ARR_TEAM_SPIN) {
                arr_team_pause();
                continue;
            }
            atomic_fetch_add(&arr_team.sleeping, 1);
            if (atomic_load(&arr_team.posted) == seen)
                syscall(SYS_futex, &arr_team.posted, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
            atomic_fetch_sub(&arr_team.sleeping, 1);
            spins = 0;
        }
        /* Announce before looking: the caller closes a job, then waits until busy is 0, so a
         * helper that counted itself in and still sees the job open may use it. */
        atomic_fetch_add(&arr_team.busy, 1);
        seen = atomic_load(&arr_team.posted);
        if (atomic_load(&arr_team.closed) != seen && me < arr_team.threads) arr_team_work(me);
        atomic_fetch_sub(&arr_team.busy, 1);
    }
    return NULL;
}

/* Start helpers up to threads - 1; returns the team's size (1: no helper could start). */
static int arr_team_grow(int threads)
{
    while (arr_team.helpers < threads - 1) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const int rc = pthread_create(&th, &attr, arr_team_helper, (void *)(intptr_t)(arr_team.helpers + 1));
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
        arr_team.helpers++;
    }
    return arr_team.helpers + 1 < threads ? arr_team.helpers + 1 : threads;
}

/* Waits (spinning, then yielding the core to whoever holds the work) until *v reaches want. */
static void arr_team_await64(_Atomic int64_t *v, int64_t want)
{
    for (int spins = 0; atomic_load(v) != want;)
        if (++spins < ARR_TEAM_SPIN) arr_team_pause();
        else sched_yield();
}

static void arr_team_await_idle(void)
{
    for (int spins = 0; atomic_load(&arr_team.busy) != 0;)
        if (++spins < ARR_TEAM_SPIN) arr_team_pause();
        else sched_yield();
}

void arr_tasks(int64_t n, int64_t work, arr_task_fn task, const void *ctx)
{
    int threads = omp_get_max_threads();
    threads = threads < ARR_TEAM_MAX ? threads : ARR_TEAM_MAX;
    if (n <= 1 || work <= ARR_PIECE || threads <= 1 || arr_team_inside || pthread_mutex_trylock(&arr_team.lock)) {
        for (int64_t t = 0; t < n; t++) task(t, ctx);
        return;
    }
    threads = arr_team_grow(threads < n ? threads : (int)n);
    arr_team.threads = threads, arr_team.n = n, arr_team.task = task, arr_team.ctx = ctx;
    for (int i = 0; i < threads; i++) {
        atomic_store(&arr_team.range[i].next, n * i / threads);
        arr_team.range[i].end = n * (i + 1) / threads;
    }
    atomic_store(&arr_team.done, 0);
    const uint32_t job = atomic_load(&arr_team.posted) + 1;
    atomic_store(&arr_team.posted, job);
    if (atomic_load(&arr_team.sleeping) > 0)
        syscall(SYS_futex, &arr_team.posted, FUTEX_WAKE_PRIVATE, ARR_TEAM_MAX, NULL, NULL, 0);

    arr_team_inside = 1;
    arr_team_work(0);
    arr_team_inside = 0;
    arr_team_await64(&arr_team.done, n); /* tasks helpers took are finished */
    atomic_store(&arr_team.closed, job);
    arr_team_await_idle(); /* no helper still reads the job */
    pthread_mutex_unlock(&arr_team.lock);
}
