"""A trained network as an ONNX model that onnxruntime (or any ONNX reader) runs.

The graph takes `x` (N, inputs): the rows exactly as the card trains on them (the chunk's scaled
pixels, flat), and gives `probabilities` (N, classes), the softmax of the last layer.

A convolutional network is written in ONNX's own layout (NCHW maps, OIHW kernels): the graph
places 28x28 images into the 29x29 input as the trainer does (a Pad below and to the right),
and the trainer's NHWC order, which its full layers read, is restored by one Transpose before
the first of them. `onnx` is an optional extra (`pip install dnn[onnx]`).
"""

from __future__ import annotations

import numpy as np

from .errors import DnnValueError

OPSET = 17


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise DnnValueError("writing ONNX needs the 'onnx' package: pip install onnx (or pip install "
                            "'dnn[onnx]')") from None
    return onnx, helper, numpy_helper


class _Graph:
    """Nodes and initialisers, each new value named in order."""

    def __init__(self):
        self.onnx, self.helper, self.numpy_helper = _onnx()
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, name, array):
        self.inits.append(self.numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, kind, inputs, **attrs):
        self.count += 1
        out = f"{kind.lower()}{self.count}"
        self.nodes.append(self.helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def activation(self, x, activation):
        if activation == "relu":
            return self.op("Relu", [x])
        if activation == "sigmoid":
            return self.op("Sigmoid", [x])
        if activation == "tanh":
            return self.op("Tanh", [x])
        if activation == "stanh":  # 1.7159 tanh(2x/3)
            s = self.const(f"stanh_s{self.count}", np.float32(2.0 / 3.0))
            a = self.const(f"stanh_a{self.count}", np.float32(1.7159))
            return self.op("Mul", [self.op("Tanh", [self.op("Mul", [x, s])]), a])
        raise DnnValueError(f"no ONNX form for activation '{activation}'")

    def full(self, x, w, b, name):
        return self.op("Gemm", [x, self.const(f"{name}_W", w.astype(np.float32)),
                                self.const(f"{name}_B", b.astype(np.float32))], transB=1)

    def model(self, x, inputs, out, classes, doc):
        h = self.helper
        graph = h.make_graph(self.nodes + [h.make_node("Softmax", [x], [out], axis=1)], "dnn",
                             [h.make_tensor_value_info("x", self.onnx.TensorProto.FLOAT, ["N", inputs])],
                             [h.make_tensor_value_info(out, self.onnx.TensorProto.FLOAT, ["N", classes])],
                             self.inits)
        m = h.make_model(graph, opset_imports=[h.make_opsetid("", OPSET)], producer_name="dnn", doc_string=doc)
        m.ir_version = 8  # read by onnxruntime releases of the last years
        self.onnx.checker.check_model(m)
        return m


def mlp_model(layers, activation: str, doc: str = ""):
    """layers: [(W (out, in), B (out)), ...] as dnn.export writes them."""
    g = _Graph()
    x = "x"
    for l, (w, b) in enumerate(layers):
        x = g.full(x, w, b, f"full{l}")
        if l < len(layers) - 1:
            x = g.activation(x, activation)
    return g.model(x, layers[0][0].shape[1], "probabilities", layers[-1][0].shape[0], doc)


def cnn_model(spec, params, activation: str, data_shape=None, doc: str = ""):
    """spec: dnn.cnn_spec.Spec; params: [(K (k, k, C, M) or W (out, in), B), ...] in the trainer's
    layouts; data_shape: the (h, w) of the data's images when they are placed into the input."""
    g = _Graph()
    c, hh, ww = spec.layers[0].shape
    h, w = data_shape or (hh, ww)
    x = g.op("Reshape", ["x", g.const("in_shape", np.array([-1, c, h, w], np.int64))])
    if (h, w) != (hh, ww):  # top left, zeros below and to the right (cnn_spec.PLACED)
        x = g.op("Pad", [x, g.const("pads", np.array([0, 0, 0, 0, 0, 0, hh - h, ww - w], np.int64))])
    weights, nchw = iter(params), True
    for layer in spec.layers[1:]:
        if layer.kind == "conv":
            k, b = next(weights)
            kern = np.ascontiguousarray(np.transpose(k, (3, 2, 0, 1)), np.float32)  # (k,k,C,M) -> (M,C,k,k)
            x = g.op("Conv", [x, g.const(f"conv{g.count}_W", kern), g.const(f"conv{g.count}_B", b.astype(np.float32))],
                     kernel_shape=[layer.kernel, layer.kernel])
            x = g.activation(x, activation)
        elif layer.kind == "pool":
            x = g.op("MaxPool", [x], kernel_shape=[layer.size] * 2, strides=[layer.size] * 2)
        else:
            if nchw:  # the trainer's full layers read each image as (H, W, C)
                x = g.op("Flatten", [g.op("Transpose", [x], perm=[0, 2, 3, 1])], axis=1)
                nchw = False
            wt, b = next(weights)
            x = g.full(x, wt, b, f"full{g.count}")
            if layer.kind == "full":
                x = g.activation(x, activation)
    return g.model(x, h * w * c, "probabilities", spec.classes, doc)
