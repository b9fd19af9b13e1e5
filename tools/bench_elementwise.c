/* bench_elementwise.c — the element-wise kernels of the trainer (activation, softmax with its
 * max and sum-of-exp reductions, activation gradient, SGD update) timed alone. Built twice by
 * tools/bench_train.py: scalar (-O2 -fno-tree-vectorize, no omp simd, one thread) and as the
 * trainer is built (vectorised, all threads), as the original Xeon Phi port compared them.
 * Usage: bench_elementwise THREADS REPS  -> one line per kernel: name seconds-per-call */
#include <stdio.h>
#include <stdlib.h>

#include "dnn.h"
#include "off_runtime.h"
#include <omp.h>

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 20;
    omp_set_num_threads(threads);
    /* the DNNTK hidden width and a 1024-row bunch, sigmoid; 8991 classes for the softmax */
    dnn_spec s = {2, {2048, 2048, 8991}, DNN_SIGMOID, 1024};
    dnn_layout lay;
    if (dnn_plan(&s, &lay) != 0) return 1;
    float *p = calloc(lay.params, 4), *g = calloc(lay.params, 4), *m = calloc(lay.params, 4);
    float *a = calloc(lay.acts, 4), *e = calloc(lay.errs, 4);
    float *x = calloc((size_t)s.bunch * s.sizes[0], 4);
    int32_t *y = calloc(s.bunch, 4);
    dnn_net net;
    dnn_net_init(&net, &s, p, g, m, a, e);
    dnn_init_params(&net, DNN_INIT_XAVIER, 1);
    for (int64_t i = 0; i < lay.acts; i++) a[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    for (int64_t i = 0; i < lay.errs; i++) e[i] = (float)((i * 104729) % 1000) / 1e5f;
    for (int i = 0; i < s.bunch; i++) y[i] = (i * 31) % s.sizes[2];
    net.state.n = s.bunch;
    net.Y[0] = x;
    net.labels = y;
    net.hyper = (dnn_hyper){0.01f, 0.9f, 1e-4f, 0};
    const char *names[] = {"activation (sigmoid, 1024x2048)", "softmax + loss (1024x8991)",
                           "activation gradient (1024x2048)", "update (2048x2048 + 2048x8991)"};
    for (int k = 0; k < 4; k++) {
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double t0 = off_now();
            int64_t correct;
            if (k == 0) dnnBiasActivate(&net, 0);
            if (k == 1) {
                for (int64_t i = 0; i < (int64_t)s.bunch * s.sizes[2]; i++) net.Y[2][i] = (float)(i % 977) * 1e-3f;
                t0 = off_now();
                (void)dnnLoss(&net, &correct);
            }
            if (k == 2) dnnActivationGrad(&net, 1);
            if (k == 3) {
                dnnUpdateLayer(&net, 0);
                dnnUpdateLayer(&net, 1);
            }
            double dt = off_now() - t0;
            if (dt < best) best = dt;
        }
        printf("%s\t%.6e\n", names[k], best);
    }
    return 0;
}
