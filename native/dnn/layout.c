/* layout.c — carving the network into its five blocks, and setting it up from a seed. The
 * geometry of convolutions and poolings is planned by maps.c. */
#include "dnn.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "blas.h"

/* Tensors start on 64-byte boundaries: 16 floats. */
static int64_t pad16(int64_t n) { return (n + 15) / 16 * 16; }

/* Floats that hold dnnLoss's scratch for a bunch: a double and a byte per row. */
static int64_t dnn_loss_scratch_floats(int64_t bunch) { return 2 * bunch + (bunch + 3) / 4; }

int dnn_plan(const dnn_spec *s, dnn_layout *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    if (s->nlayers < 1 || s->nlayers > DNN_MAX_LAYERS) {
        snprintf(why, why_len, "a network has 1 to %d layers, got %d", DNN_MAX_LAYERS, s->nlayers);
        return -1;
    }
    for (int l = 0; l <= s->nlayers; l++)
        if (s->sizes[l] < 1) {
            snprintf(why, why_len, "layer size %d is %d: sizes must be positive", l, s->sizes[l]);
            return -1;
        }
    if (s->sizes[s->nlayers] < 2) {
        snprintf(why, why_len, "the output layer needs at least 2 classes");
        return -1;
    }
    if (s->bunch < 1) {
        snprintf(why, why_len, "bunch must be positive, got %d", s->bunch);
        return -1;
    }
    if (s->activation < DNN_SIGMOID || s->activation > DNN_STANH) {
        snprintf(why, why_len, "unknown activation %d", s->activation);
        return -1;
    }
    if (dnn_plan_maps(s, out, why, why_len) != 0) return -1;
    int64_t p = 0, a = 0, e = 0, col = 0;
    for (int l = 0; l < s->nlayers; l++) {
        out->w_off[l] = p;
        /* A convolution's bias follows its kernel: the two are the (k*k*C + 1, M) matrix of its GEMMs. */
        out->b_off[l] = p + (s->kind[l] == DNN_CONV ? out->w_len[l] : pad16(out->w_len[l]));
        p = pad16(out->b_off[l] + out->b_len[l]);
        /* one image keeps each layer's patches (below): the scratch then holds a patch gradient */
        if (s->kind[l] == DNN_CONV) {
            const int64_t need = s->bunch == 1 ? dnn_conv_patches(&out->conv[l]) : dnn_conv_scratch(&out->conv[l]);
            if (need > col) col = need;
        }
    }
    for (int l = 1; l <= s->nlayers; l++) {
        out->y_off[l] = a;
        a += pad16((int64_t)s->bunch * s->sizes[l]);
        out->e_off[l] = e;
        e += pad16((int64_t)s->bunch * s->sizes[l]);
    }
    for (int l = 0; l < s->nlayers; l++)
        if (s->kind[l] == DNN_POOL) {
            out->arg_off[l] = a;
            a += pad16((int64_t)s->bunch * s->sizes[l + 1]);
        }
    out->col_off = a;
    a += pad16(col);
    if (s->bunch == 1) /* after Y[1..L]: an offset of 0 says "none" */
        for (int l = 0; l < s->nlayers; l++)
            if (s->kind[l] == DNN_CONV) {
                out->patch_off[l] = a;
                a += pad16(dnn_conv_patches(&out->conv[l]));
            }
    if (s->placed.H > 0) {
        out->placed_off = a;
        a += pad16((int64_t)s->bunch * s->sizes[0]);
    }
    /* Planned here so that dnnLoss never allocates per bunch (64-byte aligned, so the doubles are). */
    out->loss_off = a;
    a += pad16(dnn_loss_scratch_floats(s->bunch));
    out->params = p;
    out->acts = a;
    out->errs = e;
    return 0;
}

void dnn_carve(dnn_net *net, float *params, float *grads, float *moment, float *acts, float *errs)
{
    const dnn_layout *L = &net->layout;
    net->params = params, net->grads = grads, net->moment = moment, net->acts = acts, net->errs = errs;
    for (int l = 0; l < net->spec.nlayers; l++) {
        net->W[l] = params + L->w_off[l];
        net->B[l] = params + L->b_off[l];
        net->Wdelta[l] = grads + L->w_off[l];
        net->Bdelta[l] = grads + L->b_off[l];
        net->VW[l] = moment + L->w_off[l];
        net->VB[l] = moment + L->b_off[l];
    }
    net->Y[0] = NULL; /* points into the chunk once a bunch is fetched */
    net->E[0] = NULL; /* no error is propagated into the inputs */
    for (int l = 1; l <= net->spec.nlayers; l++) {
        net->Y[l] = acts + L->y_off[l];
        net->E[l] = errs + L->e_off[l];
    }
    net->row_loss = (double *)(acts + L->loss_off);
    net->row_hit = (char *)(net->row_loss + net->spec.bunch);
    for (int l = 0; l < net->spec.nlayers; l++)
        net->arg[l] = net->spec.kind[l] == DNN_POOL ? (int32_t *)(acts + L->arg_off[l]) : NULL;
    net->col = acts + L->col_off;
    net->placed = net->spec.placed.H > 0 ? acts + L->placed_off : NULL;
}

void dnn_net_init(dnn_net *net, const dnn_spec *spec, const dnn_layout *layout, float *params, float *grads,
                  float *moment, float *acts, float *errs)
{
    memset(net, 0, sizeof *net);
    net->spec = *spec;
    net->layout = *layout;
    dnn_carve(net, params, grads, moment, acts, errs);
}

/* splitmix64: a small, well-mixed generator; the same seed gives the same network anywhere. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void dnn_init_params(dnn_net *net, int scheme, uint64_t seed)
{
    uint64_t s = seed;
    memset(net->params, 0, sizeof(float) * (size_t)net->layout.params);
    memset(net->grads, 0, sizeof(float) * (size_t)net->layout.params);
    memset(net->moment, 0, sizeof(float) * (size_t)net->layout.params);
    for (int l = 0; l < net->spec.nlayers; l++) {
        const dnn_conv *c = &net->layout.conv[l];
        const int conv = net->spec.kind[l] == DNN_CONV;
        /* a kernel's fans count its window: k*k inputs of each map below, k*k outputs of each map */
        const int64_t in = conv ? (int64_t)c->k * c->k * c->in.C : net->spec.sizes[l];
        const int64_t out = conv ? (int64_t)c->k * c->k * c->out.C : net->spec.sizes[l + 1];
        /* DNNTK draws uniformly in +-0.1; Xavier and He scale with the fan-in/out. */
        float r = scheme == DNN_INIT_XAVIER ? sqrtf(6.0f / (float)(in + out))
                  : scheme == DNN_INIT_HE   ? sqrtf(6.0f / (float)in)
                                            : 0.1f;
        float *w = net->W[l];
        for (int64_t i = 0; i < net->layout.w_len[l]; i++) {
            float u = (float)(splitmix64(&s) >> 40) * (1.0f / 16777216.0f); /* [0, 1), 24 bits */
            w[i] = (2.0f * u - 1.0f) * r;
        }
    }
}

void dnn_chunk_set(dnn_chunk *c, const float *x, const int32_t *y, int64_t rows, int64_t cols)
{
    c->x = x, c->y = y, c->rows = rows, c->cols = cols, c->cursor = 0;
}

int64_t dnn_input_cols(const dnn_spec *s)
{
    return s->placed.H > 0 ? (int64_t)s->placed.H * s->placed.W : s->sizes[0];
}

void dnn_set_threads(int threads)
{
    if (threads < 1) threads = 1;
    omp_set_num_threads(threads);
    scipy_openblas_set_num_threads(threads);
}
