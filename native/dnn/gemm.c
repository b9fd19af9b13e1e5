/* gemm.c — the trainer's three GEMMs, through BLAS, and the one thread pool they run on.
 *
 * One thread pool for everything: OpenBLAS runs its parallel work on the OpenMP threads that
 * also run the element-wise loops. Left alone, OpenBLAS keeps its own pthread pool; on a 2-core
 * card both pools spin between calls and steal each other's cores (measured: 784-800-800-10 at
 * bunch 100 ran 6x slower with 2 threads than with 1). OpenBLAS's threads callback hands each
 * parallel section to us as `numjobs` jobs that must run at the same time (they wait on each
 * other), which an OpenMP parallel region of exactly that many threads does. Installed when the
 * library loads, before any BLAS call, as OpenBLAS requires.
 *
 * The GEMMs must be called from outside any parallel region (a nested region gets one thread):
 * train.cilk keeps them out of the functions that hold a _Cilk_for. */
#include <stddef.h>

#include "blas.h"
#include "dnn.h"

static void run_jobs_on_openmp(int sync, openblas_dojob_callback dojob, int numjobs, size_t elsize,
                               void *jobdata, int dojob_data)
{
    (void)sync;
#pragma omp parallel for num_threads(numjobs) schedule(static, 1)
    for (int i = 0; i < numjobs; i++) dojob(i, (char *)jobdata + (size_t)i * elsize, dojob_data);
}

__attribute__((constructor)) static void dnn_blas_use_openmp(void)
{
    scipy_openblas_set_threads_callback_function(run_jobs_on_openmp);
}

void dnnGemmForward(dnn_net *net, int l)
{
    const int n = (int)net->state.n, in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
    dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, net->Y[l], in, net->W[l], in, 0.0f,
              net->Y[l + 1], out);
}

void dnnGemmWeightGrad(dnn_net *net, int l)
{
    const int n = (int)net->state.n, in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
    if (n == 1) { /* an outer product: the same bits dnn_sgd_outer forms line by line */
        dnn_outer(net->Wdelta[l], net->E[l + 1], net->Y[l], out, in);
        return;
    }
    dnn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, net->E[l + 1], out, net->Y[l], in, 0.0f,
              net->Wdelta[l], in);
}

void dnnGemmError(dnn_net *net, int l)
{
    const int n = (int)net->state.n, in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
    dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, net->E[l + 1], out, net->W[l], in, 0.0f,
              net->E[l], in);
}

int dnn_blas_set_threads(int threads)
{
    const int before = scipy_openblas_get_num_threads();
    scipy_openblas_set_num_threads(threads);
    return before;
}
