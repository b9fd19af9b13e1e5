/* offloaded.c — what crosses to the card: FetchOneBunch, the offloaded loop
 *     while (FetchOneBunch(chunk, bunch)) { dnnForward; dnnBackward; dnnUpdate; }
 * at three granularities (chunk, bunch, layer operation), and evaluation.
 *
 *   dnn_run — implicit and host mode: the network and the chunk are used where they are
 *             (in the shared arena, or in host memory with no card at all).
 *   dnn_x   — explicit mode: only flat arrays crossed. The network structure arrived as bytes
 *             with host pointers in it; it is put back together here, around the card's own
 *             buffers, and its per-call state is written back for the host.
 */
#include "dnn.h"

#include <math.h>
#include <string.h>

#include "cilk_offload.h"

int FetchOneBunch(dnn_chunk *chunk, dnn_net *net)
{
    if (chunk->cursor >= chunk->rows) return 0;
    int64_t n = chunk->rows - chunk->cursor;
    if (n > net->spec.bunch) n = net->spec.bunch;
    net->state.n = n;
    net->state.row0 = chunk->cursor;
    net->Y[0] = (float *)(chunk->x + chunk->cursor * chunk->cols); /* no copy: Y[0] is the chunk */
    net->labels = chunk->y + chunk->cursor;
    chunk->cursor += n;
    return 1;
}

static void add_results(off_ctx *ctx, double loss, int64_t correct, int64_t images, int64_t bunches)
{
    ctx->result[DNN_R_LOSS_SUM] += loss;
    ctx->result[DNN_R_CORRECT] += (double)correct;
    ctx->result[DNN_R_IMAGES] += (double)images;
    ctx->result[DNN_R_BUNCHES] += (double)bunches;
    ctx->nresult = DNN_R_COUNT;
}

static int loss_of_bunch(off_ctx *ctx, dnn_net *net)
{
    int64_t correct = 0;
    double loss = dnnLoss(net, &correct);
    if (!isfinite(loss)) {
        int64_t bad = -1;
        for (int64_t i = 0; i < net->state.n && bad < 0; i++)
            if (net->labels[i] < 0 || net->labels[i] >= net->spec.sizes[net->spec.nlayers]) bad = i;
        if (bad >= 0)
            return off_kernel_fail(ctx, "label %d at row %lld is out of range [0, %d)", net->labels[bad],
                                   (long long)(net->state.row0 + bad), net->spec.sizes[net->spec.nlayers]);
        return off_kernel_fail(ctx, "the loss became %s at bunch %lld of this chunk (rows %lld-%lld); "
                               "lower the learning rate", isnan(loss) ? "NaN" : "infinite",
                               (long long)(net->state.row0 / net->spec.bunch), (long long)net->state.row0,
                               (long long)(net->state.row0 + net->state.n - 1));
    }
    net->state.loss_sum = loss;
    net->state.correct = correct;
    add_results(ctx, loss, correct, net->state.n, 1);
    return OFF_OK;
}

static int train_one(off_ctx *ctx, dnn_net *net)
{
    dnnForward(net);
    int rc = loss_of_bunch(ctx, net);
    if (rc != OFF_OK) return rc;
    dnnBackward(net);
    dnnUpdate(net);
    return OFF_OK;
}

static int evaluate(off_ctx *ctx, dnn_net *net, dnn_chunk *chunk, int64_t *confusion)
{
    const int64_t C = net->spec.sizes[net->spec.nlayers];
    while (FetchOneBunch(chunk, net)) {
        dnnForward(net);
        int rc = loss_of_bunch(ctx, net);
        if (rc != OFF_OK) return rc;
        if (!confusion) continue;
        const float *P = net->Y[net->spec.nlayers];
        for (int64_t i = 0; i < net->state.n; i++) {
            const float *p = P + i * C;
            int64_t arg = 0;
            for (int64_t j = 1; j < C; j++)
                if (p[j] > p[arg]) arg = j;
            confusion[net->labels[i] * C + arg]++;
        }
    }
    return OFF_OK;
}

static int dispatch(off_ctx *ctx, int64_t what, int64_t layer, dnn_net *net, dnn_chunk *chunk, void *aux)
{
    const int L = net->spec.nlayers;
    memset(ctx->result, 0, sizeof(double) * DNN_R_COUNT);
    ctx->nresult = DNN_R_COUNT;
    if (chunk->cols != net->spec.sizes[0])
        return off_kernel_fail(ctx, "the chunk has %lld inputs per row but the network takes %d",
                               (long long)chunk->cols, net->spec.sizes[0]);
    if ((what == DNN_OP_FORWARD || what == DNN_OP_BACKWARD || what == DNN_OP_UPDATE) && (layer < 0 || layer >= L))
        return off_kernel_fail(ctx, "layer %lld out of range [0, %d)", (long long)layer, L);
    if ((what >= DNN_OP_FORWARD && what <= DNN_OP_BACKWARD) && net->state.n <= 0)
        return off_kernel_fail(ctx, "no bunch fetched: call DNN_OP_FETCH first");
    switch (what) {
    case DNN_TRAIN_CHUNK:
        while (FetchOneBunch(chunk, net)) {
            int rc = train_one(ctx, net);
            if (rc != OFF_OK) return rc;
        }
        return OFF_OK;
    case DNN_TRAIN_BUNCH:
        return FetchOneBunch(chunk, net) ? train_one(ctx, net) : OFF_OK;
    case DNN_OP_FETCH:
        if (FetchOneBunch(chunk, net)) add_results(ctx, 0, 0, net->state.n, 1);
        else net->state.n = 0;
        return OFF_OK;
    case DNN_OP_FORWARD:
        dnnForwardLayer(net, (int)layer);
        return OFF_OK;
    case DNN_OP_LOSS:
        return loss_of_bunch(ctx, net);
    case DNN_OP_BACKWARD:
        dnnBackwardLayer(net, (int)layer);
        return OFF_OK;
    case DNN_OP_UPDATE:
        dnnUpdateLayer(net, (int)layer);
        return OFF_OK;
    case DNN_EVAL_CHUNK:
        return evaluate(ctx, net, chunk, aux);
    default:
        return off_kernel_fail(ctx, "unknown trainer operation %lld", (long long)what);
    }
}

/* _Cilk_offload dnn_run(what, layer, bunch, chunk, aux): everything reachable from the two
 * structures is in the shared arena (implicit) or in this process (host mode). */
OFF_KERNEL(dnn_run, "what:i,layer:i,net:p,chunk:p,aux:p")
{
    return dispatch(ctx, args[0].v.i, args[1].v.i, args[2].v.p, args[3].v.p, args[4].v.p);
}

/* #pragma offload in(x, y) inout(net, params, grads, moment, acts, errs): the bunch taken apart.
 * x and y hold `rows` rows starting at the chunk row where this call begins. */
OFF_KERNEL(dnn_x, "what:i,layer:i,net:p,params:p,grads:p,moment:p,acts:p,errs:p,x:p,y:p,rows:i,aux:p")
{
    dnn_net *wire = args[2].v.p; /* the card's copy of the host's bytes */
    dnn_net net = *wire;
    dnn_carve(&net, args[3].v.p, args[4].v.p, args[5].v.p, args[6].v.p, args[7].v.p);
    dnn_chunk chunk;
    dnn_chunk_set(&chunk, args[8].v.p, args[9].v.p, args[10].v.i, net.spec.sizes[0]);
    /* A bunch fetched by an earlier call (op granularity): point at it again, in card memory. */
    if (net.state.n > 0 && args[8].v.p) {
        net.Y[0] = (float *)chunk.x + net.state.row0 * chunk.cols;
        net.labels = chunk.y + net.state.row0;
    }
    int rc = dispatch(ctx, args[0].v.i, args[1].v.i, &net, &chunk, args[11].v.p);
    wire->state = net.state; /* only the state goes back: the pointers stay the host's */
    return rc;
}
