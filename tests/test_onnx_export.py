"""ONNX export: the graph onnxruntime runs gives the probabilities of the trainer's layers (the
NumPy reference in the trainer's layouts), for a CNN with 28x28 images placed in 29x29 and for
an MLP."""

import numpy as np
import pytest

from dnn import cnn_spec, onnx_export, reference
from dnn import reference_cnn as ref

ort = pytest.importorskip("onnxruntime")


def _run(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(["probabilities"], {"x": x})[0]


def _params(spec, rng):
    out = []
    for i, l in enumerate(spec.layers[1:], 1):
        c, h, w = spec.layers[i - 1].shape
        shape = (l.kernel, l.kernel, c, l.size) if l.kind == "conv" else (l.size, c * h * w)
        if l.kind != "pool":
            out.append((rng.standard_normal(shape).astype(np.float32) * 0.3,
                        rng.standard_normal(l.size).astype(np.float32) * 0.1))
    return out


@pytest.mark.parametrize("act", ["relu", "stanh", "sigmoid", "tanh"])
def test_cnn_onnx_matches_the_reference(act):
    spec = cnn_spec.parse("29x29-c3k4-m2-c4k5-m3-f7-10")
    rng = np.random.default_rng(1)
    params = _params(spec, rng)
    x = rng.random((5, 784), dtype=np.float32)
    ys, _ = ref.forward(spec, params, ref.place(x, 28, 28, 29, 29).reshape(5, -1), act)
    got = _run(onnx_export.cnn_model(spec, params, act, data_shape=(28, 28)), x)
    np.testing.assert_allclose(got, reference.softmax(ys[-1]), rtol=1e-4, atol=1e-6)


def test_cnn_onnx_without_placement_and_pooling_1x1():
    spec = cnn_spec.parse("9x9-c2k3-m1-c3k7-5")
    rng = np.random.default_rng(2)
    params = _params(spec, rng)
    x = rng.random((3, 81), dtype=np.float32)
    ys, _ = ref.forward(spec, params, x, "tanh")
    np.testing.assert_allclose(_run(onnx_export.cnn_model(spec, params, "tanh"), x), reference.softmax(ys[-1]),
                               rtol=1e-4, atol=1e-6)


def test_mlp_onnx_matches_the_reference():
    rng = np.random.default_rng(3)
    layers = [(rng.standard_normal((6, 12)).astype(np.float32), rng.standard_normal(6).astype(np.float32)),
              (rng.standard_normal((4, 6)).astype(np.float32), rng.standard_normal(4).astype(np.float32))]
    x = rng.random((5, 12), dtype=np.float32)
    want = reference.softmax(reference.forward(layers, x, "relu")[-1])
    np.testing.assert_allclose(_run(onnx_export.mlp_model(layers, "relu"), x), want, rtol=1e-4, atol=1e-6)
