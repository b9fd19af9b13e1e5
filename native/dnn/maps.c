/* maps.c — the geometry of a network's map layers, for dnn_plan: the (C, H, W) maps each
 * convolution and pooling reads and writes, how a convolution shares a bunch among the card's
 * threads (parts) and puts each part through its GEMMs (slice), and every layer's weight count. */
#include "dnn.h"

#include <stdio.h>

#ifndef DNN_COL_FLOATS
/* im2col floats a convolution aims at (512 KiB): a slice whose patches stay in a core's L2 cache
 * between im2col writing them and the GEMM reading them. Measured on the three CHAOS networks at
 * bunch 64, one thread: 20-30 % more images/s than with 8 MiB slices (few slices, few parallel
 * regions); 256 KiB and 1 MiB within a few per cent of it. */
#define DNN_COL_FLOATS (1 << 17)
#endif

/* How the card's threads share a convolution: a bunch of several images is cut into one part per
 * thread (each thread's own images through single-threaded GEMMs: no fork and join per GEMM, and
 * each thread's patches in its own core's cache); a single image has its GEMMs split. Each part's
 * images go through a GEMM as many at a time as keep the im2col matrix near DNN_COL_FLOATS. */
static void maps_share(dnn_conv *c, const dnn_spec *s)
{
    const int32_t threads = s->threads > 1 ? s->threads : 1;
    c->parts = s->bunch > 1 ? (threads < s->bunch ? threads : s->bunch) : 1;
    c->split = s->bunch > 1 ? 1 : threads;
    const int64_t per_image = (int64_t)c->out.H * c->out.W * ((int64_t)c->k * c->k * c->in.C + 1);
    const int64_t share = (s->bunch + c->parts - 1) / c->parts, slice = DNN_COL_FLOATS / per_image;
    c->slice = slice < 1 ? 1 : slice > share ? (int32_t)share : (int32_t)slice;
}

/* One image's pooling is shared by the card's threads (team.c) when its input has this many floats:
 * chaos-large's 13,520 and 29,040 took 5-14 µs per pass on one thread, its last 3,600 under 1.5 µs,
 * no more than a fork and join. */
#ifndef MAPS_POOL_TEAM_FLOATS
#define MAPS_POOL_TEAM_FLOATS (1 << 13)
#endif

static int32_t maps_pool_split(dnn_maps in, const dnn_spec *s)
{
    const int64_t floats = (int64_t)in.C * in.H * in.W;
    return s->bunch == 1 && s->threads > 1 && floats >= MAPS_POOL_TEAM_FLOATS ? s->threads : 1;
}

int dnn_plan_maps(const dnn_spec *s, dnn_layout *out, char *why, size_t why_len)
{
    dnn_maps m = s->input;
    int have_maps = m.C > 0;
    if (have_maps && (int64_t)m.C * m.H * m.W != s->sizes[0]) {
        snprintf(why, why_len, "input maps %dx%dx%d do not hold the %d inputs", m.C, m.H, m.W, s->sizes[0]);
        return -1;
    }
    if (s->placed.H > 0 && (!have_maps || m.C != 1 || s->placed.H > m.H || s->placed.W > m.W)) {
        snprintf(why, why_len, "%dx%d images do not fit into the input maps", s->placed.H, s->placed.W);
        return -1;
    }
    for (int l = 0; l < s->nlayers; l++) {
        const int kind = s->kind[l], k = s->window[l];
        if (kind == DNN_FULL) {
            out->w_len[l] = (int64_t)s->sizes[l] * s->sizes[l + 1];
            out->b_len[l] = s->sizes[l + 1];
            have_maps = 0;
            continue;
        }
        if (kind != DNN_CONV && kind != DNN_POOL) {
            snprintf(why, why_len, "layer %d: unknown kind %d", l, kind);
            return -1;
        }
        if (l == s->nlayers - 1 || !have_maps || k < 1) {
            snprintf(why, why_len, "layer %d: %s", l,
                     l == s->nlayers - 1 ? "the output layer must be a full layer"
                     : !have_maps        ? "a convolution or pooling needs maps below it"
                                         : "its window must be positive");
            return -1;
        }
        dnn_maps o;
        if (kind == DNN_CONV) {
            if (k > m.H || k > m.W) {
                snprintf(why, why_len, "layer %d: kernel %dx%d is larger than its %dx%d input", l, k, k, m.H, m.W);
                return -1;
            }
            o.H = m.H - k + 1, o.W = m.W - k + 1, o.C = s->sizes[l + 1] / (o.H * o.W);
            out->conv[l] = (dnn_conv){m, o, k, s->activation, 0, 0, 0};
            maps_share(&out->conv[l], s);
            out->w_len[l] = (int64_t)k * k * m.C * o.C;
            out->b_len[l] = o.C;
        } else {
            if (m.H % k || m.W % k) {
                snprintf(why, why_len, "layer %d: pooling %dx%d does not divide its %dx%d maps", l, k, k, m.H, m.W);
                return -1;
            }
            o.C = m.C, o.H = m.H / k, o.W = m.W / k;
            out->pool[l] = (dnn_pool){m, o, k, maps_pool_split(m, s)};
        }
        if (o.C < 1 || (int64_t)o.C * o.H * o.W != s->sizes[l + 1]) {
            snprintf(why, why_len, "layer %d: %d outputs are not whole %dx%d maps", l, s->sizes[l + 1], o.H, o.W);
            return -1;
        }
        m = o;
    }
    return 0;
}
