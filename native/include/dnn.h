/* dnn.h — the trainer: a fully connected network, a bunch (mini-batch) and a chunk, and the
 * kernels that train it. Shared by host library and card.
 *
 * Memory: parameters, gradients, momentum, activations and errors each live in ONE contiguous
 * block carved into per-layer tensors (64-byte aligned), so each is one allocation in the
 * shared arena or one copy each way over the explicit channel. The `dnn_net` structure holds the
 * per-layer pointers into those blocks (the "bunch" of the original port).
 *
 * Layer l (0 <= l < L) maps Y[l] (n, sizes[l]) to Y[l+1] (n, sizes[l+1]):
 *     Y[l+1] = act(Y[l] . W[l]^T + B[l])        softmax on the last layer
 * Y[0] points into the chunk (no copy); E[l] (n, sizes[l]) is d(loss)/d(pre-activation of Y[l]).
 */
#ifndef DNN_DNN_H
#define DNN_DNN_H

#include <stddef.h>
#include <stdint.h>

#ifndef DNN_MAX_LAYERS
#define DNN_MAX_LAYERS 16 /* weight layers */
#endif

enum { DNN_SIGMOID = 0, DNN_RELU = 1, DNN_TANH = 2 };
enum { DNN_INIT_UNIFORM = 0, DNN_INIT_XAVIER = 1, DNN_INIT_HE = 2 };

/* What one offload call does (the granularity of the comparison). */
enum {
    DNN_TRAIN_CHUNK = 1, /* while (FetchOneBunch) { forward; loss; backward; update }  */
    DNN_TRAIN_BUNCH = 2, /* one bunch */
    DNN_OP_FETCH = 3,    /* FetchOneBunch only */
    DNN_OP_FORWARD = 4,  /* one layer's forward (layer = l) */
    DNN_OP_LOSS = 5,     /* softmax cross-entropy and its error */
    DNN_OP_BACKWARD = 6, /* one layer's backward (layer = l) */
    DNN_OP_UPDATE = 7,   /* one layer's update (layer = l) */
    DNN_EVAL_CHUNK = 8   /* forward only over the chunk: loss, accuracy, confusion counts */
};

/* What one offload call returns (the reply's result[], in this order). */
typedef struct {
    double loss_sum; /* summed cross-entropy of the bunches trained or evaluated */
    double correct;  /* rows whose arg-max was the label */
    double images;
    double bunches;
} dnn_result;
enum { DNN_R_LOSS_SUM = 0, DNN_R_CORRECT = 1, DNN_R_IMAGES = 2, DNN_R_BUNCHES = 3, DNN_R_COUNT = 4 };

typedef struct {
    int32_t nlayers;                   /* weight layers L */
    int32_t sizes[DNN_MAX_LAYERS + 1]; /* sizes[0] inputs ... sizes[L] classes */
    int32_t activation;                /* DNN_SIGMOID / RELU / TANH, hidden layers */
    int32_t bunch;                     /* rows of the largest bunch */
} dnn_spec;

/* Bytes (floats) of each block, and where each tensor starts in it. */
typedef struct {
    int64_t params;                  /* floats in params, grads and moment (same layout) */
    int64_t acts;                    /* floats in acts: Y[1..L] */
    int64_t errs;                    /* floats in errs: E[1..L] */
    int64_t w_off[DNN_MAX_LAYERS];   /* W[l] (sizes[l+1], sizes[l]) in params */
    int64_t b_off[DNN_MAX_LAYERS];   /* B[l] (sizes[l+1]) in params */
    int64_t y_off[DNN_MAX_LAYERS + 1]; /* Y[l], l >= 1, in acts */
    int64_t e_off[DNN_MAX_LAYERS + 1]; /* E[l], l >= 1, in errs */
    int64_t loss_off;                /* in acts: dnnLoss's scratch, bunch doubles then bunch bytes */
} dnn_layout;

/* Hyper-parameters of SGD; set by the host before each call (schedules live there). */
typedef struct {
    float lr;
    float momentum;
    float weight_decay; /* L2 on weights, not biases */
    float pad;
} dnn_hyper;

/* State that lives across offload calls of one bunch (op granularity) and the call counters. */
typedef struct {
    int64_t n;          /* rows of the current bunch */
    int64_t row0;       /* where it starts in the chunk */
    double loss_sum;    /* of the current bunch, set by DNN_OP_LOSS */
    int64_t correct;
} dnn_state;

/* The network and the current bunch: the structure full of pointers that implicit mode shares
 * with the card as it is and explicit mode takes apart (see dnn_carve). */
typedef struct {
    dnn_spec spec;
    dnn_layout layout;
    dnn_hyper hyper;
    dnn_state state;
    float *params, *grads, *moment, *acts, *errs; /* the five blocks */
    float *W[DNN_MAX_LAYERS], *B[DNN_MAX_LAYERS];           /* W: (out, in)  B: (out) */
    float *Wdelta[DNN_MAX_LAYERS], *Bdelta[DNN_MAX_LAYERS]; /* gradients, same shapes */
    float *VW[DNN_MAX_LAYERS], *VB[DNN_MAX_LAYERS];         /* momentum, same shapes */
    float *Y[DNN_MAX_LAYERS + 1];                           /* Y[l]: (n, sizes[l]) */
    float *E[DNN_MAX_LAYERS + 1];                           /* E[l]: (n, sizes[l]) */
    const int32_t *labels;                                  /* (n) of the current bunch */
    double *row_loss;                                       /* (bunch) dnnLoss's per-row losses */
    char *row_hit;                                          /* (bunch) 1 where a row's arg-max is its label */
} dnn_net;

/* A chunk of the dataset: rows of inputs and labels, and how far training has got. */
typedef struct {
    int64_t rows, cols;
    int64_t cursor;
    const float *x;  /* (rows, cols) */
    const int32_t *y;/* (rows) */
} dnn_chunk;

/* ---- host-side set-up (called through cffi; not kernels) ---- */
/* The layout of a network: returns 0, or -1 with the reason (one line, at most why_len bytes with
 * its NUL) written into why; the caller owns the buffer, so there is no error state to ask for. */
#ifndef DNN_WHY_LEN
#define DNN_WHY_LEN 160 /* a buffer this long holds every reason dnn_plan gives */
#endif
int dnn_plan(const dnn_spec *spec, dnn_layout *out, char *why, size_t why_len);
/* Points every tensor of net into the five blocks (host, or card buffers in explicit mode). */
void dnn_carve(dnn_net *net, float *params, float *grads, float *moment, float *acts, float *errs);
/* A network of spec laid out as dnn_plan decided (layout), over the five blocks. */
void dnn_net_init(dnn_net *net, const dnn_spec *spec, const dnn_layout *layout, float *params, float *grads,
                  float *moment, float *acts, float *errs);
void dnn_init_params(dnn_net *net, int scheme, uint64_t seed);
void dnn_chunk_set(dnn_chunk *c, const float *x, const int32_t *y, int64_t rows, int64_t cols);
void dnn_set_threads(int threads); /* OpenMP and BLAS threads in this process (host mode) */

/* ---- the trainer (runs on the card or in host mode) ----
 * Written in Cilk Plus: train.cilk (the layers) and offloaded.cilk (the offloaded loop), which
 * the build translates with dnn.cilkpp; the GEMMs go to BLAS (gemm.c). */
int FetchOneBunch(dnn_chunk *chunk, dnn_net *net);
/* The operations of one bunch in the order they run, the one place that order is written:
 * step 0 is DNN_OP_FETCH, then each layer's forward, the loss, each layer's backward from the
 * top, each layer's update. Returns the operation of `step` (and its layer in *layer), or 0
 * past the last. The chunk loop runs it on the card; op granularity offloads it step by step. */
int dnn_bunch_op(int nlayers, int step, int *layer);
void dnnGemmForward(dnn_net *net, int l);    /* Y[l+1] = Y[l] . W[l]^T */
void dnnGemmWeightGrad(dnn_net *net, int l); /* Wdelta[l] = E[l+1]^T . Y[l] */
void dnnGemmError(dnn_net *net, int l);      /* E[l] = E[l+1] . W[l] */
int dnn_blas_set_threads(int threads);       /* BLAS's threads from now on; returns the count before */
void dnnBiasActivate(dnn_net *net, int l);   /* element-wise part of the forward step */
void dnnForwardLayer(dnn_net *net, int l);
double dnnLoss(dnn_net *net, int64_t *correct); /* softmax cross-entropy; sets E[L] */
void dnnActivationGrad(dnn_net *net, int l); /* element-wise part of the backward step */
void dnnBiasGrad(dnn_net *net, int l);       /* Bdelta[l] = column sums of E[l+1] */
void dnnBackwardLayer(dnn_net *net, int l);
void dnnUpdateLayer(dnn_net *net, int l);    /* SGD step of layer l */
void dnnForward(dnn_net *net);
void dnnBackward(dnn_net *net);
void dnnUpdate(dnn_net *net);

/* The offloaded loop, `_Cilk_shared` in offloaded.cilk (the original port's `dnn` and `dnn_x`);
 * their kernels are cilkpp_dnn_run_shared (implicit and host mode: the structures are used where
 * they are) and cilkpp_dnn_run_flat (explicit mode: the bunch arrives as flat arrays). */
dnn_result dnn_run_shared(int64_t what, int64_t layer, dnn_net *net, dnn_chunk *chunk, int64_t *confusion);
dnn_result dnn_run_flat(int64_t what, int64_t layer, dnn_net *wire, float *params, float *grads, float *moment,
                        float *acts, float *errs, const float *x, const int32_t *y, int64_t rows,
                        int64_t *confusion);
/* Their host sides for C programs, as the original port wrote them (dnn.executors drives the
 * runtime itself so that Ctrl-C and a dead card reach Python instead of ending the process):
 * `_Cilk_offload dnn_run_shared(...)` on the default card, and the explicit `#pragma offload` that
 * copies the network's five blocks, the rows and the confusion counts in and out around
 * dnn_run_flat. */
dnn_result dnn_offload(int64_t what, int64_t layer, dnn_net *net, dnn_chunk *chunk, int64_t *confusion);
dnn_result dnn_offload_explicit(int64_t what, int64_t layer, dnn_net *net, const float *x, const int32_t *y,
                                int64_t rows, int64_t *confusion);

/* ---- CHAOS workers (workers.cilk): N network instances on one card sharing the weights ---- */
#ifndef DNN_MAX_WORKERS
#define DNN_MAX_WORKERS 1024 /* a worker is a thread on the card, with its tally on the kernel's stack */
#endif
/* Floats of the worker block for `workers` workers of this network (their structures, gradients,
 * activations and errors), or -1 when it cannot be laid out. */
int64_t dnn_workers_floats(const dnn_spec *spec, int64_t workers);
/* Layer l's unlocked update of the shared weights from worker wn's private gradients: the one
 * function whose writes race by design (native/dnn/tsan.supp names it). */
void dnn_workers_hogwild_update(dnn_net *wn, int l);
/* Kernels cilkpp_dnn_run_workers (implicit, host) and cilkpp_dnn_run_workers_flat (explicit):
 * DNN_TRAIN_CHUNK or DNN_EVAL_CHUNK over the chunk with `workers` workers; images[w] gains the
 * images worker w took. */
dnn_result dnn_run_workers(int64_t what, int64_t workers, dnn_net *net, dnn_chunk *chunk, int64_t *counts,
                           float *block, int64_t *images);
dnn_result dnn_run_workers_flat(int64_t what, int64_t workers, dnn_net *wire, float *params, float *grads,
                                float *moment, float *acts, float *errs, const float *x, const int32_t *y,
                                int64_t rows, int64_t *counts, float *block, int64_t *images);

#endif
