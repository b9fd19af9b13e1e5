/* blas.h — GEMM through OpenBLAS (the scipy-openblas32 build, whose symbols carry a scipy_
 * prefix so they never clash with another BLAS loaded in the same process). */
#ifndef DNN_BLAS_H
#define DNN_BLAS_H
#include "cblas.h"
#define dnn_sgemm scipy_cblas_sgemm
#endif
