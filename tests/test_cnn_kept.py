"""One image keeps its convolutions' patches from the forward for the backward
(dnnConvBackwardKept): the same gradients, bit for bit, as the backward that builds them again,
with the GEMMs whole or split, with and without the input's gradient; and the plan of a bunch of
one gives every convolution (and only a convolution) patches of its own."""

from __future__ import annotations

import numpy as np
import pytest

from dnn.network import Arch, Network
from dnn.offload import ffi, lib
from test_cnn_layers import CLayers, _f32, _p


# (input H, W, C), (kernel, maps): small, and chaos-large's second convolution, whose GEMMs are
# large enough to split, so that with split 2 both run at once with col2im in their fork.
SHAPES = {"small": ((9, 8, 3), (4, 5)), "split": ((26, 26, 20), (5, 60))}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("split", [1, 2])
@pytest.mark.parametrize("want_dx", [True, False])
def test_kept_patches_give_the_recomputed_gradients(shape, split, want_dx):
    """The reference is the backward that builds the patches again with the same split."""
    rng = np.random.default_rng(17)
    (h, w, c), (kk, m) = SHAPES[shape]
    x, k, b = _f32(rng, 1, h, w, c), _f32(rng, kk, kk, c, m), _f32(rng, m)
    layers = CLayers()
    geo, _ = layers.conv(x, k, lib.DNN_RELU, slice_=1, split=split)
    kb = np.concatenate([k.reshape(-1, m), b[None]])
    patches = np.full(lib.dnn_conv_patches(geo), np.nan, np.float32)
    y = np.empty((1, geo.out.H, geo.out.W, m), np.float32)
    lib.dnnConvForward(_p(y), _p(patches), _p(x), _p(kb), 1, geo)
    dz = _f32(rng, *y.shape)
    dx_want, dk_want, db_want = layers.conv_backward(dz, x, k, want_dx=want_dx, slice_=1, split=split)
    kb[-1] = np.nan  # the backward reads the kernel, never the bias
    dx = np.full(x.shape, np.nan, np.float32) if want_dx else None
    dkb = np.full(kb.shape, np.nan, np.float32)
    grad_scratch = np.full(lib.dnn_conv_patches(geo), np.nan, np.float32)
    lib.dnnConvBackwardKept(_p(dx), _p(dkb), _p(grad_scratch), _p(patches), _p(dz), _p(kb), geo)
    assert np.array_equal(dkb[:-1].reshape(k.shape), dk_want) and np.array_equal(dkb[-1], db_want)
    if want_dx:
        assert np.array_equal(dx, dx_want)
        # col2im in the GEMMs' fork (split 2) against col2im after whole GEMMs: each input pixel
        # adds the same terms in the same order, so the same bits
        assert np.array_equal(dx, layers.conv_backward(dz, x, k, slice_=1, split=1)[0])


def test_a_bunch_of_one_plans_patches_per_convolution():
    for bunch, kept in ((1, True), (2, False)):
        spec, layout = Network.plan(Arch.parse("chaos-large", "relu"), bunch=bunch, threads=2)
        convs = [l for l in range(spec.nlayers) if spec.kind[l] == lib.DNN_CONV]
        offs = [layout.patch_off[l] for l in range(spec.nlayers)]
        assert all((offs[l] > 0) == (kept and l in convs) for l in range(spec.nlayers))
        if kept:  # each its own, inside the acts block
            ends = sorted((offs[l], offs[l] + lib.dnn_conv_patches(ffi.addressof(layout.conv[l]))) for l in convs)
            assert all(a[1] <= b[0] for a, b in zip(ends, ends[1:])) and ends[-1][1] <= layout.acts
