/* full.c — one image's full layer shared by the card's threads (bunch 1).
 *
 * A one-image call runs on one thread (offloaded.cilk): its full layer's GEMMs are matrix-vector
 * products that read or write the whole weight matrix (chaos-large's 400 x 150: 6.8 µs forward,
 * 16 µs backward on one thread, memory-bound). Here part t of `parts` takes its own range of the
 * layer's outputs (rows of W) for the forward, the weight and bias gradients, and its own range
 * of the inputs (columns of W) for the error below and its activation derivative, each range one
 * single-threaded BLAS call, all in one fork (team.c). Every output is computed by one call whose
 * sum runs over the whole of its inner dimension, and the ranges depend on `parts` only: the same
 * bits every time. One part is exactly gemm.c's calls and train.cilk's element-wise steps. */
#include "blas.h"
#include "dnn.h"

/* Weights from which a full layer is shared: chaos-large's 60,000 are, its output layer's 1,500
 * (under a microsecond each way) are not. */
#ifndef DNN_FULL_TEAM_FLOATS
#define DNN_FULL_TEAM_FLOATS (1 << 13)
#endif

typedef struct {
    dnn_net *net;
    int l, parts, act; /* act: of the layer's output (forward, < 0 for the logits) or of its input (backward) */
} full_job;

static void full_forward_parts(const void *job, int64_t t0, int64_t t1)
{
    const full_job *j = job;
    dnn_net *net = j->net;
    const int l = j->l, in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
    for (int64_t t = t0; t < t1; t++) {
        const int a = (int)(out * t / j->parts), b = (int)(out * (t + 1) / j->parts);
        if (a == b) continue;
        /* Y[l+1][a:b] = Y[l] . W[l][a:b]^T, then the bias and activation */
        dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 1, b - a, in, 1.0f, net->Y[l], in, net->W[l] + (int64_t)a * in,
                  in, 0.0f, net->Y[l + 1] + a, out);
        dnnBiasAct(net->Y[l + 1] + a, net->B[l] + a, 1, b - a, j->act);
    }
}

static void full_backward_parts(const void *job, int64_t t0, int64_t t1)
{
    const full_job *j = job;
    dnn_net *net = j->net;
    const int l = j->l, in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
    for (int64_t t = t0; t < t1; t++) {
        const int a = (int)(out * t / j->parts), b = (int)(out * (t + 1) / j->parts);
        if (a < b) { /* Wdelta[l][a:b] = E[l+1][a:b]^T . Y[l]; Bdelta[l][a:b] = E[l+1][a:b] (one row) */
            dnn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b - a, in, 1, 1.0f, net->E[l + 1] + a, out, net->Y[l],
                      in, 0.0f, net->Wdelta[l] + (int64_t)a * in, in);
            dnnColumnSums(net->Bdelta[l] + a, net->E[l + 1] + a, 1, b - a);
        }
        const int c = (int)(in * t / j->parts), d = (int)(in * (t + 1) / j->parts);
        if (l == 0 || c == d) continue;
        /* E[l][c:d] = E[l+1] . W[l][:, c:d], times act'(Y[l][c:d]) */
        dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, d - c, out, 1.0f, net->E[l + 1], out, net->W[l] + c, in,
                  0.0f, net->E[l] + c, in);
        if (j->act >= 0) dnnActGrad(net->E[l] + c, net->Y[l] + c, 1, d - c, j->act);
    }
}

int dnn_full_team(const dnn_net *net, int l)
{
    const int64_t w = (int64_t)net->spec.sizes[l] * net->spec.sizes[l + 1];
    return net->spec.bunch == 1 && net->state.n == 1 && w >= DNN_FULL_TEAM_FLOATS
               ? dnn_team_size(net->spec.threads, net->spec.threads)
               : 1;
}

void dnnFullForwardTeam(dnn_net *net, int l)
{
    const int last = l == net->spec.nlayers - 1, parts = net->spec.threads;
    const full_job job = {net, l, parts, last ? -1 : net->spec.activation};
    dnn_team(parts, parts, full_forward_parts, &job);
}

void dnnFullBackwardTeam(dnn_net *net, int l)
{
    const int parts = net->spec.threads;
    const int act = l > 0 && net->spec.kind[l - 1] != DNN_POOL ? net->spec.activation : -1;
    const full_job job = {net, l, parts, act};
    dnn_team(parts, parts, full_backward_parts, &job);
}
