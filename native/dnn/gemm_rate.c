/* gemm_rate.c — the BLAS limit of a training step: the exact GEMM calls one step makes
 * (shapes, transposes, leading dimensions), timed alone. The speed benchmark divides the
 * trainer's FLOP rate by this one. */
#include "dnn.h"

#include "blas.h"
#include "cilk_offload.h"

/* Runs `reps` steps' worth of GEMMs on the network's own buffers; x is a (bunch, inputs) input. */
OFF_KERNEL(dnn_gemm_step, "net:p,x:p,reps:i")
{
    dnn_net *net = args[0].v.p;
    const float *x = args[1].v.p;
    const int L = net->spec.nlayers, n = net->spec.bunch;
    double t0 = off_now();
    for (int64_t r = 0; r < args[2].v.i; r++) {
        for (int l = 0; l < L; l++) {
            const int in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
            const float *Yl = l == 0 ? x : net->Y[l];
            dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, Yl, in, net->W[l], in, 0.0f,
                      net->Y[l + 1], out);
        }
        for (int l = L - 1; l >= 0; l--) {
            const int in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
            const float *Yl = l == 0 ? x : net->Y[l];
            dnn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, net->E[l + 1], out, Yl, in, 0.0f,
                      net->Wdelta[l], in);
            if (l > 0)
                dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, net->E[l + 1], out,
                          net->W[l], in, 0.0f, net->E[l], in);
        }
    }
    ctx->result[0] = off_now() - t0;
    ctx->nresult = 1;
    return OFF_OK;
}
