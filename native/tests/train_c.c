/* train_c.c — the hand-written C of the trainer's element-wise kernels (see train_c.h): row
 * loops with `#pragma omp simd`, OpenMP threads over rows, the sec_* helpers of cilk_offload.h. */
#include "train_c.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "cilk_offload.h"
#include "vmath.h"

/* Y[l+1] (n, out) += B[l], then the activation (the last layer keeps its logits). */
void dnnBiasActivate_c(dnn_net *net, int l)
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

/* Softmax cross-entropy: P = softmax(Y[L]), E[L] = (P - onehot) / n; the summed loss. */
double dnnLoss_c(dnn_net *net, int64_t *correct)
{
    const int L = net->spec.nlayers;
    const int64_t n = net->state.n, C = net->spec.sizes[L];
    float *restrict P = net->Y[L], *restrict E = net->E[L];
    const int32_t *labels = net->labels;
    double *row_loss = net->row_loss; /* the scratch the memory plan carves, as the port uses */
    char *hit = net->row_hit;
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
    *correct = ok;
    return loss;
}

/* E[l] (n, in) *= act'(Y[l]), written in terms of the activation's output. */
void dnnActivationGrad_c(dnn_net *net, int l)
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

/* Bdelta = column sums of E[l+1]: each thread owns a range of columns, rows in order. */
void dnnBiasGrad_c(dnn_net *net, int l)
{
    const int64_t n = net->state.n, out = net->spec.sizes[l + 1];
    const float *restrict En = net->E[l + 1];
    float *restrict Bd = net->Bdelta[l];
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int64_t j0 = out * t / nt, j1 = out * (t + 1) / nt;
        sec_fill(Bd + j0, 0.0f, j1 - j0);
        for (int64_t i = 0; i < n; i++) sec_add(Bd + j0, En + i * out + j0, j1 - j0);
    }
}

/* SGD with momentum and weight decay on one tensor, split in blocks over the threads. */
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
            const float vi = mu * v[i] + (g[i] + wd * w[i]);
            v[i] = fabsf(vi) < FLT_MIN ? 0.0f : vi; /* no denormal velocities (train.cilk) */
            w[i] -= lr * v[i];
        }
    }
}

void dnnUpdateLayer_c(dnn_net *net, int l)
{
    const int64_t in = net->spec.sizes[l], out = net->spec.sizes[l + 1];
    sgd(net->W[l], net->VW[l], net->Wdelta[l], in * out, &net->hyper, 1);
    sgd(net->B[l], net->VB[l], net->Bdelta[l], out, &net->hyper, 0);
}
