/* arr.h — what the offload-array kernels (the .cilk files of native/arrays) and dnn.arrays agree on: the
 * codes of dtypes and operations, passed as int64 arguments of each kernel.
 *
 * Every kernel takes C-contiguous arrays of one dtype code; dnn.arrays decides NumPy's result
 * dtype and casts (arr_cast) before calling, so no kernel mixes element types. Keep the numbers
 * in step with dnn/arrays/codes.py. */
#ifndef ARR_H
#define ARR_H

#include <stdint.h>

/* dtype codes */
enum { ARR_F32 = 0, ARR_F64 = 1, ARR_I64 = 2, ARR_BOOL = 3 };

/* arr_binary: arithmetic ops write the operands' dtype, comparisons (from ARR_EQ on) write bool */
enum {
    ARR_ADD = 0, ARR_SUB = 1, ARR_MUL = 2, ARR_DIV = 3, ARR_MAX = 4,
    ARR_EQ = 10, ARR_NE = 11, ARR_GT = 12, ARR_LOR = 13
};

/* arr_unary */
enum { ARR_ABS = 0, ARR_NEG = 1, ARR_EXP = 2, ARR_LOG = 3 };

/* arr_reduce: over the middle axis of (n0, n1, n2) */
enum { ARR_SUM = 0, ARR_AMAX = 1, ARR_ARGMAX = 2 };

/* Elements per piece of work: big enough to amortise a task, small enough that one row of a
 * large 1-D array still spreads over every thread. */
#define ARR_PIECE 16384

/* arr_blas.c: z (M, N) = a (M, K) . b (K, N) for float32 and float64; 0 for another dtype */
int arr_gemm(int64_t dt, void *z, const void *a, const void *b, int M, int K, int N);

/* arr_tasks.c: task(t, ctx) for t in [0, n), on the card's threads only when the tasks
 * hold more than ARR_PIECE elements of work in all; a small job runs in the calling thread,
 * where handing it over would cost more than the work. The caller never waits for a helper
 * the scheduler has not woken yet (on a busy 2-core machine that took 11-16 ms): it takes the
 * helper's share itself. */
typedef void (*arr_task_fn)(int64_t t, const void *ctx);
void arr_tasks(int64_t n, int64_t work, arr_task_fn task, const void *ctx);

/* arr_stream.c: outputs of ARR_STREAM_MIN_BYTES or more are written with streaming stores
 * (past the caches: too large to be read back from them); a kernel fills ARR_STREAM_CHUNK
 * elements at a time into a buffer in L1 that is then streamed out. */
#define ARR_STREAM_MIN_BYTES ((int64_t)16 << 20)
#define ARR_STREAM_CHUNK 1024
int arr_stream_worth(int64_t bytes);
/* fill(buf, from, count, ctx) writes elements [from, from + count) of one piece into buf */
typedef void (*arr_fill_fn)(void *buf, int64_t from, int64_t count, const void *ctx);
/* z[0:n] (elements of itemsize bytes) as fill computes them, through streaming stores */
void arr_streamed(arr_fill_fn fill, const void *ctx, void *z, int64_t n, int64_t itemsize);

static inline int64_t arr_itemsize(int64_t dt) { return dt == ARR_F32 ? 4 : dt == ARR_BOOL ? 1 : 8; }
static inline int64_t arr_min64(int64_t a, int64_t b) { return a < b ? a : b; }

#endif
