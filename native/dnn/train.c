/* train.c — forward, loss, backward and update of a fully connected network, one bunch.
 *
 * GEMMs go to BLAS; everything else is element-wise in Array Notation style (the sec_*
 * helpers, `#pragma omp simd`), with OpenMP threads over rows. Every sum has a fixed order
 * whatever the thread count (per-row work, per-column bias sums), so one thread is exactly
 * reproducible and host, implicit and explicit modes agree bit for bit.
 */
#include "dnn.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "blas.h"
#include "cilk_offload.h"
#include "vmath.h"

#define ROWS_PER_TASK 8

/* Y[l+1] (n, out) += B[l], then the activation (the last layer keeps its logits). */
void dnnBiasActivate(dnn_net *net, int l)
{
    const int64_t n = net->state.n, out = net->spec.sizes[l + 1];
    const int last = l == net->spec.nlayers - 1, act = net->spec.activation;
    float *restrict Y = net->Y[l + 1];
    const float *restrict B = net->B[l];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float *restrict y = Y + i * out;
        if (last || act == DNN_RELU) {
#pragma omp simd
            for (int64_t j = 0; j < out; j++) {
                float v = y[j] + B[j];
                y[j] = last ? v : (v > 0.0f ? v : 0.0f);
            }
        } else if (act == DNN_SIGMOID) {
#pragma omp simd
            for (int64_t j = 0; j < out; j++) y[j] = dnn_sigmoidf(y[j] + B[j]);
        } else {
#pragma omp simd
            for (int64_t j = 0; j < out; j++) y[j] = dnn_tanhf(y[j] + B[j]);
        }
    }
}

/* Y[l+1] = act(Y[l] . W[l]^T + B[l]); softmax of the last layer is in dnnLoss */
void dnnForwardLayer(dnn_net *net, int l)
{
    const int64_t n = net->state.n, in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
    dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in, 1.0f, net->Y[l],
              (int)in, net->W[l], (int)in, 0.0f, net->Y[l + 1], (int)out);
    dnnBiasActivate(net, l);
}

void dnnForward(dnn_net *net)
{
    for (int l = 0; l < net->spec.nlayers; l++) dnnForwardLayer(net, l);
}

/* Hand-written C of the softmax cross-entropy; the trainer runs its Array Notation twin, dnnLoss
 * in train_an.cilk, and tests hold the two equal bit for bit.
 * Softmax cross-entropy of the bunch. Turns the logits Y[L] into probabilities, sets
 * E[L] = (P - onehot) / n, and returns the summed loss (NaN if a label is out of range). */
double dnnLoss_c(dnn_net *net, int64_t *correct)
{
    const int L = net->spec.nlayers;
    const int64_t n = net->state.n, C = net->spec.sizes[L];
    float *restrict P = net->Y[L], *restrict E = net->E[L];
    const int32_t *labels = net->labels;
    double *row_loss = malloc(sizeof(double) * (size_t)(n ? n : 1));
    char *hit = malloc((size_t)(n ? n : 1));
    const float inv_n = 1.0f / (float)n;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float *restrict p = P + i * C;
        float *restrict e = E + i * C;
        int32_t t = labels[i];
        if (t < 0 || t >= C) {
            row_loss[i] = NAN;
            hit[i] = 0;
            continue;
        }
        const float m = sec_reduce_max(p, 0, C);
        int64_t arg = 0;
        while (p[arg] != m) arg++; /* first index of the maximum */
        const float logit_t = p[t];
#pragma omp simd
        for (int64_t j = 0; j < C; j++) p[j] = dnn_expf(p[j] - m);
        const float s = sec_reduce_add(p, 0, C);
        /* loss = log(sum exp(z - m)) - (z_t - m) */
        row_loss[i] = (double)logf(s) - (double)(logit_t - m);
        hit[i] = arg == t;
        const float inv_s = 1.0f / s;
#pragma omp simd
        for (int64_t j = 0; j < C; j++) {
            p[j] *= inv_s;
            e[j] = p[j] * inv_n;
        }
        e[t] = (p[t] - 1.0f) * inv_n;
    }
    double loss = 0.0;
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) loss += row_loss[i], ok += hit[i];
    free(row_loss);
    free(hit);
    *correct = ok;
    return loss;
}

/* E[l] (n, in) *= act'(Y[l]), written in terms of the activation's output. */
void dnnActivationGrad(dnn_net *net, int l)
{
    const int64_t n = net->state.n, in = net->spec.sizes[l];
    float *restrict El = net->E[l];
    const float *restrict Y = net->Y[l];
    const int act = net->spec.activation;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float *restrict e = El + i * in;
        const float *restrict y = Y + i * in;
        if (act == DNN_RELU) {
#pragma omp simd
            for (int64_t j = 0; j < in; j++) e[j] = y[j] > 0.0f ? e[j] : 0.0f;
        } else if (act == DNN_SIGMOID) {
#pragma omp simd
            for (int64_t j = 0; j < in; j++) e[j] *= y[j] * (1.0f - y[j]);
        } else {
#pragma omp simd
            for (int64_t j = 0; j < in; j++) e[j] *= 1.0f - y[j] * y[j];
        }
    }
}

/* Gradients of layer l from E[l+1]; E[l] for the layer below (l > 0). */
void dnnBackwardLayer(dnn_net *net, int l)
{
    const int64_t n = net->state.n, in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
    const float *restrict En = net->E[l + 1];
    /* Wdelta (out, in) = E[l+1]^T (out, n) . Y[l] (n, in) */
    dnn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)n, 1.0f, En, (int)out,
              net->Y[l], (int)in, 0.0f, net->Wdelta[l], (int)in);
    /* Bdelta = column sums of E[l+1]: each thread owns a range of columns, rows in order. */
    float *restrict Bd = net->Bdelta[l];
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int64_t j0 = out * t / nt, j1 = out * (t + 1) / nt;
        sec_fill(Bd + j0, 0.0f, j1 - j0);
        for (int64_t i = 0; i < n; i++) sec_add(Bd + j0, En + i * out + j0, j1 - j0);
    }
    if (l == 0) return;
    /* E[l] (n, in) = E[l+1] (n, out) . W[l] (out, in), times act'(Y[l]) */
    dnn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)in, (int)out, 1.0f, En, (int)out,
              net->W[l], (int)in, 0.0f, net->E[l], (int)in);
    dnnActivationGrad(net, l);
}

void dnnBackward(dnn_net *net)
{
    for (int l = net->spec.nlayers - 1; l >= 0; l--) dnnBackwardLayer(net, l);
}

/* SGD with momentum and weight decay on one tensor, split in blocks over the threads:
 *   g = dW + wd W;  V = mu V + g;  W[0:n] += -lr V[0:n]                        */
static void sgd(float *restrict W, float *restrict V, const float *restrict G, int64_t n,
                const dnn_hyper *h, int decay)
{
    const float lr = h->lr, mu = h->momentum, wd = decay ? h->weight_decay : 0.0f;
    const int64_t block = 4096;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < n; b += block) {
        int64_t len = n - b < block ? n - b : block;
        if (mu == 0.0f && wd == 0.0f) {
            sec_axpy(W + b, -lr, G + b, len);
            continue;
        }
        float *restrict w = W + b, *restrict v = V + b;
        const float *restrict g = G + b;
#pragma omp simd
        for (int64_t i = 0; i < len; i++) {
            v[i] = mu * v[i] + (g[i] + wd * w[i]);
            w[i] -= lr * v[i];
        }
    }
}

/* Hand-written C of the update; the trainer runs dnnUpdateLayer from train_an.cilk. */
void dnnUpdateLayer_c(dnn_net *net, int l)
{
    const int64_t in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
    sgd(net->W[l], net->VW[l], net->Wdelta[l], in * out, &net->hyper, 1);
    sgd(net->B[l], net->VB[l], net->Bdelta[l], out, &net->hyper, 0);
}

void dnnUpdate(dnn_net *net)
{
    for (int l = 0; l < net->spec.nlayers; l++) dnnUpdateLayer(net, l);
}
