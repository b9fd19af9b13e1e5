/* dnn.h — the trainer: a network of fully connected, convolution and max-pooling layers, a bunch
 * (mini-batch) and a chunk, and the kernels that train it. Shared by host library and card.
 *
 * Memory: parameters, gradients, momentum, activations and errors each live in ONE contiguous
 * block carved into per-layer tensors (64-byte aligned), so each is one allocation in the
 * shared arena or one copy each way over the explicit channel. The `dnn_net` structure holds the
 * per-layer pointers into those blocks (the "bunch" of the original port).
 *
 * Layer l (0 <= l < L) maps Y[l] (n, sizes[l]) to Y[l+1] (n, sizes[l+1]):
 *     full     Y[l+1] = act(Y[l] . W[l]^T + B[l])        softmax on the last layer
 *     conv     Y[l+1] = act(conv(Y[l], W[l]) + B[l])     valid, stride 1 (cnn.h)
 *     pool     Y[l+1] = max over non-overlapping windows of Y[l], no activation
 * Maps are NHWC: a row of Y[l] is an (H, W, C) image, which a full layer above reads as it is.
 * Y[0] points into the chunk (no copy), or at the bunch placed into the input maps (28x28 images
 * in a 29x29 input); E[l] (n, sizes[l]) is d(loss)/d(pre-activation of Y[l]).
 */
#ifndef DNN_DNN_H
#define DNN_DNN_H

#include <stddef.h>
#include <stdint.h>

#include "cnn.h"

#ifndef DNN_MAX_LAYERS
#define DNN_MAX_LAYERS 16 /* layers with weights or pooling */
#endif

enum { DNN_SIGMOID = 0, DNN_RELU = 1, DNN_TANH = 2, DNN_STANH = 3 /* 1.7159 tanh(2x/3) */ };
enum { DNN_FULL = 0, DNN_CONV = 1, DNN_POOL = 2 }; /* layer kinds */
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
    DNN_EVAL_CHUNK = 8,  /* forward only over the chunk: loss, accuracy, confusion counts */
    DNN_GRAD_BUNCH = 9,  /* one bunch without its update: the gradients of a data-parallel card */
    DNN_UPDATE_NET = 10  /* every layer's update from the gradients as they are (summed over cards) */
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
    int32_t nlayers;                   /* layers L */
    int32_t sizes[DNN_MAX_LAYERS + 1]; /* floats per row of Y[l]: sizes[0] inputs ... sizes[L] classes */
    int32_t activation;                /* DNN_SIGMOID / RELU / TANH / STANH, hidden layers */
    int32_t bunch;                     /* rows of the largest bunch */
    int32_t kind[DNN_MAX_LAYERS];      /* DNN_FULL (zero: an MLP sets nothing below), CONV or POOL */
    int32_t window[DNN_MAX_LAYERS];    /* kernel side (conv) or window side (pool) */
    dnn_maps input;                    /* Y[0] as maps, when layer 0 is a convolution or pooling */
    dnn_maps placed;                   /* H > 0: a chunk row is an H x W image placed into `input` */
    int32_t threads;                   /* card threads the convolutions' scratch is planned for (< 1: one) */
} dnn_spec;

/* Bytes (floats) of each block, and where each tensor starts in it. */
typedef struct {
    int64_t params;                  /* floats in params, grads and moment (same layout) */
    int64_t acts;                    /* floats in acts: Y[1..L], then the scratch below */
    int64_t errs;                    /* floats in errs: E[1..L] */
    int64_t w_off[DNN_MAX_LAYERS];   /* W[l] in params: full (sizes[l+1], sizes[l]), conv (k, k, C, M) */
    int64_t b_off[DNN_MAX_LAYERS];   /* B[l] (outputs or maps) in params; a conv's right after W[l] */
    int64_t w_len[DNN_MAX_LAYERS];   /* floats of W[l] and B[l] (0 for pooling) */
    int64_t b_len[DNN_MAX_LAYERS];
    dnn_conv conv[DNN_MAX_LAYERS];   /* geometry of convolution layer l */
    dnn_pool pool[DNN_MAX_LAYERS];   /* geometry of pooling layer l */
    int64_t arg_off[DNN_MAX_LAYERS]; /* in acts: pooling layer l's arg-maxes, int32 shaped as Y[l+1] */
    int64_t col_off;                 /* in acts: the convolutions' im2col scratch */
    int64_t patch_off[DNN_MAX_LAYERS]; /* in acts: conv layer l's patches, kept from its forward for its
                                        * backward (bunch 1: no second im2col); 0: none, recomputed */
    int64_t placed_off;              /* in acts: the bunch's images placed into the input maps */
    int64_t y_off[DNN_MAX_LAYERS + 1]; /* Y[l], l >= 1, in acts */
    int64_t e_off[DNN_MAX_LAYERS + 1]; /* E[l], l >= 1, in errs */
    int64_t loss_off;                /* in acts: dnnLoss's scratch, bunch doubles then bunch bytes */
} dnn_layout;

/* Hyper-parameters of SGD and the training images' shift; set by the host before each call
 * (schedules live there). A CHAOS worker's network takes a copy of its main network's. */
typedef struct {
    float lr;
    float momentum;
    float weight_decay; /* L2 on weights, not biases */
    float pad;
    dnn_shift shift;    /* most 0 when evaluating: test images are never shifted */
} dnn_hyper;

/* State that lives across offload calls of one bunch (op granularity) and the call counters. */
typedef struct {
    int64_t n;          /* rows of the current bunch */
    int64_t row0;       /* where it starts in the chunk */
    double loss_sum;    /* of the current bunch, set by DNN_OP_LOSS */
    int64_t correct;
} dnn_state;

/* Seconds of each operation of the bunches trained, summed over the calls while `on` is set
 * (dnn.network.Network.timing): what each layer kind costs, measured where it runs. Off, a bunch
 * pays one test per operation; on, two clock reads. Rows are indexed by what - DNN_OP_FETCH
 * (fetch, forward, loss, backward, update), columns by layer (fetch and loss use column 0). */
#define DNN_TIMED_OPS 5
typedef struct {
    int64_t on;
    double seconds[DNN_TIMED_OPS][DNN_MAX_LAYERS];
    double waiting; /* a CHAOS worker's (workers.cilk): its thread idle at the end of calls, the others busy */
    int64_t lines[DNN_MAX_LAYERS];  /* 64-byte lines of layer l's weights and biases its updates went over */
    int64_t stored[DNN_MAX_LAYERS]; /* those it stored: the others' step changed no bit (train.cilk, sgd) */
} dnn_timing;
/* Seconds on a monotonic clock: what the timing hook reads. */
double dnn_clock(void);

/* The network and the current bunch: the structure full of pointers that implicit mode shares
 * with the card as it is and explicit mode takes apart (see dnn_carve). */
typedef struct {
    dnn_spec spec;
    dnn_layout layout;
    dnn_hyper hyper;
    dnn_state state;
    dnn_timing timing;
    float *params, *grads, *moment, *acts, *errs; /* the five blocks */
    float *W[DNN_MAX_LAYERS], *B[DNN_MAX_LAYERS];           /* W: (out, in)  B: (out) */
    float *Wdelta[DNN_MAX_LAYERS], *Bdelta[DNN_MAX_LAYERS]; /* gradients, same shapes */
    float *VW[DNN_MAX_LAYERS], *VB[DNN_MAX_LAYERS];         /* momentum, same shapes */
    float *Y[DNN_MAX_LAYERS + 1];                           /* Y[l]: (n, sizes[l]) */
    float *E[DNN_MAX_LAYERS + 1];                           /* E[l]: (n, sizes[l]) */
    const int32_t *labels;                                  /* (n) of the current bunch */
    double *row_loss;                                       /* (bunch) dnnLoss's per-row losses */
    char *row_hit;                                          /* (bunch) 1 where a row's arg-max is its label */
    int32_t *arg[DNN_MAX_LAYERS];                           /* pooling layer l's arg-maxes */
    float *col;                                             /* im2col scratch of the convolutions */
    float *placed;                                          /* (n, sizes[0]) placed images, or NULL */
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
/* Its part for convolutions and poolings (maps.c): their geometry and every layer's w_len, b_len. */
int dnn_plan_maps(const dnn_spec *spec, dnn_layout *out, char *why, size_t why_len);
/* Points every tensor of net into the five blocks (host, or card buffers in explicit mode). */
void dnn_carve(dnn_net *net, float *params, float *grads, float *moment, float *acts, float *errs);
/* A network of spec laid out as dnn_plan decided (layout), over the five blocks. */
void dnn_net_init(dnn_net *net, const dnn_spec *spec, const dnn_layout *layout, float *params, float *grads,
                  float *moment, float *acts, float *errs);
void dnn_init_params(dnn_net *net, int scheme, uint64_t seed);
void dnn_chunk_set(dnn_chunk *c, const float *x, const int32_t *y, int64_t rows, int64_t cols);
/* Floats per chunk row: the placed image's, or the input's. */
int64_t dnn_input_cols(const dnn_spec *spec);
void dnn_set_threads(int threads); /* OpenMP and BLAS threads in this process (host mode) */

/* ---- the trainer (runs on the card or in host mode) ----
 * Written in Cilk Plus: train.cilk (the layers) and offloaded.cilk (the offloaded loop), which
 * the build translates with dnn.cilkpp; the GEMMs go to BLAS (gemm.c). */
int FetchOneBunch(dnn_chunk *chunk, dnn_net *net);
/* The n rows from chunk row row0 as net's bunch: placed into its input maps when the network
 * places images (each moved by its random shift, net->hyper.shift: chunk row r is dataset image
 * shift.first + r), Y[0] and labels pointed at them. FetchOneBunch's fetch, and a CHAOS worker's. */
void dnn_fetch_rows(dnn_net *net, const dnn_chunk *chunk, int64_t row0, int64_t n);
/* Points Y[0] and labels at the bunch that starts at chunk row row0 (placed images, when the
 * network places them, were written by FetchOneBunch). */
void dnn_point_at_bunch(dnn_net *net, const dnn_chunk *chunk);
/* The operations of one bunch in the order they run, the one place that order is written:
 * step 0 is DNN_OP_FETCH, then each layer's forward, the loss, each layer's backward from the
 * top, each layer's update. Returns the operation of `step` (and its layer in *layer), or 0
 * past the last. The chunk loop runs it on the card; op granularity offloads it step by step. */
int dnn_bunch_op(int nlayers, int step, int *layer);
void dnnGemmForward(dnn_net *net, int l);    /* Y[l+1] = Y[l] . W[l]^T */
void dnnGemmWeightGrad(dnn_net *net, int l); /* Wdelta[l] = E[l+1]^T . Y[l] */
void dnnGemmError(dnn_net *net, int l);      /* E[l] = E[l+1] . W[l] */
int dnn_blas_set_threads(int threads);       /* BLAS's threads from now on; returns the count before */
/* ThreadSanitizer builds: what one thread wrote before dnn_tsan_release(a) is seen by a thread after
 * its dnn_tsan_acquire(a) (libgomp's fork and join, which TSan cannot see); otherwise nothing. */
void dnn_tsan_release(void *addr);
void dnn_tsan_acquire(void *addr);
void dnnBiasActivate(dnn_net *net, int l);   /* element-wise part of the forward step */
void dnnForwardLayer(dnn_net *net, int l);
double dnnLoss(dnn_net *net, int64_t *correct); /* softmax cross-entropy; sets E[L] */
void dnnActivationGrad(dnn_net *net, int l); /* element-wise part of the backward step */
void dnnBiasGrad(dnn_net *net, int l);       /* Bdelta[l] = column sums of E[l+1] */
void dnnBackwardLayer(dnn_net *net, int l);
void dnnUpdateLayer(dnn_net *net, int l);    /* SGD step of layer l */
/* One image's full layer under plain SGD (dnnOuterStep): its backward without the weight gradient,
 * and its update forming that gradient (E[l+1]^T Y[l]) line by line as it steps the weights. */
int dnnOuterStep(const dnn_net *net, int l);
void dnnBackwardLayerNoWeightGrad(dnn_net *net, int l);
void dnnUpdateLayerOuter(dnn_net *net, int l);
/* Plain SGD, W += -lr G, on n floats from W, storing only the 64-byte lines of W whose bits change
 * (sgd_lines.c); returns how many it stored. */
#define DNN_LINE_FLOATS 16 /* floats in a 64-byte cache line */
/* Floats from the line boundary before p to p. */
#define DNN_LINE_SKEW(p) ((int64_t)((uintptr_t)(p) / sizeof(float) % DNN_LINE_FLOATS))
int64_t dnn_sgd_lines(float *W, const float *G, int64_t n, float lr);
/* G (out, in) = e^T y, one image's weight gradient of a full layer (e: out floats, y: in), each
 * element the one product e[j] y[i]; and the plain SGD step with that G, formed line by line and never
 * written out (dnn_sgd_lines' step, the same bits). */
void dnn_outer(float *G, const float *e, const float *y, int64_t out, int64_t in);
int64_t dnn_sgd_outer(float *W, const float *e, const float *y, int64_t out, int64_t in, float lr);
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
/* Data parallelism over cards (cards.cilk): part `part` of `parts` of the n gradient floats,
 * summed over the ncards blocks grads[k] weighted by weights[k] (card k's rows over the bunch's),
 * card after card in order, and written back into every card's block. */
void dnn_sum_grads(int64_t part, int64_t parts, int64_t ncards, float **grads, const float *weights, int64_t n);
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
/* Floats of the worker block for `workers` workers of this network (their structures and pending
 * sums, and the gradients, activations and errors of one image per card thread, spec->threads: the
 * workers of a thread share them), or -1 when it cannot be laid out. */
int64_t dnn_workers_floats(const dnn_spec *spec, int64_t workers);
/* Worker w's network in a worker block (its dnn_timing holds the worker's breakdown when the main
 * network's timing is on: summed over calls, zeroed by the host). */
dnn_net *dnn_workers_net(float *block, int64_t w);
/* Layer l's unlocked update of the shared weights from worker wn's private gradients: the one
 * function whose writes race by design (native/dnn/tsan.supp names it). */
void dnn_workers_hogwild_update(dnn_net *wn, int l, int outer);
/* Kernels cilkpp_dnn_run_workers (implicit, host) and cilkpp_dnn_run_workers_flat (explicit):
 * DNN_TRAIN_CHUNK or DNN_EVAL_CHUNK over the chunk with `workers` workers, each adding its gradients
 * into the shared weights every `every` images (1: after each layer's backward); images[w] gains the
 * images worker w took. */
dnn_result dnn_run_workers(int64_t what, int64_t workers, int64_t every, dnn_net *net, dnn_chunk *chunk,
                           int64_t *counts, float *block, int64_t *images);
dnn_result dnn_run_workers_flat(int64_t what, int64_t workers, int64_t every, dnn_net *wire, float *params, float *grads,
                                float *moment, float *acts, float *errs, const float *x, const int32_t *y,
                                int64_t rows, int64_t *counts, float *block, int64_t *images);

#endif
