/* tsan_sync.c — tell ThreadSanitizer about the hand-overs OpenMP makes and it cannot see.
 *
 * libgomp starts and ends a parallel region with futexes in code that is not instrumented, so
 * TSan takes what the caller wrote before `omp parallel` and what the workers wrote before its
 * end as racing with the other side. A release before the fork (and at each thread's end of the
 * region) and an acquire after it (and after the join) on one address state the order libgomp
 * gives. Without -fsanitize=thread both are empty functions. */
#include "dnn.h"

#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
void dnn_tsan_acquire(void *addr) { __tsan_acquire(addr); }
void dnn_tsan_release(void *addr) { __tsan_release(addr); }
#else
void dnn_tsan_acquire(void *addr) { (void)addr; }
void dnn_tsan_release(void *addr) { (void)addr; }
#endif
