/* bench_wake.c — where the wake-up of a sleeping card goes: a bare futex wake between two
 * processes, no runtime in between, with the sleeper placed three ways:
 *
 *   other-idle  sleeper pinned to the other CPU, which has nothing else to run (it halts)
 *   other-busy  the same, with a third process spinning on the sleeper's CPU (it never halts)
 *   same        sleeper pinned to the waker's CPU (no inter-processor wake-up at all)
 *
 * For each: the FUTEX_WAKE syscall's own time, and from the wake to the sleeper running (both
 * clocks are CLOCK_MONOTONIC, shared by the processes). Then the runtime's answer to it: an
 * empty offload after 1 ms of idle, with the card's linger spin off and on.
 *
 *   python -m dnn._build --c-test tools/bench_wake.c build/bench_wake
 *   build/bench_wake dnn/bin/dnn-card [--quick]
 *
 * One JSON object per line: medians and 90th percentiles in microseconds. */
#define _GNU_SOURCE
#include "off_runtime.h"

#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    _Atomic uint32_t word;
    _Atomic uint32_t asleep;
    _Atomic double woke_at;
} wake_shared;

static int wake_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double wake_quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, wake_cmp);
    return v[(int)(q * (n - 1))];
}

static void wake_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static void wake_sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static pid_t wake_spinner(int cpu)
{
    pid_t pid = fork();
    if (pid == 0) {
        wake_pin(cpu);
        for (;;) __builtin_ia32_pause();
    }
    return pid;
}

/* The sleeper waits on `word` for each new value; the waker bumps it after `gap` of idle. */
static void wake_case(const char *name, int waker_cpu, int sleeper_cpu, int busy, int n, double gap)
{
    wake_shared *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(sh, 0, sizeof *sh);
    pid_t spin = busy ? wake_spinner(sleeper_cpu) : 0;
    pid_t pid = fork();
    if (pid == 0) {
        wake_pin(sleeper_cpu);
        for (uint32_t k = 0; k < (uint32_t)n; k++) {
            atomic_store(&sh->asleep, 1);
            while (atomic_load(&sh->word) == k) syscall(SYS_futex, &sh->word, FUTEX_WAIT, k, NULL, NULL, 0);
            atomic_store(&sh->woke_at, off_now());
            atomic_store(&sh->asleep, 0);
        }
        _exit(0);
    }
    wake_pin(waker_cpu);
    double *sys = malloc(sizeof(double) * (size_t)n), *lat = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) {
        while (!atomic_load(&sh->asleep)) sched_yield();
        wake_sleep_s(gap);                          /* the sleeper is in FUTEX_WAIT by now */
        atomic_store(&sh->woke_at, 0.0);
        double t0 = off_now();
        atomic_fetch_add(&sh->word, 1);
        syscall(SYS_futex, &sh->word, FUTEX_WAKE, 1, NULL, NULL, 0);
        double t1 = off_now();
        double woke;
        while ((woke = atomic_load(&sh->woke_at)) == 0.0) sched_yield(); /* as the runtime does */
        sys[i] = (t1 - t0) * 1e6;
        lat[i] = (woke - t0) * 1e6;
    }
    waitpid(pid, NULL, 0);
    if (spin) {
        kill(spin, SIGKILL);
        waitpid(spin, NULL, 0);
    }
    printf("{\"section\":\"futex\",\"case\":\"%s\",\"gap_us\":%.0f,\"wake_syscall_us\":%.2f,\"wake_to_run_us\":%.2f,"
           "\"wake_to_run_p90_us\":%.2f,\"n\":%d}\n",
           name, gap * 1e6, wake_quantile(sys, n, 0.5), wake_quantile(lat, n, 0.5), wake_quantile(lat, n, 0.9), n);
    fflush(stdout);
    free(sys);
    free(lat);
    munmap(sh, 4096);
}

static double wake_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    unsigned long ut = 0, st = 0;
    /* fields 14 and 15 (utime, stime) after the command in parentheses */
    int rc = fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    fclose(f);
    return rc == 2 ? (double)(ut + st) / (double)sysconf(_SC_CLK_TCK) : -1;
}

/* An empty offload after `gap` of idle through the runtime, with the card's linger spin set to
 * `linger` seconds; and the card's CPU time over a long idle stretch after its last call. */
static void wake_offload(const char *card_exe, double linger, int n, double gap)
{
    char value[32];
    snprintf(value, sizeof value, "%g", linger);
    setenv("DNN_CARD_LINGER_S", value, 1);
    off_config cfg = {.threads = 1, .link = "none", .arena_bytes = 16u << 20, .card_exe = card_exe};
    off_card *c = NULL;
    if (off_card_open(&cfg, &c) != OFF_OK) {
        fprintf(stderr, "bench_wake: %s\n", off_last_error());
        exit(1);
    }
    double *t = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < 200; i++) off_call(c, "off_test_nop", NULL, 0, NULL, 0, NULL, NULL);
    double cpu_start = wake_cpu_s(off_card_pid(c));
    for (int i = 0; i < n; i++) {
        double until = off_now() + gap;
        if (gap > 300e-6) wake_sleep_s(gap - 150e-6);
        while (off_now() < until) __builtin_ia32_pause();
        double t0 = off_now();
        off_call(c, "off_test_nop", NULL, 0, NULL, 0, NULL, NULL);
        t[i] = (off_now() - t0) * 1e6;
    }
    double cpu0 = wake_cpu_s(off_card_pid(c));
    wake_sleep_s(1.0);
    double idle_cpu = wake_cpu_s(off_card_pid(c)) - cpu0;
    /* the card's CPU per call (its spin included; /proc counts in 10 ms ticks, hence many calls) */
    printf("{\"section\":\"offload\",\"linger_us\":%.0f,\"gap_us\":%.0f,\"median_us\":%.2f,\"p90_us\":%.2f,"
           "\"card_cpu_us_per_call\":%.1f,\"card_cpu_s_per_idle_s\":%.3f,\"n\":%d}\n",
           linger * 1e6, gap * 1e6, wake_quantile(t, n, 0.5), wake_quantile(t, n, 0.9),
           (cpu0 - cpu_start) / n * 1e6, idle_cpu, n);
    fflush(stdout);
    free(t);
    off_card_destroy(c);
    unsetenv("DNN_CARD_LINGER_S");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_wake CARD_EXE [--quick]\n");
        return 2;
    }
    int quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    int n = quick ? 100 : 400;
    const double gaps[] = {200e-6, 1e-3, 10e-3};
    for (int g = 0; g < 3; g++) {
        int m = g == 2 ? n / 4 : n;
        wake_case("other-idle", 0, 1, 0, m, gaps[g]);
        wake_case("other-busy", 0, 1, 1, m, gaps[g]);
        wake_case("same", 0, 0, 0, m, gaps[g]);
    }
    /* The runtime, alternating linger off and on so machine noise hits both alike. */
    for (int round = 0; round < 3; round++)
        for (int g = 0; g < 3; g++)
            for (int on = 0; on < 2; on++) wake_offload(argv[1], on ? 2e-3 : 0.0, g == 2 ? n / 8 : n / 2, gaps[g]);
    return 0;
}
