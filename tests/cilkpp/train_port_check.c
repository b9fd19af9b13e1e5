/* train_port_check.c — the trainer's element-wise kernels as the build translates them from
 * native/dnn/train.cilk, against their hand-written C (native/tests/train_c.c): the same bits
 * for every activation, and, with a repetition count, the time of each.
 *
 *   train_port_check [REPS [THREADS]]
 * prints "same NAME" or "DIFF NAME ...", and with REPS > 0 "time NAME ACTIVATION HAND_S PORT_S" (best of
 * REPS rounds, hand and port interleaved). Exit status 1 if anything differs. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"
#include "train_c.h"

typedef struct {
    dnn_net net;
    float *blocks[5];
    int32_t *labels;
} model;

static const char *ACT[] = {"sigmoid", "relu", "tanh"};

static void make(model *m, const dnn_spec *spec, uint64_t seed)
{
    dnn_layout lay;
    char why[DNN_WHY_LEN];
    if (dnn_plan(spec, &lay, why, sizeof why) != 0) { fprintf(stderr, "plan: %s\n", why); exit(2); }
    int64_t sz[5] = {lay.params, lay.params, lay.params, lay.acts, lay.errs};
    for (int i = 0; i < 5; i++) /* 64-byte aligned as in the arena, so both models load alike */
        m->blocks[i] = aligned_alloc(64, (sizeof(float) * (size_t)(sz[i] ? sz[i] : 1) + 63) / 64 * 64);
    dnn_net_init(&m->net, spec, &lay, m->blocks[0], m->blocks[1], m->blocks[2], m->blocks[3], m->blocks[4]);
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

static void release(model *m)
{
    for (int i = 0; i < 5; i++) free(m->blocks[i]);
    free(m->labels);
}

static int same(const char *name, const model *a, const model *b)
{
    const dnn_layout *lay = &a->net.layout;
    int64_t sz[5] = {lay->params, lay->params, lay->params, lay->acts, lay->errs};
    for (int i = 0; i < 5; i++)
        if (memcmp(a->blocks[i], b->blocks[i], sizeof(float) * (size_t)sz[i]) != 0) {
            printf("DIFF %s block %d\n", name, i);
            return 0;
        }
    printf("same %s\n", name);
    return 1;
}

/* Every kernel once on h (hand) and p (port), checking the bits after each. */
static int check(model *h, model *p, const char *act)
{
    char name[64];
    int ok = same("start", h, p);
    const int L = h->net.spec.nlayers;
    for (int l = 0; l < L; l++) {
        dnnBiasActivate_c(&h->net, l), dnnBiasActivate(&p->net, l);
        snprintf(name, sizeof name, "%s bias-activate %d", act, l);
        ok &= same(name, h, p);
    }
    int64_t ch = 0, cp = 0;
    double lh = dnnLoss_c(&h->net, &ch), lp = dnnLoss(&p->net, &cp);
    if (memcmp(&lh, &lp, sizeof lh) != 0 || ch != cp) {
        printf("DIFF loss %.17g %.17g %ld %ld\n", lh, lp, (long)ch, (long)cp);
        ok = 0;
    }
    snprintf(name, sizeof name, "%s loss", act);
    ok &= same(name, h, p);
    for (int l = L - 1; l >= 0; l--) {
        dnnBiasGrad_c(&h->net, l), dnnBiasGrad(&p->net, l);
        if (l > 0) dnnActivationGrad_c(&h->net, l), dnnActivationGrad(&p->net, l);
        snprintf(name, sizeof name, "%s bias-grad/activation-grad %d", act, l);
        ok &= same(name, h, p);
    }
    for (int l = 0; l < L; l++) dnnUpdateLayer_c(&h->net, l), dnnUpdateLayer(&p->net, l);
    snprintf(name, sizeof name, "%s update", act);
    ok &= same(name, h, p);
    float mu = h->net.hyper.momentum, wd = h->net.hyper.weight_decay;
    h->net.hyper.momentum = p->net.hyper.momentum = 0, h->net.hyper.weight_decay = p->net.hyper.weight_decay = 0;
    for (int l = 0; l < L; l++) dnnUpdateLayer_c(&h->net, l), dnnUpdateLayer(&p->net, l);
    snprintf(name, sizeof name, "%s update-plain-sgd", act);
    ok &= same(name, h, p);
    h->net.hyper.momentum = p->net.hyper.momentum = mu, h->net.hyper.weight_decay = p->net.hyper.weight_decay = wd;
    return ok;
}

#define NKERNELS 5
static const char *KERNEL[NKERNELS] = {"bias-activate", "loss", "activation-grad", "bias-grad", "update"};

static void run(model *m, int k, int hand)
{
    const int L = m->net.spec.nlayers;
    int64_t c;
    for (int l = 0; l < L; l++) switch (k) {
        case 0: hand ? dnnBiasActivate_c(&m->net, l) : dnnBiasActivate(&m->net, l); break;
        case 1: if (l == 0) hand ? dnnLoss_c(&m->net, &c) : dnnLoss(&m->net, &c); break;
        case 2: if (l > 0) hand ? dnnActivationGrad_c(&m->net, l) : dnnActivationGrad(&m->net, l); break;
        case 3: hand ? dnnBiasGrad_c(&m->net, l) : dnnBiasGrad(&m->net, l); break;
        default: hand ? dnnUpdateLayer_c(&m->net, l) : dnnUpdateLayer(&m->net, l); break;
        }
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 0;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    omp_set_num_threads(threads);
    dnn_spec spec = {0};
    spec.nlayers = 3;
    spec.sizes[0] = 784, spec.sizes[1] = 512, spec.sizes[2] = 256, spec.sizes[3] = 10;
    spec.bunch = 256;
    int ok = 1;
    model h, p;
    for (int act = DNN_SIGMOID; act <= DNN_TANH; act++) {
        spec.activation = act;
        make(&h, &spec, 7 + act);
        make(&p, &spec, 7 + act);
        ok &= check(&h, &p, ACT[act]);
        if (reps <= 0) {
            release(&h), release(&p);
            continue;
        }
        double best[NKERNELS][2];
        for (int k = 0; k < NKERNELS; k++) best[k][0] = best[k][1] = 1e9;
        for (int r = 0; r < reps; r++)
            for (int k = 0; k < NKERNELS; k++)
                for (int j = 0; j < 2; j++) {
                    const int hand = j ^ (r & 1); /* who goes first alternates */
                    double t0 = omp_get_wtime();
                    run(hand ? &h : &p, k, hand);
                    double t = omp_get_wtime() - t0;
                    if (t < best[k][hand]) best[k][hand] = t;
                }
        ok &= same("after-timing", &h, &p);
        for (int k = 0; k < NKERNELS; k++)
            if (act == DNN_RELU || k == 0 || k == 2) /* the others do not depend on the activation */
                printf("time %s %s %.6e %.6e\n", KERNEL[k], ACT[act], best[k][1], best[k][0]);
        release(&h), release(&p);
    }
    return ok ? 0 : 1;
}
