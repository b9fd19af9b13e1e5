/* cilk_offload.h — the Cilk Plus keyword layer on dnn's runtime, for code written in plain C
 * until the Cilk Plus front end (dnn/cilkpp) translates the real syntax.
 *
 *   _Cilk_shared                 marks data that lives in the shared arena (documentation only:
 *                                place it there with _Offload_shared_malloc)
 *   _Offload_shared_malloc(n)    allocate in the arena of the side this runs on
 *   _Cilk_offload(f, a, b, ...)  run kernel f on the default card, synchronously; with no card
 *                                open, run it here (host mode), as an offload compiler does
 *                                when no coprocessor is present. Returns an OFF_* status.
 *   sec_reduce_add(v, s, n)      __sec_reduce_add(v[s:n]); likewise _max, _min
 *   sec_add(y, x, n)             y[0:n] += x[0:n]; and a few more element-wise forms
 *
 * The Array Notation helpers are vectorised with `#pragma omp simd` (compile with -fopenmp or
 * -fopenmp-simd), never with -ffast-math. Each has a plain-loop reference (*_ref) for tests.
 */
#ifndef DNN_CILK_OFFLOAD_H
#define DNN_CILK_OFFLOAD_H

#include "off_runtime.h"

#include <math.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _Cilk_shared /* data in the shared arena: allocate it with _Offload_shared_malloc */

void *_Offload_shared_malloc(size_t size);
void *_Offload_shared_aligned_malloc(size_t size, size_t align);
void _Offload_shared_free(void *p);
void _Offload_shared_aligned_free(void *p);

off_card *off_default_card(void);
void off_set_default_card(off_card *c);
extern off_arena *off_current_arena;

/* ---- _Cilk_offload ----------------------------------------------------------------------- */

static inline off_arg off_ptr_any(const void *p) { return off_ptr(p); }

#define OFF_ARG(x)                                                                               \
    _Generic((x), float: off_f64, double: off_f64, _Bool: off_i64, char: off_i64,                \
             signed char: off_i64, unsigned char: off_i64, short: off_i64,                      \
             unsigned short: off_i64, int: off_i64, unsigned: off_i64, long: off_i64,          \
             unsigned long: off_i64, long long: off_i64, unsigned long long: off_i64,          \
             default: off_ptr_any)(x)

#define OFF_NARGS(...) OFF_NARGS_(__VA_ARGS__ __VA_OPT__(,) 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define OFF_NARGS_(a1, a2, a3, a4, a5, a6, a7, a8, N, ...) N
#define OFF_MAP0()
#define OFF_MAP1(a) OFF_ARG(a)
#define OFF_MAP2(a, ...) OFF_ARG(a), OFF_MAP1(__VA_ARGS__)
#define OFF_MAP3(a, ...) OFF_ARG(a), OFF_MAP2(__VA_ARGS__)
#define OFF_MAP4(a, ...) OFF_ARG(a), OFF_MAP3(__VA_ARGS__)
#define OFF_MAP5(a, ...) OFF_ARG(a), OFF_MAP4(__VA_ARGS__)
#define OFF_MAP6(a, ...) OFF_ARG(a), OFF_MAP5(__VA_ARGS__)
#define OFF_MAP7(a, ...) OFF_ARG(a), OFF_MAP6(__VA_ARGS__)
#define OFF_MAP8(a, ...) OFF_ARG(a), OFF_MAP7(__VA_ARGS__)
#define OFF_CAT_(a, b) a##b
#define OFF_CAT(a, b) OFF_CAT_(a, b)
#define OFF_ARGS(...) OFF_CAT(OFF_MAP, OFF_NARGS(__VA_ARGS__))(__VA_ARGS__)

static inline int off_offload_default(const char *kernel, const off_arg *args, int nargs)
{
    off_card *c = off_default_card();
    if (!c) return off_run_local(kernel, args, nargs, 1, NULL, NULL);
    return off_call(c, kernel, args, nargs, NULL, 0, NULL, NULL);
}

#define _Cilk_offload(f, ...)                                                                    \
    off_offload_default(#f, (const off_arg[OFF_MAX_ARGS]){OFF_ARGS(__VA_ARGS__)},               \
                        OFF_NARGS(__VA_ARGS__))

/* ---- Array Notation helpers ---------------------------------------------------------------- */

/* __sec_reduce_add(v[start:n]) */
static inline float sec_reduce_add(const float *v, long start, long n)
{
    float s = 0.0f;
    const float *p = v + start;
#pragma omp simd reduction(+ : s)
    for (long i = 0; i < n; i++) s += p[i];
    return s;
}

/* __sec_reduce_max(v[start:n]); -INFINITY for n == 0 */
static inline float sec_reduce_max(const float *v, long start, long n)
{
    float m = -INFINITY;
    const float *p = v + start;
#pragma omp simd reduction(max : m)
    for (long i = 0; i < n; i++) m = p[i] > m ? p[i] : m;
    return m;
}

/* __sec_reduce_min(v[start:n]); +INFINITY for n == 0 */
static inline float sec_reduce_min(const float *v, long start, long n)
{
    float m = INFINITY;
    const float *p = v + start;
#pragma omp simd reduction(min : m)
    for (long i = 0; i < n; i++) m = p[i] < m ? p[i] : m;
    return m;
}

/* y[0:n] += x[0:n] */
static inline void sec_add(float *restrict y, const float *restrict x, long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) y[i] += x[i];
}

/* y[0:n] += a * x[0:n] */
static inline void sec_axpy(float *restrict y, float a, const float *restrict x, long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) y[i] += a * x[i];
}

/* y[0:n] = a * y[0:n] + x[0:n]  (momentum: v = mu * v + g) */
static inline void sec_scale_add(float *restrict y, float a, const float *restrict x, long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) y[i] = a * y[i] + x[i];
}

/* y[0:n] *= a */
static inline void sec_scale(float *y, float a, long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) y[i] *= a;
}

/* y[0:n] *= x[0:n] */
static inline void sec_mul(float *restrict y, const float *restrict x, long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) y[i] *= x[i];
}

/* y[0:n] = a */
static inline void sec_fill(float *y, float a, long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) y[i] = a;
}

/* ---- plain-loop references (tests compare the helpers with these) ---- */
static inline float sec_reduce_add_ref(const float *v, long start, long n)
{
    float s = 0.0f;
    for (long i = 0; i < n; i++) s += v[start + i];
    return s;
}
static inline float sec_reduce_max_ref(const float *v, long start, long n)
{
    float m = -INFINITY;
    for (long i = 0; i < n; i++)
        if (v[start + i] > m) m = v[start + i];
    return m;
}
static inline float sec_reduce_min_ref(const float *v, long start, long n)
{
    float m = INFINITY;
    for (long i = 0; i < n; i++)
        if (v[start + i] < m) m = v[start + i];
    return m;
}

#ifdef __cplusplus
}
#endif
#endif
