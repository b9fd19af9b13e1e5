/* gemm_rate.c — the BLAS limit of a training step: the exact GEMM calls one step makes, timed
 * alone. The speed benchmark divides the trainer's FLOP rate by this one. */
#include "dnn.h"

#include "cilk_offload.h"

/* Runs `reps` steps' worth of GEMMs on the network's own buffers; x is a (bunch, inputs) input. */
OFF_KERNEL(dnn_gemm_step, "net:p,x:p,reps:i")
{
    dnn_net *net = args[0].v.p;
    const int L = net->spec.nlayers;
    net->Y[0] = args[1].v.p;
    net->state.n = net->spec.bunch;
    double t0 = off_now();
    for (int64_t r = 0; r < args[2].v.i; r++) {
        for (int l = 0; l < L; l++) dnnGemmForward(net, l);
        for (int l = L - 1; l >= 0; l--) {
            dnnGemmWeightGrad(net, l);
            if (l > 0) dnnGemmError(net, l);
        }
    }
    ctx->result[0] = off_now() - t0;
    ctx->nresult = 1;
    return OFF_OK;
}
