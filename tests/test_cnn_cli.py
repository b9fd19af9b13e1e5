"""A convolutional network through the commands: it learns, prints its layers, checkpoints and
resumes exactly, trains the same bits with --overlap, evaluates, and exports an ONNX model whose
predictions in onnxruntime are the card's."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from dnn import checkpoint as ckpt
from dnn.network import Arch
from dnn.session import run_training
from dnn.trainer import Config

NET = "29x29-c4k6-m4-f16-5"  # 28x28 images placed in 29x29, 24x24 maps pooled to 6x6


def run(module, *args, timeout=180):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def cfg(**kw):
    base = dict(arch=Arch.parse(NET, "relu", data_shape=(28, 28)), mode="implicit", bunch=16, chunk=64, threads=1,
                lr=0.05, momentum=0.9, seed=3)
    return Config(**(base | kw))


def test_learns_checkpoints_evaluates_and_exports_onnx(tmp_path, image_dataset):
    ck, onnx_path = tmp_path / "ck.h5", tmp_path / "model.onnx"
    r = run("dnn.train", "--data", str(image_dataset), "--arch", NET, "--epochs", "4", "--bunch", "16", "--lr", "0.05",
            "--threads", "1", "--checkpoint", str(ck), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "conv 6x6" in r.stdout and "4 x 24x24" in r.stdout and "max 4x4" in r.stdout and "148 weights" in r.stdout
    assert "28x28 images go in at the top left of 29x29" in r.stdout
    acc = float(r.stdout.split("test accuracy ")[1].split(",")[0])
    assert acc >= 0.9, r.stdout
    assert ckpt.load(ck).arch == NET

    r = run("dnn.evaluate", "--checkpoint", str(ck), "--data", str(image_dataset), "--predict", "4")
    assert r.returncode == 0, r.stderr

    r = run("dnn.export", "--checkpoint", str(ck), "--out", str(onnx_path), "--format", "onnx")
    assert r.returncode == 0, r.stderr
    ort = pytest.importorskip("onnxruntime")
    from dnn.data import ChunkReader
    from dnn.evaluate import load_model, predict

    with ChunkReader(image_dataset, "test", shuffle=False, prefetch=False) as reader:
        card = predict(load_model(ck), reader, 20)
        x = np.empty((reader.chunk_rows, reader.input_dim), np.float32)
        y = np.empty(reader.chunk_rows, np.int32)
        reader.read_chunk(0, x, y)
    sess = ort.InferenceSession(onnx_path.read_bytes(), providers=["CPUExecutionProvider"])
    got = sess.run(["probabilities"], {"x": x[:20]})[0]
    np.testing.assert_allclose(got, card["probabilities"], rtol=1e-4, atol=1e-6)
    assert (got.argmax(1) == card["probabilities"].argmax(1)).all()


def test_resume_and_overlap_give_the_same_weights(tmp_path, image_dataset):
    full = run_training(cfg(), image_dataset, 2, quiet=True, keep_trainer=True)
    ck = tmp_path / "ck.h5"
    run_training(cfg(), image_dataset, 1, checkpoint=str(ck), quiet=True)
    resumed = run_training(cfg(), image_dataset, 2, resume=str(ck), quiet=True, keep_trainer=True)
    overlap = run_training(cfg(mode="explicit", overlap=True), image_dataset, 2, quiet=True, keep_trainer=True)
    assert np.array_equal(full["_weights"], resumed["_weights"])
    assert np.array_equal(full["_weights"], overlap["_weights"])


def test_data_of_another_size_ends_in_one_line_naming_the_input(small_dataset):
    r = run("dnn.train", "--data", str(small_dataset), "--arch", "chaos-small", "--quiet")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "layer 0 (input 29x29) does not match the data's 20 images" in r.stderr


def test_bad_spec_ends_in_one_line_naming_the_layer(image_dataset):
    r = run("dnn.train", "--data", str(image_dataset), "--arch", "29x29-c5k4-m3-10", "--quiet")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "layer 2 (m3): pooling 3x3 does not divide its 26x26 maps" in r.stderr
