/* probe_lines.c — what it costs a core to read cache lines another core has just written, and then
 * to write them itself: the traffic two CHAOS workers cause each other through the shared weights
 * (every line one worker's update stores is read by the other's next forward, and taken back from
 * it by the other's own update). Outside the trainer, on N lines of 64 bytes.
 *
 * Two threads, pinned to CPUs 0 and 1, take turns: in its turn a thread reads all N lines (the
 * other thread wrote them in its turn: each line is modified in the other core's cache), then
 * writes all N lines (each now shared by both cores: the write must take it from the other), and
 * passes the turn. The same two loops on lines only one thread touches are the baseline. Reported
 * per line, medians over the turns: the read and the write of shared lines, the local ones, and
 * the difference, which is what the crossing costs a loop that streams over the lines with nothing
 * else to do (a worker between its GEMMs overlaps some of it with its own work).
 *
 * Build and run:  gcc -O2 -march=native -pthread -o build/probe_lines tools/probe_lines.c
 *                 build/probe_lines [LINES [TURNS]]      (default 2400 lines, 2000 turns) */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    _Alignas(64) uint64_t w[8];
} line;

static line *lines;    /* the lines both threads read and write */
static line *local; /* the baseline's: lines only one thread touches */
static size_t nlines, turns;
static _Alignas(64) atomic_int turn; /* whose turn: 0 or 1 */
static double *took[2][2];           /* [thread][0 read, 1 write]: seconds of each turn */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
        fprintf(stderr, "probe_lines: cannot pin a thread to CPU %d (needs 2 CPUs)\n", cpu);
        exit(1);
    }
}

/* Reads every word of the n lines; returns their sum, so the loads are not dropped. */
static uint64_t read_lines(const line *l, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 8; k++) sum += l[i].w[k];
    return sum;
}

/* Writes every word of the n lines (a whole line per step, as the SGD step's masked store). */
static void write_lines(line *l, size_t n, uint64_t v)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 8; k++) l[i].w[k] = v + (uint64_t)k;
}

static volatile uint64_t sink;

static void *run(void *arg)
{
    const int me = (int)(intptr_t)arg;
    pin(me);
    for (size_t t = 0; t < turns; t++) {
        while (atomic_load_explicit(&turn, memory_order_acquire) != me) {
        }
        const double t0 = now();
        sink += read_lines(lines, nlines);
        const double t1 = now();
        write_lines(lines, nlines, t);
        const double t2 = now();
        took[me][0][t] = t1 - t0, took[me][1][t] = t2 - t1;
        atomic_store_explicit(&turn, 1 - me, memory_order_release);
    }
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_ns_per_line(double *s, size_t n)
{
    qsort(s, n, sizeof *s, by_value);
    return 1e9 * s[n / 2] / (double)nlines;
}

int main(int argc, char **argv)
{
    nlines = argc > 1 ? strtoul(argv[1], NULL, 10) : 2400;
    turns = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
    if (nlines == 0 || turns < 10) {
        fprintf(stderr, "usage: probe_lines [LINES >= 1 [TURNS >= 10]]\n");
        return 2;
    }
    lines = aligned_alloc(64, nlines * sizeof(line));
    local = aligned_alloc(64, nlines * sizeof(line));
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++) took[i][k] = calloc(turns, sizeof(double));
    memset(lines, 0, nlines * sizeof(line));

    /* the baseline: one thread, its own lines, the same loops (warm: in its own cache) */
    pin(0);
    memset(local, 0, nlines * sizeof(line));
    double *lr = calloc(turns, sizeof(double)), *lw = calloc(turns, sizeof(double));
    for (size_t t = 0; t < turns; t++) {
        const double t0 = now();
        sink += read_lines(local, nlines);
        const double t1 = now();
        write_lines(local, nlines, t);
        const double t2 = now();
        lr[t] = t1 - t0, lw[t] = t2 - t1;
    }

    pthread_t th[2];
    atomic_store(&turn, 0);
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, run, (void *)(intptr_t)i);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);

    /* turn 0 of thread 0 reads lines nobody wrote yet: leave the first turns out */
    double *sr = calloc(2 * turns, sizeof(double)), *sw = calloc(2 * turns, sizeof(double));
    size_t m = 0;
    for (int i = 0; i < 2; i++)
        for (size_t t = 2; t < turns; t++) sr[m] = took[i][0][t], sw[m] = took[i][1][t], m++;
    const double r0 = median_ns_per_line(lr, turns), w0 = median_ns_per_line(lw, turns);
    const double r1 = median_ns_per_line(sr, m), w1 = median_ns_per_line(sw, m);
    printf("%zu lines, %zu turns per thread, CPUs 0 and 1; ns per line, medians\n", nlines, turns);
    printf("read:  %6.2f  the other core wrote them   %6.2f  own lines   crossing %+6.2f\n", r1, r0, r1 - r0);
    printf("write: %6.2f  both cores hold them        %6.2f  own lines   crossing %+6.2f\n", w1, w0, w1 - w0);
    printf("read + write crossing: %.2f ns per line\n", (r1 - r0) + (w1 - w0));
    return 0;
}
