/* kernels_test.c — kernels the runtime's own tests offload. Compiled into the card and the
 * host library like any kernel; they know nothing of neural networks either. */
#define _GNU_SOURCE
#include "cilk_offload.h"

#include <omp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* A linked list node built by the host in the shared arena. */
typedef struct off_test_node {
    long value;
    struct off_test_node *next;
} off_test_node;

OFF_KERNEL(off_test_nop, "") { return OFF_OK; }

/* Returns the card's pid, its OpenMP thread count and the number of CPUs it may run on. */
OFF_KERNEL(off_test_whoami, "")
{
    cpu_set_t set;
    sched_getaffinity(0, sizeof set, &set);
    ctx->result[0] = (double)getpid();
    ctx->result[1] = (double)omp_get_max_threads();
    ctx->result[2] = (double)CPU_COUNT(&set);
    ctx->nresult = 3;
    return OFF_OK;
}

/* Walks the list: returns the sum of the values, doubles each value, and appends a node
 * allocated on the card in shared memory with `extra` as its value. */
OFF_KERNEL(off_test_list_walk, "head:p,extra:i")
{
    off_test_node *n = args[0].v.p, *last = NULL;
    long sum = 0, count = 0;
    for (; n; n = n->next) {
        sum += n->value;
        n->value *= 2;
        last = n;
        count++;
    }
    off_test_node *fresh = _Offload_shared_malloc(sizeof *fresh);
    if (!fresh) return off_kernel_fail(ctx, "%s", off_last_error());
    fresh->value = args[1].v.i;
    fresh->next = NULL;
    if (last) last->next = fresh;
    ctx->result[0] = (double)sum;
    ctx->result[1] = (double)count;
    ctx->nresult = 2;
    return OFF_OK;
}

/* y[0:n] += a * x[0:n] */
OFF_KERNEL(off_test_axpy, "n:i,a:d,x:p,y:p")
{
    long n = args[0].v.i;
    const float *x = args[2].v.p;
    float *y = args[3].v.p;
    sec_axpy(y, (float)args[1].v.d, x, n);
    ctx->result[0] = sec_reduce_add(y, 0, n);
    ctx->nresult = 1;
    return OFF_OK;
}

/* Fills y[0:n] with value: an out-only array. */
OFF_KERNEL(off_test_fill, "n:i,value:d,y:p")
{
    sec_fill(args[2].v.p, (float)args[1].v.d, args[0].v.i);
    return OFF_OK;
}

/* A real segfault, also under the sanitizers (which would otherwise report it first). */
static int *volatile null_pointer; /* opaque to the optimiser: the store really happens */

__attribute__((noinline, no_sanitize("address", "undefined"))) static void write_to_null(void)
{
    *null_pointer = 1;
}

/* Dies on purpose: 1 = segfault, 2 = abort. */
OFF_KERNEL(off_test_crash, "how:i")
{
    if (args[0].v.i == 1) write_to_null();
    if (args[0].v.i == 2) abort();
    return OFF_OK;
}

OFF_KERNEL(off_test_sleep, "seconds:d")
{
    double s = args[0].v.d;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
    return OFF_OK;
}

/* Busy for the given seconds, as a training kernel keeps its CPU busy (off_test_sleep lets the
 * card's CPU go idle, and waking an idle virtual CPU costs what a busy one does not). */
OFF_KERNEL(off_test_spin, "seconds:d")
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t);
    while ((double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec) < args[0].v.d);
    return OFF_OK;
}

OFF_KERNEL(off_test_fail, "code:i")
{
    return off_kernel_fail(ctx, "asked to fail with code %ld", (long)args[0].v.i);
}

/* Sleeps, then returns the sum of x[0:n]: what the card sees of x at the END of the call. */
OFF_KERNEL(off_test_sleep_sum, "seconds:d,n:i,x:p")
{
    double s = args[0].v.d;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
    ctx->result[0] = sec_reduce_add(args[2].v.p, 0, args[1].v.i);
    ctx->nresult = 1;
    return OFF_OK;
}

/* Sleeps, then fills y[0:n] with value: the card writes after the host has looked. */
OFF_KERNEL(off_test_sleep_fill, "seconds:d,n:i,value:d,y:p")
{
    double s = args[0].v.d;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
    sec_fill(args[3].v.p, (float)args[2].v.d, args[1].v.i);
    return OFF_OK;
}

/* Fills y[0:n] with value, then sleeps: the host can look while the card still runs. */
OFF_KERNEL(off_test_fill_sleep, "n:i,value:d,y:p,seconds:d")
{
    sec_fill(args[2].v.p, (float)args[1].v.d, args[0].v.i);
    double s = args[3].v.d;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
    return OFF_OK;
}

/* Waits until the host sets *gate (an int64 in the shared arena) non-zero, or `seconds` pass
 * (then fails): holds the card's call lane while a test queues requests behind it. */
OFF_KERNEL(off_test_wait_gate, "gate:p,seconds:d")
{
    const volatile int64_t *gate = args[0].v.p;
    const double give_up = off_now() + args[1].v.d;
    while (!*gate) {
        if (off_now() > give_up) return off_kernel_fail(ctx, "the gate stayed shut for %.0f s", args[1].v.d);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return OFF_OK;
}
