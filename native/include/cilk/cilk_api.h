/* cilk/cilk_api.h — the Cilk runtime's API for programs built with dnn-cc. Cilk workers are the
 * OpenMP threads dnn.cilkpp runs spawns and _Cilk_for on, so each call maps onto OpenMP:
 *
 *   __cilkrts_set_param("nworkers", "N")  the number of workers (threads) from now on; 0 on
 *                                          success, non-zero for an unknown parameter or value
 *   __cilkrts_get_nworkers()               the number set so, else workers in the current team
 *                                          (outside one: the next). A function that spawns runs
 *                                          in a team from its start (keywords.py), so main's team
 *                                          is made before main can set the number: its spawns
 *                                          keep that team, but the count reads as set
 *   __cilkrts_get_total_workers()          the same
 *   __cilkrts_get_worker_number()          0 .. nworkers - 1, this worker
 *   __cilkrts_synched()                    1 when the calling frame has no spawned child running
 *   __cilkrts_end_cilk(), __cilkrts_init() accepted; nothing to do
 */
#ifndef DNN_CILK_CILK_API_H
#define DNN_CILK_CILK_API_H

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { __CILKRTS_SET_PARAM_SUCCESS = 0, __CILKRTS_SET_PARAM_UNIMP = 1, __CILKRTS_SET_PARAM_XRANGE = 2,
       __CILKRTS_SET_PARAM_INVALID = 3, __CILKRTS_SET_PARAM_LATE = 4 };

/* the number of workers __cilkrts_set_param set (0: none set), one for the whole program */
__attribute__((weak)) int __cilkpp_nworkers_set;

static inline int __cilkrts_set_param(const char *param, const char *value)
{
    if (strcmp(param, "nworkers") != 0) return __CILKRTS_SET_PARAM_UNIMP;
    char *end;
    long n = strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0') return __CILKRTS_SET_PARAM_INVALID;
    if (n < 0 || n > 4096) return __CILKRTS_SET_PARAM_XRANGE;
    int workers = n == 0 ? omp_get_num_procs() : (int)n; /* 0: as many as processors */
    omp_set_num_threads(workers);
    __cilkpp_nworkers_set = workers;
    return __CILKRTS_SET_PARAM_SUCCESS;
}

static inline int __cilkrts_get_nworkers(void)
{
#ifdef CILK_STUB /* <cilk/cilk_stub.h>: the program runs serially */
    return 1;
#else
    if (__cilkpp_nworkers_set > 0) return __cilkpp_nworkers_set;
    return omp_get_level() > 0 ? omp_get_num_threads() : omp_get_max_threads();
#endif
}

static inline int __cilkrts_get_total_workers(void) { return __cilkrts_get_nworkers(); }
static inline int __cilkrts_get_worker_number(void) { return omp_get_thread_num(); }
/* the flag dnn.cilkpp keeps per frame (keywords.py; a function that does not spawn sees the
 * prelude's constant 0) */
#define __cilkrts_synched() (!__cilkpp_spawned)
static inline void __cilkrts_end_cilk(void) {}
static inline void __cilkrts_init(void) {}

#ifdef __cplusplus
}
#endif
#endif
