/* test_trainer_offload.c — the trainer's two offloads as a C program writes them (offloaded.cilk:
 * `_Cilk_offload dnn_run_shared(...)` and the explicit `#pragma offload ... inout(...)` around
 * dnn_run_flat) train the same network as the in-process call dnn_run_shared(...), bit for bit,
 * with one card thread.
 * Usage: test_trainer_offload CARD_EXE. Prints "ok" or "FAIL: why"; run by tests/test_native.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cilk_offload.h"
#include "dnn.h"

enum { ROWS = 45, IN = 20, CLASSES = 5 };

typedef struct {
    dnn_net *net;
    dnn_chunk *chunk;
    int64_t *counts;
    float *blocks[5];
    float *x;
    int32_t *y;
} model;

static void *alloc(int shared, size_t bytes)
{
    void *p = shared ? _Offload_shared_aligned_malloc(bytes, 64) : aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        printf("FAIL: allocation of %zu bytes: %s\n", bytes, off_last_error());
        exit(1);
    }
    memset(p, 0, bytes);
    return p;
}

static void make(model *m, const dnn_spec *spec, int shared)
{
    dnn_layout lay;
    char why[DNN_WHY_LEN];
    if (dnn_plan(spec, &lay, why, sizeof why) != 0) {
        printf("FAIL: plan: %s\n", why);
        exit(1);
    }
    int64_t sz[5] = {lay.params, lay.params, lay.params, lay.acts, lay.errs};
    for (int i = 0; i < 5; i++) m->blocks[i] = alloc(shared, sizeof(float) * (size_t)sz[i]);
    m->net = alloc(shared, sizeof *m->net);
    m->chunk = alloc(shared, sizeof *m->chunk);
    m->counts = alloc(shared, sizeof(int64_t) * CLASSES * CLASSES);
    m->x = alloc(shared, sizeof(float) * ROWS * IN);
    m->y = alloc(shared, sizeof(int32_t) * ROWS);
    dnn_net_init(m->net, spec, &lay, m->blocks[0], m->blocks[1], m->blocks[2], m->blocks[3], m->blocks[4]);
    dnn_init_params(m->net, DNN_INIT_HE, 11);
    m->net->hyper.lr = 0.1f, m->net->hyper.momentum = 0.9f, m->net->hyper.weight_decay = 1e-4f;
    uint64_t s = 5;
    for (int i = 0; i < ROWS * IN; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        m->x[i] = (float)((int64_t)(s >> 40) % 1000) / 1000.0f;
    }
    for (int i = 0; i < ROWS; i++) m->y[i] = (i * 3) % CLASSES;
    dnn_chunk_set(m->chunk, m->x, m->y, ROWS, IN);
}

static int same(const model *a, const model *b, const char *what)
{
    int64_t np = a->net->layout.params;
    for (int i = 0; i < 3; i++)
        if (memcmp(a->blocks[i], b->blocks[i], sizeof(float) * (size_t)np) != 0) {
            printf("FAIL: %s: block %d differs\n", what, i);
            return 0;
        }
    if (memcmp(a->counts, b->counts, sizeof(int64_t) * CLASSES * CLASSES) != 0) {
        printf("FAIL: %s: confusion counts differ\n", what);
        return 0;
    }
    return 1;
}

static int same_result(dnn_result a, dnn_result b, const char *what)
{
    if (memcmp(&a, &b, sizeof a) != 0) {
        printf("FAIL: %s: result (%.17g %g %g %g) vs (%.17g %g %g %g)\n", what, a.loss_sum, a.correct, a.images,
               a.bunches, b.loss_sum, b.correct, b.images, b.bunches);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_trainer_offload CARD_EXE\n");
        return 2;
    }
    off_config cfg = {.threads = 1, .link = "none", .arena_bytes = 8 << 20, .card_exe = argv[1]};
    off_card *card = NULL;
    if (off_card_open(&cfg, &card) != OFF_OK) {
        printf("FAIL: open: %s\n", off_last_error());
        return 1;
    }
    dnn_set_threads(1);
    dnn_spec spec = {.nlayers = 3, .sizes = {IN, 16, 8, CLASSES}, .activation = DNN_TANH, .bunch = 8};
    model host, imp, exp;
    make(&host, &spec, 0);
    make(&imp, &spec, 1);
    make(&exp, &spec, 0);
    int ok = 1;
    for (int epoch = 0; epoch < 3 && ok; epoch++) {
        host.chunk->cursor = imp.chunk->cursor = 0;
        dnn_result h = dnn_run_shared(DNN_TRAIN_CHUNK, 0, host.net, host.chunk, NULL);
        dnn_result i = dnn_offload(DNN_TRAIN_CHUNK, 0, imp.net, imp.chunk, NULL);
        dnn_result e = dnn_offload_explicit(DNN_TRAIN_CHUNK, 0, exp.net, exp.x, exp.y, ROWS, NULL);
        ok = same_result(h, i, "implicit train") && same_result(h, e, "explicit train") && h.images == ROWS &&
             h.bunches == (ROWS + 7) / 8;
        if (ok && h.loss_sum <= 0) printf("FAIL: loss %g\n", h.loss_sum), ok = 0;
    }
    ok = ok && same(&host, &imp, "implicit weights") && same(&host, &exp, "explicit weights");
    if (ok) {
        host.chunk->cursor = imp.chunk->cursor = 0;
        dnn_result h = dnn_run_shared(DNN_EVAL_CHUNK, 0, host.net, host.chunk, host.counts);
        dnn_result i = dnn_offload(DNN_EVAL_CHUNK, 0, imp.net, imp.chunk, imp.counts);
        dnn_result e = dnn_offload_explicit(DNN_EVAL_CHUNK, 0, exp.net, exp.x, exp.y, ROWS, exp.counts);
        int64_t total = 0;
        for (int k = 0; k < CLASSES * CLASSES; k++) total += host.counts[k];
        ok = same_result(h, i, "implicit evaluation") && same_result(h, e, "explicit evaluation") &&
             same(&host, &imp, "implicit counts") && same(&host, &exp, "explicit counts");
        if (ok && total != ROWS) printf("FAIL: %ld confusion counts for %d rows\n", (long)total, ROWS), ok = 0;
    }
    off_card_destroy(card);
    if (ok) printf("ok\n");
    return ok ? 0 : 1;
}
