/* util.c — errors, the shared clock and futex waiting. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char off_error_buf[512];
static _Thread_local int off_error_code;

const char *off_last_error(void) { return off_error_buf[0] ? off_error_buf : "no error"; }

int off_last_error_code(void) { return off_error_code; }

void off_clear_error(void)
{
    off_error_buf[0] = 0;
    off_error_code = OFF_OK;
}

int off_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(off_error_buf, sizeof off_error_buf, fmt, ap);
    va_end(ap);
    off_error_code = code;
    return code;
}

double off_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* While spinning, give the CPU away this often, in case the peer waits for it. */
#ifndef OFF_YIELD_SECONDS
#define OFF_YIELD_SECONDS 2e-6
#endif

static inline void util_cpu_relax(void) { __builtin_ia32_pause(); }

/* Shared (not FUTEX_PRIVATE) futexes: the word lives in a memfd mapped by two processes. */
static long util_futex(_Atomic uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)uaddr, op, val, ts, NULL, 0);
}

int off_futex_wait(_Atomic uint32_t *word, uint32_t seen, _Atomic uint32_t *sleeping_flag,
                   double timeout_s)
{
    return off_futex_wait_spin(word, seen, sleeping_flag, timeout_s, OFF_SPIN_SECONDS);
}

int off_futex_wait_spin(_Atomic uint32_t *word, uint32_t seen, _Atomic uint32_t *sleeping_flag,
                        double timeout_s, double spin_s)
{
    double t0 = off_now();
    double spin_until = t0 + spin_s, next_yield = t0 + OFF_YIELD_SECONDS;
    for (;;) {
        if (atomic_load_explicit(word, memory_order_acquire) != seen) return 1;
        double now = off_now();
        if (now < spin_until) {
            /* Poll between pauses: 64 pauses in a row (~1.7 us on Zen 3) added that much to
             * every hand-over. */
            for (int i = 0; i < 16 && atomic_load_explicit(word, memory_order_relaxed) == seen; i++) util_cpu_relax();
            if (now >= next_yield) {
                /* The peer may share this CPU (host and card are not pinned apart by default and
                 * the scheduler often wakes one onto the other's CPU): then spinning only delays
                 * it until our spin ends. A yield costs well under 1 us when no one waits for the
                 * CPU; sharing, an empty offload took ~215 us without it and ~11 us with it
                 * (tools/bench_offload.py). */
                sched_yield();
                next_yield = off_now() + OFF_YIELD_SECONDS;
            }
            continue;
        }
        if (timeout_s >= 0 && now - t0 >= timeout_s) return 0;
        /* Announce the sleep, then re-check: the waker reads the flag after bumping. */
        atomic_store_explicit(sleeping_flag, 1, memory_order_seq_cst);
        if (atomic_load_explicit(word, memory_order_seq_cst) != seen) {
            atomic_store_explicit(sleeping_flag, 0, memory_order_relaxed);
            return 1;
        }
        double left = timeout_s >= 0 ? timeout_s - (now - t0) : 0.05;
        if (left > 0.05) left = 0.05; /* wake up now and then: nothing may hang forever */
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        util_futex(word, FUTEX_WAIT, seen, &ts);
        atomic_store_explicit(sleeping_flag, 0, memory_order_relaxed);
    }
}

void off_futex_bump(_Atomic uint32_t *word, _Atomic uint32_t *sleeping_flag)
{
    atomic_fetch_add_explicit(word, 1, memory_order_seq_cst);
    if (atomic_load_explicit(sleeping_flag, memory_order_seq_cst))
        util_futex(word, FUTEX_WAKE, 1 << 30, NULL);
}

int off_parse_cpus(const char *spec, cpu_set_t *set)
{
    CPU_ZERO(set);
    const char *p = spec;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || a < 0) goto bad;
        if (*end == '-') {
            const char *q = end + 1;
            b = strtol(q, &end, 10);
            if (end == q || b < a) goto bad;
        }
        if (b >= CPU_SETSIZE) goto bad;
        for (long i = a; i <= b; i++) CPU_SET((int)i, set);
        if (*end == ',') end++;
        else if (*end) goto bad;
        p = end;
    }
    if (CPU_COUNT(set) == 0) goto bad;
    return OFF_OK;
bad:
    return off_fail(OFF_EARG, "bad CPU list '%s': use forms like 0, 0-1 or 0,2", spec);
}
