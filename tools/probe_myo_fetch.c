/* probe_myo_fetch.c — where the time of an on-demand MYO page fetch and of a tracked write goes,
 * outside the runtime: the same steps as native/offload/myo*.c on two memfds of N pages.
 *
 *   fetch, RUN pages per fault: the range is PROT_NONE; a read of each page faults (SIGSEGV); the
 *     handler copies the run through a second mapping (the alias) and opens it with one mprotect.
 *     Reported per page: the whole touch loop, the handler's copy and mprotect, and the rest
 *     (fault entry, signal delivery, sigreturn), per fault.
 *   tracked write: the range is registered with userfaultfd in async write-protect mode and
 *     protected; the first write to each page takes a fault the kernel resolves itself. Against
 *     the same writes to pages already written (no fault).
 *
 * Build and run:  gcc -O2 -Inative/offload -o build/probe_myo_fetch tools/probe_myo_fetch.c
 *                 build/probe_myo_fetch [PAGES [ROUNDS]]      (default 3000 pages, 3 rounds) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "uffd_compat.h"

#define PAGE 4096u

static char *base, *alias, *peer;
static size_t npages, run;
static unsigned char *invalid;
static volatile double t_copy, t_protect, t_handler;
static volatile long faults;

static double probe_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void probe_on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    double t0 = probe_now();
    size_t p = (size_t)((char *)si->si_addr - base) / PAGE, q = p + 1;
    while (q < npages && q < p + run && invalid[q]) q++;
    memcpy(alias + p * PAGE, peer + p * PAGE, (q - p) * PAGE);
    double t1 = probe_now();
    mprotect(base + p * PAGE, (q - p) * PAGE, PROT_READ | PROT_WRITE);
    memset(invalid + p, 0, q - p);
    double t2 = probe_now();
    t_copy += t1 - t0, t_protect += t2 - t1, t_handler += t2 - t0, faults++;
}

static void probe_fetch(size_t run_pages)
{
    run = run_pages;
    t_copy = t_protect = t_handler = 0, faults = 0;
    mprotect(base, npages * PAGE, PROT_NONE);
    memset(invalid, 1, npages);
    volatile long sink = 0;
    double t0 = probe_now();
    for (size_t i = 0; i < npages; i++) sink += base[i * PAGE + 8];
    double all = probe_now() - t0, us = 1e6 / (double)npages;
    printf("fetch, %5zu pages per fault: %6.2f us/page (copy %5.2f, mprotect %5.2f in the handler; "
           "fault entry + signal + return %5.2f us per fault)\n",
           run_pages, all * us, t_copy * us, t_protect * us, (all - t_handler) * 1e6 / (double)faults);
}

static double probe_write_pages(void)
{
    double t0 = probe_now();
    for (size_t i = 0; i < npages; i++) base[i * PAGE + 16]++;
    return (probe_now() - t0) * 1e6 / (double)npages;
}

static int probe_tracked_writes(int uffd)
{
    struct uffdio_writeprotect wp = {{(uintptr_t)base, npages * PAGE}, UFFDIO_WRITEPROTECT_MODE_WP};
    if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) != 0) return -1;
    double tracked = probe_write_pages(), open = probe_write_pages();
    printf("write, uffd async tracking: %6.2f us/page for the first write, %5.2f us/page once written\n", tracked, open);
    return 0;
}

int main(int argc, char **argv)
{
    npages = argc > 1 ? (size_t)atol(argv[1]) : 3000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    size_t size = npages * PAGE;
    int fa = memfd_create("probe-peer", 0), fb = memfd_create("probe-copy", 0);
    if (fa < 0 || fb < 0 || ftruncate(fa, (off_t)size) || ftruncate(fb, (off_t)size)) return perror("memfd"), 1;
    peer = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fa, 0);
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fb, 0);
    if (peer == MAP_FAILED || base == MAP_FAILED) return perror("mmap"), 1;
    memset(peer, 1, size);
    int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    struct uffdio_api api = {UFFD_API, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, 0};
    struct uffdio_register reg = {{(uintptr_t)base, size}, UFFDIO_REGISTER_MODE_WP, 0};
    if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg)) return perror("userfaultfd"), 1;
    alias = mremap(base, 0, size, MREMAP_MAYMOVE);
    invalid = calloc(npages, 1);
    if (alias == MAP_FAILED || !invalid) return perror("alias"), 1;
    memcpy(alias, peer, size); /* the alias's page tables filled once, as after a first epoch */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = probe_on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
    sigaction(SIGSEGV, &sa, NULL);
    for (int r = 0; r < rounds; r++) {
        probe_fetch(1);
        probe_fetch(64);
        probe_fetch(npages);
        if (probe_tracked_writes(uffd) != 0) return perror("UFFDIO_WRITEPROTECT"), 1;
    }
    return 0;
}
