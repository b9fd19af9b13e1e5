/* train_an_check.c — the Array Notation port of the trainer's element-wise kernels
 * (native/dnn/train_an.cilk, translated by dnn.cilkpp) against the hand-written C of train.c:
 * same bits, and the time of each. Prints "same NAME" or "DIFF NAME ..." and "time NAME hand an". */
#include "dnn.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    dnn_net net;
    float *blocks[5];
    int32_t *labels;
} model;

static void make(model *m, const dnn_spec *spec, uint64_t seed)
{
    dnn_layout lay;
    if (dnn_plan(spec, &lay) != 0) { fprintf(stderr, "plan: %s\n", dnn_error()); exit(2); }
    int64_t sz[5] = {lay.params, lay.params, lay.params, lay.acts, lay.errs};
    for (int i = 0; i < 5; i++) m->blocks[i] = malloc(sizeof(float) * (size_t)(sz[i] ? sz[i] : 1));
    dnn_net_init(&m->net, spec, m->blocks[0], m->blocks[1], m->blocks[2], m->blocks[3], m->blocks[4]);
    dnn_init_params(&m->net, DNN_INIT_XAVIER, seed);
    uint64_t s = seed * 2654435761u + 1;
    for (int b = 1; b < 5; b++)
        for (int64_t i = 0; i < sz[b]; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            m->blocks[b][i] = (float)((int64_t)(s >> 40) % 2001 - 1000) / 250.0f;
        }
    m->labels = malloc(sizeof(int32_t) * (size_t)spec->bunch);
    for (int i = 0; i < spec->bunch; i++) m->labels[i] = (i * 7) % spec->sizes[spec->nlayers];
    m->net.labels = m->labels;
    m->net.state.n = spec->bunch;
    m->net.hyper.lr = 0.05f;
    m->net.hyper.momentum = 0.9f;
    m->net.hyper.weight_decay = 1e-4f;
}

static int same(const char *name, const model *a, const model *b, const dnn_layout *lay)
{
    int64_t sz[5] = {lay->params, lay->params, lay->params, lay->acts, lay->errs};
    for (int i = 0; i < 5; i++)
        if (memcmp(a->blocks[i], b->blocks[i], sizeof(float) * (size_t)sz[i]) != 0) {
            printf("DIFF %s block %d\n", name, i);
            return 0;
        }
    printf("same %s\n", name);
    return 1;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    omp_set_num_threads(1);
    dnn_spec spec = {0};
    spec.nlayers = 3;
    spec.sizes[0] = 784, spec.sizes[1] = 512, spec.sizes[2] = 256, spec.sizes[3] = 10;
    spec.activation = DNN_RELU;
    spec.bunch = 256;
    model h, a;
    make(&h, &spec, 7);
    make(&a, &spec, 7);
    int ok = same("start", &h, &a, &h.net.layout);
    int64_t ch = 0, ca = 0;
    double lh = dnnLoss_c(&h.net, &ch), la = dnnLoss(&a.net, &ca);
    if (memcmp(&lh, &la, sizeof lh) != 0 || ch != ca) { printf("DIFF loss %.17g %.17g %ld %ld\n", lh, la, (long)ch, (long)ca); ok = 0; }
    ok &= same("loss", &h, &a, &h.net.layout);
    for (int l = 0; l < spec.nlayers; l++) dnnUpdateLayer_c(&h.net, l), dnnUpdateLayer(&a.net, l);
    ok &= same("update", &h, &a, &h.net.layout);
    h.net.hyper.momentum = a.net.hyper.momentum = 0, h.net.hyper.weight_decay = a.net.hyper.weight_decay = 0;
    for (int l = 0; l < spec.nlayers; l++) dnnUpdateLayer_c(&h.net, l), dnnUpdateLayer(&a.net, l);
    ok &= same("update-plain-sgd", &h, &a, &h.net.layout);
    h.net.hyper.momentum = a.net.hyper.momentum = 0.9f;
    /* time: best of `reps` rounds, each a few calls, hand and port interleaved */
    double best[4] = {1e9, 1e9, 1e9, 1e9};
    for (int r = 0; r < reps; r++) {
        double t0 = omp_get_wtime();
        for (int k = 0; k < 5; k++) dnnLoss_c(&h.net, &ch);
        double t1 = omp_get_wtime();
        for (int k = 0; k < 5; k++) dnnLoss(&a.net, &ca);
        double t2 = omp_get_wtime();
        for (int l = 0; l < spec.nlayers; l++) dnnUpdateLayer_c(&h.net, l);
        double t3 = omp_get_wtime();
        for (int l = 0; l < spec.nlayers; l++) dnnUpdateLayer(&a.net, l);
        double t4 = omp_get_wtime();
        double d[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
        for (int i = 0; i < 4; i++) best[i] = d[i] < best[i] ? d[i] : best[i];
    }
    ok &= same("after-timing", &h, &a, &h.net.layout);
    printf("time loss %.6e %.6e\n", best[0], best[1]);
    printf("time update %.6e %.6e\n", best[2], best[3]);
    return ok ? 0 : 1;
}
