/* mkl.h — what offload-era programs used of Intel's MKL, for programs built with dnn-cc: the
 * CBLAS routines they called inside offloads (cblas_?gemm, ?gemv, ?axpy, ?dot, ?scal, ?copy,
 * ?nrm2, ?asum, i?amax) and MKL's helpers (mkl_malloc / mkl_free, mkl_set_num_threads,
 * dsecnd). The routines are OpenBLAS's, the library dnn's own kernels use; its symbols carry a
 * scipy_ prefix, so each standard name is a macro for it. dnn-cc links it where a program calls
 * it (host and card alike). */
#ifndef DNN_MKL_H
#define DNN_MKL_H

#include <stddef.h>
#include <stdlib.h>
#include <omp.h>

typedef int MKL_INT;
typedef enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 } CBLAS_ORDER;
typedef CBLAS_ORDER CBLAS_LAYOUT;
typedef enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 } CBLAS_TRANSPOSE;
typedef enum CBLAS_UPLO { CblasUpper = 121, CblasLower = 122 } CBLAS_UPLO;

/* one prototype per type letter: s (float) and d (double) */
#define __DNN_MKL_LEVEL1(t, T)                                                                      \
    void scipy_cblas_##t##axpy(const int n, const T a, const T *x, const int incx, T *y, const int incy);    \
    T scipy_cblas_##t##dot(const int n, const T *x, const int incx, const T *y, const int incy);           \
    void scipy_cblas_##t##scal(const int n, const T a, T *x, const int incx);                             \
    void scipy_cblas_##t##copy(const int n, const T *x, const int incx, T *y, const int incy);            \
    T scipy_cblas_##t##nrm2(const int n, const T *x, const int incx);                                     \
    T scipy_cblas_##t##asum(const int n, const T *x, const int incx);                                     \
    size_t scipy_cblas_i##t##amax(const int n, const T *x, const int incx);                              \
    void scipy_cblas_##t##gemv(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE tr, const int m,      \
                               const int n, const T alpha, const T *a, const int lda, const T *x,         \
                               const int incx, const T beta, T *y, const int incy);                       \
    void scipy_cblas_##t##gemm(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE ta,                   \
                               const enum CBLAS_TRANSPOSE tb, const int m, const int n, const int k,     \
                               const T alpha, const T *a, const int lda, const T *b, const int ldb,      \
                               const T beta, T *c, const int ldc);
__DNN_MKL_LEVEL1(s, float)
__DNN_MKL_LEVEL1(d, double)
void scipy_openblas_set_num_threads(int n);

#define cblas_saxpy scipy_cblas_saxpy
#define cblas_daxpy scipy_cblas_daxpy
#define cblas_sdot scipy_cblas_sdot
#define cblas_ddot scipy_cblas_ddot
#define cblas_sscal scipy_cblas_sscal
#define cblas_dscal scipy_cblas_dscal
#define cblas_scopy scipy_cblas_scopy
#define cblas_dcopy scipy_cblas_dcopy
#define cblas_snrm2 scipy_cblas_snrm2
#define cblas_dnrm2 scipy_cblas_dnrm2
#define cblas_sasum scipy_cblas_sasum
#define cblas_dasum scipy_cblas_dasum
#define cblas_isamax scipy_cblas_isamax
#define cblas_idamax scipy_cblas_idamax
#define cblas_sgemv scipy_cblas_sgemv
#define cblas_dgemv scipy_cblas_dgemv
#define cblas_sgemm scipy_cblas_sgemm
#define cblas_dgemm scipy_cblas_dgemm

#define mkl_malloc(size, align) __dnn_mkl_malloc((size), (align))
#define mkl_calloc(n, size, align) __dnn_mkl_calloc((n), (size), (align))
#define mkl_free(p) free(p)
#define mkl_set_num_threads(n) scipy_openblas_set_num_threads(n)
#define mkl_get_max_threads() omp_get_max_threads()
#define dsecnd() omp_get_wtime()
#define second() omp_get_wtime()

int posix_memalign(void **memptr, size_t alignment, size_t size); /* POSIX's: -std=c99 hides it */
static inline void *__dnn_mkl_malloc(size_t size, int align)
{
    void *p = NULL;
    return posix_memalign(&p, align < (int)sizeof(void *) ? sizeof(void *) : (size_t)align, size) ? NULL : p;
}
static inline void *__dnn_mkl_calloc(size_t n, size_t size, int align)
{
    void *p = __dnn_mkl_malloc(n * size, align);
    if (p) __builtin_memset(p, 0, n * size);
    return p;
}

#endif
