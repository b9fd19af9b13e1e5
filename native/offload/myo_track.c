/* myo_track.c — which pages of one side's copy of the arena were written: the write tracking
 * MYO coherence rests on (myo.c), in one of two ways.
 *
 *   mprotect — pages are read-only after a synchronisation point; the first write to each faults
 *              (SIGSEGV) and myo.c's handler marks the page and opens it. One signal and two
 *              mprotect calls per page written.
 *   uffd     — Linux >= 6.7: the range is registered with userfaultfd for write protection in
 *              asynchronous mode, so a write to a protected page is let through by the kernel
 *              with no signal, and the PAGEMAP_SCAN ioctl returns the pages written since the last
 *              scan and protects them again, in one call per boundary.
 *
 * The uffd way is used where the kernel offers it; DNN_MYO_TRACKING=mprotect or =uffd forces one
 * (a forced uffd that the kernel refuses is an error, so a test that asks for it gets it).
 * Both report the same pages: a page is written iff the side stored into it since the last
 * boundary, except pages myo.c fills itself (fetches), which off_myo_track_rearm takes back.
 * A scan may also only report (pages stay writable): the card's owned pages (myo_own.c).
 */
#define _GNU_SOURCE
#include "myo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096u

#include "uffd_compat.h"

/* How many written runs one scan call returns; more are fetched by calling again. */
#define TRACK_REGIONS 256

static int track_wanted(void)
{
    const char *s = getenv("DNN_MYO_TRACKING");
    if (!s || !*s) return 0;
    if (strcmp(s, "uffd") == 0) return OFF_MYO_TRACK_UFFD;
    if (strcmp(s, "mprotect") == 0) return OFF_MYO_TRACK_MPROTECT;
    return -1;
}

static int track_protect(off_myo_tracker *t, char *start, size_t len)
{
    struct uffdio_writeprotect wp = {{(uintptr_t)start, len}, UFFDIO_WRITEPROTECT_MODE_WP};
    return ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp);
}

/* userfaultfd in async write-protect mode over the range, and /proc/self/pagemap to scan it. */
static int track_open_uffd(off_myo_tracker *t)
{
    t->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (t->uffd < 0) return -1;
    struct uffdio_api api = {UFFD_API, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, 0};
    struct uffdio_register reg = {{(uintptr_t)t->base, t->size}, UFFDIO_REGISTER_MODE_WP, 0};
    if (ioctl(t->uffd, UFFDIO_API, &api) != 0 || ioctl(t->uffd, UFFDIO_REGISTER, &reg) != 0 ||
        track_protect(t, t->base, t->size) != 0)
        return -1;
    t->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (t->pagemap < 0) return -1;
    /* A first scan proves the kernel has PAGEMAP_SCAN (6.7+), not only the uffd features. */
    struct page_region r[1];
    struct pm_scan_arg a = {sizeof a, PM_SCAN_CHECK_WPASYNC, (uintptr_t)t->base, (uintptr_t)t->base + t->size,
                            0, (uintptr_t)r, 1, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN};
    return ioctl(t->pagemap, PAGEMAP_SCAN, &a) < 0 ? -1 : 0;
}

static void track_close_uffd(off_myo_tracker *t)
{
    if (t->uffd >= 0) {
        struct uffdio_range r = {(uintptr_t)t->base, t->size};
        ioctl(t->uffd, UFFDIO_UNREGISTER, &r);
        close(t->uffd);
    }
    if (t->pagemap >= 0) close(t->pagemap);
    t->uffd = t->pagemap = -1;
}

int off_myo_track_start(off_myo_tracker *t, char *base, size_t size)
{
    t->base = base, t->size = size, t->uffd = t->pagemap = -1;
    int want = track_wanted();
    if (want < 0) return off_fail(OFF_EARG, "DNN_MYO_TRACKING must be uffd or mprotect");
    t->kind = OFF_MYO_TRACK_MPROTECT;
    if (want == OFF_MYO_TRACK_MPROTECT) return OFF_OK;
    if (track_open_uffd(t) == 0) {
        t->kind = OFF_MYO_TRACK_UFFD;
        return OFF_OK;
    }
    int err = errno;
    track_close_uffd(t);
    if (want == OFF_MYO_TRACK_UFFD)
        return off_fail(OFF_ESYS, "DNN_MYO_TRACKING=uffd, but userfaultfd write-protection with PAGEMAP_SCAN "
                        "is not available here (Linux 6.7 or newer, and userfaultfd allowed): %s", strerror(err));
    return OFF_OK;
}

/* Pages [first, end) of the range: written ones are set in `written` (protected again unless
 * only reporting). Returns the pages found, or minus an OFF_E* code. */
static int track_scan_pages(off_myo_tracker *t, _Atomic uint8_t *written, int report_only, size_t first, size_t end_page)
{
    struct page_region r[TRACK_REGIONS];
    uint64_t start = (uintptr_t)t->base + first * PAGE, end = (uintptr_t)t->base + end_page * PAGE;
    const uint64_t flags = report_only ? PM_SCAN_CHECK_WPASYNC : PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
    int found = 0;
    while (start < end) {
        struct pm_scan_arg a = {sizeof a, flags, start, end, 0,
                                (uintptr_t)r, TRACK_REGIONS, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN};
        long n = ioctl(t->pagemap, PAGEMAP_SCAN, &a);
        if (n < 0) return -off_fail(OFF_ESYS, "PAGEMAP_SCAN failed: %s", strerror(errno));
        for (long i = 0; i < n; i++)
            for (uint64_t p = (r[i].start - (uintptr_t)t->base) / PAGE; p < (r[i].end - (uintptr_t)t->base) / PAGE; p++) {
                atomic_store(&written[p], 1);
                found++;
            }
        if (n < TRACK_REGIONS || a.walk_end <= start) break;
        start = a.walk_end; /* the vector filled up before the end: go on from there */
    }
    return found;
}

int off_myo_track_scan(off_myo_tracker *t, _Atomic uint8_t *written, _Atomic uint8_t *skip)
{
    if (t->kind != OFF_MYO_TRACK_UFFD) return 0;
    const size_t npages = t->size / PAGE;
    if (!skip) return track_scan_pages(t, written, 0, 0, npages);
    /* Only the runs of pages not skipped are walked: the kernel's walk costs per page. */
    int found = 0;
    size_t p = 0;
    while (p < npages) {
        if (atomic_load(&skip[p])) {
            p++;
            continue;
        }
        size_t q = p;
        while (q < npages && !atomic_load(&skip[q])) q++;
        int n = track_scan_pages(t, written, 1, p, q);
        if (n < 0) return n;
        found += n;
        p = q;
    }
    return found;
}

void off_myo_track_rearm(off_myo_tracker *t, size_t page, size_t n)
{
    if (t->kind == OFF_MYO_TRACK_UFFD) track_protect(t, t->base + page * PAGE, n * PAGE);
}

void off_myo_track_stop(off_myo_tracker *t)
{
    if (t->kind == OFF_MYO_TRACK_UFFD) track_close_uffd(t);
    t->kind = 0;
}
