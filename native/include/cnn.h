/* cnn.h — the layers of a convolutional network: valid convolution (stride 1, any kernel size),
 * non-overlapping max pooling (any window, 1x1 included) and the hidden activations, as kernels
 * on plain arrays. They know nothing of dnn_net, so a CHAOS worker can call them on one image
 * with its own private activations while sharing the parameters.
 *
 * Layout: feature maps are NHWC, (n, H, W, C) row-major — the maps of one pixel side by side.
 * That makes the convolutions of a whole bunch single GEMMs with no transposes:
 *     col (n*OH*OW, k*k*C+1) = im2col(X): row (i, y, x) holds X[i, y:y+k, x:x+k, 0:C], then 1
 *     Z   (n*OH*OW, M)       = col . KB         KB: K (k, k, C, M) ("HWIO"), then the bias (M)
 *     dKB (k*k*C+1, M)       = col^T . dZ       the kernel's gradient, then the bias's
 *     dcol(n*OH*OW, k*k*C)   = dZ . K^T,  dX = col2im(dcol)
 * and a fully connected layer after a map layer reads the (H, W, C) image as its flat input.
 * The bunch goes through the GEMMs `slice` images at a time, so the im2col scratch is bounded
 * whatever the bunch (the memory plan decides slice and sizes the scratch). With `parts` threads
 * each thread takes its own share of the bunch's images through single-threaded GEMMs on its own
 * scratch, and the kernel's gradient is the sum of the parts' gradients, added in part order
 * (the sum, and so the bits, depend on the thread count; with one thread there is one part).
 *
 * Activations are applied in place to the layer's output; errors E follow dnn.h's convention:
 * E of a layer's output is d(loss)/d(its pre-activation) once dnnActGrad has run on it. */
#ifndef DNN_CNN_H
#define DNN_CNN_H

#include <stdint.h>

/* The scaled tanh of LeCun and Cireşan, DNN_STANH in dnn.h: 1.7159 tanh(2x/3). */
#define DNN_STANH_A 1.7159f
#define DNN_STANH_S 0.666666667f

/* The feature maps of one image: H rows, W columns, C maps per pixel. */
typedef struct {
    int32_t C, H, W;
} dnn_maps;

/* A convolution layer: M = out.C maps of (in.H-k+1) x (in.W-k+1), each seeing every input map. */
typedef struct {
    dnn_maps in, out;
    int32_t k;     /* kernel k x k */
    int32_t act;   /* hidden activation of the output */
    int32_t slice; /* images per GEMM of one part */
    int32_t parts; /* threads that each take their own images of a bunch, with their own scratch
                    * (slice*OH*OW*(k*k*C+1) floats of im2col, then a kernel gradient of their own);
                    * 0 or 1: one, as a CHAOS worker's single image is */
    int32_t split; /* threads one image's GEMMs are split over, by rows or columns (bunch 1) */
} dnn_conv;

/* Max pooling over non-overlapping p x p windows: out = (in.H/p, in.W/p, in.C). */
typedef struct {
    dnn_maps in, out;
    int32_t p;
    int32_t split; /* threads one image's pooling is shared by (bunch 1; team.c); 0 or 1: its loop's own */
} dnn_pool;

/* Y (rows, width) = act(Y + B) row by row; act < 0 adds the bias only. */
void dnnBiasAct(float *Y, const float *B, int64_t rows, int64_t width, int act);
/* Y[0:len] = act(Y[0:len]) */
void dnnActivate(float *Y, int64_t len, int act);
/* E (rows, width) *= act'(Y), written in terms of the activation's output Y. */
void dnnActGrad(float *E, const float *Y, int64_t rows, int64_t width, int act);
/* Bd (width) = column sums of E (rows, width), rows added in order whatever the thread count. */
void dnnColumnSums(float *Bd, const float *E, int64_t rows, int64_t width);

/* Scratch floats the convolution needs: per part, the im2col matrix of one slice and (more than
 * one part) a kernel gradient; one part with a split: two im2col matrices (patches and their
 * gradient). */
int64_t dnn_conv_scratch(const dnn_conv *c);

/* Y (n, OH, OW, M) = act(conv(X (n, H, W, C), K) + B), KB = K (k, k, C, M) then B (M). */
void dnnConvForward(float *Y, float *scratch, const float *X, const float *KB, int64_t n, const dnn_conv *c);
/* From dZ (n, OH, OW, M) = d(loss)/d(pre-activation): dKB (the kernel's gradient, then the
 * bias's) and, when dX is not NULL, dX (n, H, W, C) = d(loss)/d(X). Gradients are overwritten,
 * not accumulated. */
void dnnConvBackward(float *dX, float *dKB, float *scratch, const float *dZ, const float *X, const float *KB,
                     int64_t n, const dnn_conv *c);

/* One image (bunch 1) keeps the patches its forward built, so its backward skips the second
 * im2col: dnn_conv_patches floats per layer, planned by dnn_plan. The forward is dnnConvForward
 * with the kept patches as its scratch (n = 1: one part, one slice, and the scratch is then
 * exactly the patches); the backward reads them and needs dnn_conv_patches floats of scratch (the
 * patch gradient). Same GEMMs on the same patches: the same bits as dnnConvBackward. */
int64_t dnn_conv_patches(const dnn_conv *c);
void dnnConvBackwardKept(float *dX, float *dKB, float *scratch, const float *patches, const float *dZ,
                         const float *KB, const dnn_conv *c);

/* Y (n, H/p, W/p, C) = window maxima of X (n, H, W, C); arg holds, per output, the index of the
 * (first) maximum in its image. */
void dnnPoolForward(float *Y, int32_t *arg, const float *X, int64_t n, const dnn_pool *p);
/* dX (n, H, W, C) = dY routed back to the arg-max of each window, zero elsewhere. */
void dnnPoolBackward(float *dX, const float *dY, const int32_t *arg, int64_t n, const dnn_pool *p);
/* The same, then dX *= act'(X) (X the pooling's input, the activated output of the layer below;
 * act < 0: none), each window's rows while they are in cache: dnnPoolBackward then dnnActGrad. */
void dnnPoolBackwardAct(float *dX, const float *dY, const int32_t *arg, const float *X, int act, int64_t n,
                        const dnn_pool *p);

/* Places n images of (h, w) into (H, W) at the top-left, zero-filling the row(s) below and the
 * column(s) right of them (28x28 MNIST in the papers' 29x29 input). place.cilk. */
void dnnPlaceImages(float *dst, const float *src, int64_t n, int32_t h, int32_t w, int32_t H, int32_t W);

/* The random shift of training images as they are placed (--shift): image k of the dataset moves by
 * dnn_shift_offsets(seed, epoch, k, most) in epoch `epoch`. Set by the host before each call. */
typedef struct {
    int32_t most;   /* offsets in [-most, most] in x and y; 0: every image placed as it is */
    int32_t pad;
    uint64_t seed;  /* the run's seed */
    int64_t epoch;
    int64_t first;  /* the dataset index of row 0 of the chunk the call sees (its rows follow in order) */
} dnn_shift;
/* The offsets of image `index` in `epoch`, each uniform in [-most, most] (0 when most <= 0): dx moves
 * it right, dy down. A hash of (seed, epoch, index) alone: the same wherever and whenever it runs. */
void dnn_shift_offsets(uint64_t seed, int64_t epoch, int64_t index, int32_t most, int32_t *dx, int32_t *dy);
/* dnnPlaceImages with image i of the n moved by the offsets of dataset image index0 + i under s (NULL:
 * not moved): out[y][x] = image[y - dy][x - dx] where that lies in the image, zero elsewhere. */
void dnnPlaceShifted(float *dst, const float *src, int64_t n, int32_t h, int32_t w, int32_t H, int32_t W,
                     const dnn_shift *s, int64_t index0);

/* Items [i0, i1) of a loop (team.c). */
typedef void (*dnn_range_fn)(const void *ctx, int64_t i0, int64_t i1);
/* The threads dnn_team would run `items` on: 1 inside a parallel region, or with threads <= 1. */
int dnn_team_size(int threads, int64_t items);
/* fn over items [0, items) in one parallel region of up to `threads` threads, each one contiguous
 * range (one image's small steps, bunch 1); on this thread, in order, where dnn_team_size is 1. */
void dnn_team(int threads, int64_t items, dnn_range_fn fn, const void *ctx);

/* The GEMMs of the convolution (conv_gemm.c, through BLAS). `split` > 1 (outside a parallel
 * region): the GEMM's rows or columns, whichever are more, shared by that many threads, one
 * single-threaded BLAS call each. Otherwise one BLAS call with BLAS's own thread count (one
 * inside a parallel region: see gemm.c). */
void dnnConvGemmForward(float *Z, const float *col, const float *KB, int64_t rows, int64_t kkc1, int64_t M, int split);
/* One image's whole forward in one fork of `split` threads: patches(ctx, r0, r1) writes rows r0..r1
 * of col, then each thread's range of Z = col . KB, then done(ctx, r0, r1, c0, c1) on the block of Z
 * that range wrote (its activation). Returns 0, having done nothing, where a fork would not pay
 * (few multiply-adds, inside a parallel region, split <= 1): then build col and call dnnConvGemmForward. */
typedef void (*dnn_block_fn)(const void *ctx, int64_t r0, int64_t r1, int64_t c0, int64_t c1);
int dnnConvGemmForwardTeam(float *Z, const float *col, const float *KB, int64_t rows, int64_t kkc1, int64_t M,
                           int split, dnn_range_fn patches, dnn_block_fn done, const void *ctx);
void dnnConvGemmWeightGrad(float *dKB, const float *col, const float *dZ, int64_t rows, int64_t kkc1, int64_t M,
                           int accumulate, int split);
/* Both GEMMs of the backward, dKB (+)= col^T . dZ and dcol[:, 0:kkc] = dZ . K^T (dcol may be col:
 * its patches are then overwritten): with split > 1 and dcol apart from col, at once in one fork
 * (the threads shared between the two); otherwise one after the other. */
void dnnConvGemmBackward(float *dKB, float *dcol, const float *col, const float *dZ, const float *KB, int64_t rows,
                         int64_t kkc, int64_t M, int accumulate, int split);
/* The same pair at once, then after(ctx, 0..items) shared by the same threads in the same fork,
 * started as soon as dcol is done (col2im: nothing idles at a join between them). Returns 0,
 * having done nothing, where the pair would not run at once: then call dnnConvGemmBackward. */
typedef void (*dnn_conv_item_fn)(const void *ctx, int64_t item);
int dnnConvGemmBackwardThen(float *dKB, float *dcol, const float *col, const float *dZ, const float *KB, int64_t rows,
                            int64_t kkc, int64_t M, int accumulate, int split, dnn_conv_item_fn after, const void *ctx,
                            int64_t items);

#endif
