/* bench_offload.c — the card runtime's costs, measured: round-trip latency of an empty offload,
 * the wake-up cost of a sleeping card, explicit transfer bandwidth against memcpy, and how
 * closely the link model is met. Built and run by tools/bench_offload.py, which prints the table:
 *
 *   python -m dnn._build --c-test tools/bench_offload.c build/bench_offload
 *   build/bench_offload dnn/bin/dnn-card [latency|bandwidth|link]... [--quick] [--cpus=LIST]
 *
 * One JSON object per line on stdout, every figure a median over repeated runs (with the count);
 * baselines (memcpy, a bare ping-pong between two processes) are measured in the same run,
 * interleaved with what they are compared against, so machine noise hits both alike. */
#define _GNU_SOURCE
#include "off_runtime.h"

#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *card_exe;
static const char *card_cpus; /* NULL: the card may run anywhere (the default of the runtime) */
static int quick;

#define MiB (1024.0 * 1024.0)

static void die(const char *what)
{
    fprintf(stderr, "bench_offload: %s: %s\n", what, off_last_error());
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* q-quantile of v[0..n) (sorts v) */
static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double pos = q * (n - 1);
    int i = (int)pos;
    if (i + 1 >= n) return v[n - 1];
    return v[i] + (pos - i) * (v[i + 1] - v[i]);
}
static double median(double *v, int n) { return quantile(v, n, 0.5); }

static off_card *open_card(const char *link)
{
    off_config cfg = {.threads = 1, .cpus = card_cpus, .link = link, .arena_bytes = 16u << 20, .card_exe = card_exe};
    off_card *c = NULL;
    if (off_card_open(&cfg, &c) != OFF_OK) die("open card");
    return c;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ---- baseline: a bare ping-pong between two processes on a shared word ----------------------- */

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *)w, op, val, NULL, NULL, 0);
}

/* Round trip of one word flipped host -> child -> host: spinning, or sleeping on a futex. */
static double pingpong_us(int use_futex, int n)
{
    _Atomic uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    atomic_store(w, 0);
    pid_t pid = fork();
    if (pid == 0) {
        for (uint32_t k = 1; k < 2u * (uint32_t)n; k += 2) {
            while (atomic_load(w) != k)
                if (use_futex) futex(w, FUTEX_WAIT, k - 1);
                else __builtin_ia32_pause();
            atomic_store(w, k + 1);
            if (use_futex) futex(w, FUTEX_WAKE, 1);
        }
        _exit(0);
    }
    double *t = malloc(sizeof(double) * (size_t)n);
    uint32_t k = 1;
    for (int i = 0; i < n; i++, k += 2) {
        double t0 = off_now();
        atomic_store(w, k);
        if (use_futex) futex(w, FUTEX_WAKE, 1);
        while (atomic_load(w) != k + 1)
            if (use_futex) futex(w, FUTEX_WAIT, k);
            else __builtin_ia32_pause();
        t[i] = off_now() - t0;
    }
    waitpid(pid, NULL, 0);
    double m = median(t, n) * 1e6;
    free(t);
    munmap((void *)w, 4096);
    return m;
}

/* ---- 1. latency of an empty offload --------------------------------------------------------- */

static void latency(void)
{
    off_card *c = open_card("none");
    int rounds = quick ? 3 : 7, per = quick ? 2000 : 5000;
    for (int i = 0; i < 2000; i++) /* warm-up: pages, caches, the card's first calls */
        if (off_call(c, "off_test_nop", NULL, 0, NULL, 0, NULL, NULL) != OFF_OK) die("nop");

    /* Back to back: the card is still spinning when the next request comes. Each round gives a
     * median; the figure is the median of the rounds, next to a bare spin ping-pong. */
    double *t = malloc(sizeof(double) * (size_t)per), med[16], p90[16], spin[16];
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < per; i++) {
            double t0 = off_now();
            if (off_call(c, "off_test_nop", NULL, 0, NULL, 0, NULL, NULL) != OFF_OK) die("nop");
            t[i] = off_now() - t0;
        }
        med[r] = median(t, per) * 1e6;
        p90[r] = quantile(t, per, 0.9) * 1e6;
        spin[r] = pingpong_us(0, per / 4);
    }
    double futex_us = pingpong_us(1, quick ? 500 : 2000);
    printf("{\"section\":\"latency\",\"case\":\"back-to-back\",\"link\":\"none\",\"median_us\":%.3f,"
           "\"p90_us\":%.3f,\"spin_pingpong_us\":%.3f,\"futex_pingpong_us\":%.3f,\"rounds\":%d,\"calls\":%d}\n",
           median(med, rounds), median(p90, rounds), median(spin, rounds), futex_us, rounds, per);
    fflush(stdout);

    /* Idle, then call: after the runtime's spin (100 us) the card sleeps on its futex and the
     * call pays the wake-up. Gaps are in-between the calls, measured one call at a time. */
    const double gaps[] = {20e-6, 200e-6, 1e-3, 10e-3};
    const int counts[] = {2000, 1000, 400, 60};
    for (int g = 0; g < 4; g++) {
        int n = quick ? counts[g] / 4 : counts[g];
        for (int i = 0; i < n; i++) {
            double until = off_now() + gaps[g];
            if (gaps[g] > 300e-6) sleep_s(gaps[g] - 150e-6);
            while (off_now() < until) __builtin_ia32_pause();
            double t0 = off_now();
            if (off_call(c, "off_test_nop", NULL, 0, NULL, 0, NULL, NULL) != OFF_OK) die("nop");
            t[i] = off_now() - t0;
        }
        printf("{\"section\":\"latency\",\"case\":\"idle\",\"gap_us\":%.0f,\"link\":\"none\",\"median_us\":%.3f,"
               "\"p90_us\":%.3f,\"calls\":%d}\n",
               gaps[g] * 1e6, median(t, n) * 1e6, quantile(t, n, 0.9) * 1e6, n);
        fflush(stdout);
    }
    free(t);
    off_card_destroy(c);
}

/* ---- 2. explicit bandwidth against memcpy --------------------------------------------------- */

static void *prefaulted(size_t n, int byte)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, n) != 0) die("host memory");
    memset(p, byte, n);
    return p;
}

static void bandwidth(void)
{
    off_card *c = open_card("none");
    const size_t sizes[] = {1u << 20, 16u << 20, 256u << 20};
    const int reps[] = {300, 40, 7};
    for (int s = 0; s < 3; s++) {
        size_t n = sizes[s];
        int R = quick ? (reps[s] + 3) / 4 : reps[s];
        char *host = prefaulted(n, 1), *dst = prefaulted(n, 2);
        /* The card buffer is made once and stays resident: the first `in` faults its pages in,
         * every later one lands in memory the card has touched. */
        off_xfer first = {host, n, OFF_IN | OFF_ALLOC_IF, 0, NULL};
        off_xfer in = {host, n, OFF_IN, 0, NULL};
        off_xfer out = {host, n, OFF_OUT, 0, NULL};
        off_xfer last = {host, n, OFF_NOCOPY | OFF_FREE_IF, 0, NULL};
        if (off_call(c, NULL, NULL, 0, &first, 1, NULL, NULL) != OFF_OK) die("alloc");
        for (int w = 0; w < 2; w++) { /* warm-up */
            memcpy(dst, host, n);
            if (off_call(c, NULL, NULL, 0, &in, 1, NULL, NULL) != OFF_OK) die("in");
            if (off_call(c, NULL, NULL, 0, &out, 1, NULL, NULL) != OFF_OK) die("out");
        }
        double *tm = malloc(sizeof(double) * 6 * (size_t)R);
        double *ti = tm + R, *to = tm + 2 * R, *ri = tm + 3 * R, *ro = tm + 4 * R, *xs = tm + 5 * R;
        off_stats st;
        for (int r = 0; r < R; r++) { /* interleaved: memcpy, in, out */
            double t0 = off_now();
            memcpy(dst, host, n);
            tm[r] = off_now() - t0;
            t0 = off_now();
            if (off_call(c, NULL, NULL, 0, &in, 1, NULL, NULL) != OFF_OK) die("in");
            ti[r] = off_now() - t0;
            off_card_stats(c, NULL, &st);
            xs[r] = st.transfer_s;
            t0 = off_now();
            if (off_call(c, NULL, NULL, 0, &out, 1, NULL, NULL) != OFF_OK) die("out");
            to[r] = off_now() - t0;
            ri[r] = tm[r] / ti[r];
            ro[r] = tm[r] / to[r];
        }
        /* memcpy as the receiver sees it: the call's whole wall time counts for the transfer. */
        double mm = median(tm, R), mi = median(ti, R), mo = median(to, R);
        printf("{\"section\":\"bandwidth\",\"bytes\":%zu,\"link\":\"none\",\"memcpy_GBs\":%.3f,\"in_GBs\":%.3f,"
               "\"out_GBs\":%.3f,\"in_vs_memcpy\":%.4f,\"out_vs_memcpy\":%.4f,\"in_transfer_s_GBs\":%.3f,\"reps\":%d}\n",
               n, n / mm / 1e9, n / mi / 1e9, n / mo / 1e9, median(ri, R), median(ro, R),
               n / median(xs, R) / 1e9, R);
        fflush(stdout);
        if (off_call(c, NULL, NULL, 0, &last, 1, NULL, NULL) != OFF_OK) die("free");
        free(tm);
        free(host);
        free(dst);
    }
    off_card_destroy(c);
}

/* ---- 3. the link model: measured against modelled transfer time ------------------------------ */

static void link_model(const char *link)
{
    off_card *c = open_card(link);
    const size_t sizes[] = {4u << 10, 64u << 10, 1u << 20, 16u << 20, 256u << 20};
    const int reps[] = {1000, 500, 100, 20, 5};
    for (int s = 0; s < 5; s++) {
        size_t n = sizes[s];
        int R = quick ? (reps[s] + 3) / 4 : reps[s];
        char *host = prefaulted(n, 3);
        off_xfer first = {host, n, OFF_IN | OFF_ALLOC_IF, 0, NULL};
        off_xfer dir[2] = {{host, n, OFF_IN, 0, NULL}, {host, n, OFF_OUT, 0, NULL}};
        off_xfer last = {host, n, OFF_NOCOPY | OFF_FREE_IF, 0, NULL};
        if (off_call(c, NULL, NULL, 0, &first, 1, NULL, NULL) != OFF_OK) die("alloc");
        double *v = malloc(sizeof(double) * 4 * (size_t)R);
        double *elapsed = v, *real = v + R, *wall = v + 2 * R, *model = v + 3 * R;
        for (int d = 0; d < 2; d++) {
            for (int w = 0; w < 2; w++)
                if (off_call(c, NULL, NULL, 0, &dir[d], 1, NULL, NULL) != OFF_OK) die("warm-up");
            for (int r = 0; r < R; r++) {
                double t0 = off_now();
                if (off_call(c, NULL, NULL, 0, &dir[d], 1, NULL, NULL) != OFF_OK) die("transfer");
                double t1 = off_now();
                off_stats st;
                off_card_stats(c, NULL, &st);
                elapsed[r] = st.transfer_s / st.transfer_model_s;
                real[r] = st.transfer_real_s / st.transfer_model_s;
                wall[r] = (t1 - t0) / st.transfer_model_s;
                model[r] = st.transfer_model_s;
            }
            printf("{\"section\":\"link\",\"link\":\"%s\",\"dir\":\"%s\",\"bytes\":%zu,\"model_us\":%.3f,"
                   "\"measured_over_model\":%.4f,\"measured_p90_over_model\":%.4f,\"real_over_model\":%.4f,"
                   "\"wall_over_model\":%.4f,\"reps\":%d}\n",
                   off_card_link_name(c), d ? "out" : "in", n, median(model, R) * 1e6, median(elapsed, R),
                   quantile(elapsed, R, 0.9), median(real, R), median(wall, R), R);
            fflush(stdout);
        }
        if (off_call(c, NULL, NULL, 0, &last, 1, NULL, NULL) != OFF_OK) die("free");
        free(v);
        free(host);
    }
    off_card_destroy(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_offload CARD_EXE [latency|bandwidth|link[=SPEC]]... [--quick] [--cpus=LIST]\n");
        return 2;
    }
    card_exe = argv[1];
    alarm(600); /* nothing here may hang a benchmark run */
    int any = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strncmp(argv[i], "--cpus=", 7) == 0) card_cpus = argv[i] + 7;
    }
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0) continue;
        any = 1;
        if (strcmp(argv[i], "latency") == 0) latency();
        else if (strcmp(argv[i], "bandwidth") == 0) bandwidth();
        else if (strcmp(argv[i], "link") == 0) link_model("knc-pcie");
        else if (strncmp(argv[i], "link=", 5) == 0) link_model(argv[i] + 5);
        else {
            fprintf(stderr, "bench_offload: unknown section '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!any) {
        latency();
        bandwidth();
        link_model("knc-pcie");
    }
    return 0;
}
