"""A newcomer's path: evaluate, predict, export, plot, doctor, --version, and errors that teach."""

import json
import shutil
import struct
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import ROOT
from dnn import reference
from dnn.data import ChunkReader
from dnn.evaluate import evaluate, load_model, per_class, predict
from dnn.export import export, load
from dnn.network import Arch
from dnn.session import run_training
from dnn.trainer import Config

BUNCH = 16


def run(module, *args, timeout=120, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def png_size(path):
    """(width, height) of a PNG file; fails unless it is one."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    assert data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82"), f"{path} is truncated"
    return struct.unpack(">II", data[16:24])


def assert_sensible_png(path, min_side=300):
    w, h = png_size(path)
    assert min_side <= w <= 3000 and min_side <= h <= 3000, (w, h)
    assert 5_000 < path.stat().st_size < 2_000_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_dataset):
    """A small network trained 3 epochs on the small dataset: checkpoint, metrics, and weights."""
    folder = tmp_path_factory.mktemp("trained")
    ck, metrics = folder / "run.h5", folder / "run.json"
    cfg = Config(arch=Arch.parse("20-32-5", "relu"), mode="implicit", bunch=BUNCH, chunk=128, threads=1,
                 lr=0.1, seed=3)
    m = run_training(cfg, small_dataset, epochs=3, checkpoint=str(ck), metrics_path=str(metrics), quiet=True)
    return {"ck": ck, "metrics": metrics, "m": m, "folder": folder}


@pytest.fixture(scope="module")
def named_dataset(tmp_path_factory, small_dataset):
    """The small dataset with class names."""
    path = tmp_path_factory.mktemp("named") / "named.h5"
    shutil.copy(small_dataset, path)
    with h5py.File(path, "a") as f:
        f.attrs["class_names"] = ["ant", "bee", "cat", "dog", "eel"]
    return path


# ---- evaluate -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["host", "implicit", "explicit"])
def test_evaluate_gives_what_training_measured(trained, small_dataset, mode):
    model = load_model(trained["ck"])
    with ChunkReader(small_dataset, "test", shuffle=False, prefetch=False) as r:
        ev = evaluate(model, r, mode=mode)
    m = trained["m"]
    assert ev["images"] == 100
    assert ev["accuracy"] == pytest.approx(m["test_accuracy"][-1], abs=1e-12)
    assert ev["loss"] == pytest.approx(m["test_loss"][-1], rel=1e-6)
    assert np.array_equal(ev["confusion"], np.array(m["confusion"]))
    assert ev["confusion"].sum() == 100 and ev["support"].sum() == 100


def test_precision_and_recall_from_counts():
    cm = np.array([[3, 1, 0], [0, 2, 0], [1, 0, 0]])
    p, r, s = per_class(cm)
    assert p[:2] == pytest.approx([3 / 4, 2 / 3]) and np.isnan(p[2])
    assert r == pytest.approx([3 / 4, 1.0, 0.0])
    assert s.tolist() == [4, 2, 1]


def test_evaluate_cli_report_and_confusion_png(trained, named_dataset, tmp_path):
    png, js = tmp_path / "cm.png", tmp_path / "ev.json"
    r = run("dnn.evaluate", "--checkpoint", str(trained["ck"]), "--data", str(named_dataset),
            "--confusion-png", str(png), "--json", str(js), "--mode", "host")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "accuracy" in out and "precision" in out and "recall" in out and "confusion matrix" in out
    for name in ("ant", "bee", "cat", "dog", "eel"):
        assert name in out
    scores = json.loads(js.read_text())
    assert scores["accuracy"] == pytest.approx(trained["m"]["test_accuracy"][-1])
    assert f"accuracy {scores['accuracy']:.4f}" in out
    assert_sensible_png(png)


def test_evaluate_train_split(trained, small_dataset):
    r = run("dnn.evaluate", "--checkpoint", str(trained["ck"]), "--data", str(small_dataset), "--split", "train")
    assert r.returncode == 0, r.stderr
    assert "300 images" in r.stdout


# ---- predict ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["host", "implicit", "explicit"])
def test_predict_probabilities_match_a_numpy_forward(trained, small_dataset, tmp_path, mode):
    """The card's softmax of the first N rows (N spans several bunches) equals a NumPy forward
    over the exported weights, to float32 rounding."""
    model = load_model(trained["ck"])
    n = 2 * BUNCH + 5
    with ChunkReader(small_dataset, "test", shuffle=False, prefetch=False) as r:
        pred = predict(model, r, n, mode=mode)
        x, y = r.read_all()
    p = pred["probabilities"]
    assert p.shape == (n, 5)
    assert np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(pred["labels"], y[:n])
    exported = load(export(trained["ck"], tmp_path / "m.npz"))
    ref = reference.softmax(reference.forward(exported["layers"], x[:n].astype(np.float64), "relu")[-1])
    assert np.allclose(p, ref, atol=1e-5)
    assert np.array_equal(p.argmax(axis=1), ref.argmax(axis=1))


def test_predict_cli_prints_top3_with_names(trained, named_dataset):
    r = run("dnn.evaluate", "--checkpoint", str(trained["ck"]), "--data", str(named_dataset), "--predict", "4")
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if l.strip().startswith("image ")]
    assert len(lines) == 4
    for line in lines:
        guesses = line.split("(true:")[0]
        assert sum(name in guesses for name in ("ant", "bee", "cat", "dog", "eel")) == 3
        assert "true:" in line


# ---- export -------------------------------------------------------------------------------


def test_export_round_trip_gives_the_cards_predictions(trained, small_dataset, tmp_path):
    out = tmp_path / "model.npz"
    r = run("dnn.export", "--checkpoint", str(trained["ck"]), "--out", str(out))
    assert r.returncode == 0, r.stderr
    # Plain NumPy, nothing of dnn needed to read it.
    raw = np.load(out)
    assert str(raw["arch"]) == "20-32-5" and str(raw["activation"]) == "relu"
    assert raw["W0"].shape == (32, 20) and raw["B0"].shape == (32,)
    assert raw["W1"].shape == (5, 32) and raw["B1"].shape == (5,)
    assert raw["W0"].dtype == np.float32
    # The NumPy forward over the exported model predicts what the card's evaluation counted.
    m = load(out)
    with ChunkReader(small_dataset, "test", shuffle=False, prefetch=False) as rd:
        x, y = rd.read_all()
        ev = evaluate(load_model(trained["ck"]), rd, mode="implicit")
    logits = reference.forward(m["layers"], x, m["activation"])[-1]
    predicted = logits.argmax(axis=1)
    cm = np.zeros((5, 5), np.int64)
    np.add.at(cm, (y, predicted), 1)
    assert np.array_equal(cm, ev["confusion"])
    assert (predicted == y).mean() == pytest.approx(ev["accuracy"])


def test_export_keeps_class_names(trained, named_dataset, tmp_path):
    out = tmp_path / "named.npz"
    r = run("dnn.export", "--checkpoint", str(trained["ck"]), "--out", str(out), "--data", str(named_dataset))
    assert r.returncode == 0, r.stderr
    assert load(out)["class_names"] == ["ant", "bee", "cat", "dog", "eel"]


# ---- plots --------------------------------------------------------------------------------


def test_train_plot_option(small_dataset, tmp_path):
    png = tmp_path / "curves.png"
    r = run("dnn.train", "--data", str(small_dataset), "--arch", "20-16-5", "--epochs", "2", "--bunch", "16",
            "--threads", "1", "--quiet", "--plot", str(png))
    assert r.returncode == 0, r.stderr
    assert f"wrote {png}" in r.stdout
    assert_sensible_png(png)


def test_plot_cli(trained, tmp_path):
    png = tmp_path / "p.png"
    r = run("dnn.plot", str(trained["metrics"]), "--out", str(png))
    assert r.returncode == 0, r.stderr
    assert_sensible_png(png)
    # default output: next to the metrics, with .png
    metrics = tmp_path / "copy.json"
    shutil.copy(trained["metrics"], metrics)
    assert run("dnn.plot", str(metrics)).returncode == 0
    assert_sensible_png(tmp_path / "copy.png")


# ---- errors that teach --------------------------------------------------------------------


@pytest.mark.parametrize("module,args,expect", [
    ("dnn.evaluate", ["--checkpoint", "nope.h5"], "python -m dnn.train --checkpoint nope.h5"),
    ("dnn.export", ["--checkpoint", "nope.h5", "--out", "m.npz"], "python -m dnn.train --checkpoint nope.h5"),
    ("dnn.plot", ["nope.json"], "python -m dnn.train --metrics nope.json"),
    ("dnn.plot", ["{metrics}", "--out", "x.jpg"], "--out x.png"),
    ("dnn.evaluate", ["--checkpoint", "{ck}", "--data", "{data}", "--predict", "0"], "--predict 5"),
    ("dnn.evaluate", ["--checkpoint", "{ck}", "--data", "{data}", "--confusion-png", "cm.pdf"], "--confusion-png cm.png"),
    ("dnn.evaluate", ["--checkpoint", "{ck}", "--data", "{data}", "--split", "val"], "the file has: test, train"),
    ("dnn.evaluate", ["--checkpoint", "{ck}", "--data", "nope.h5"], "python -m dnn.chunk SOURCE --out nope.h5"),
    ("dnn.evaluate", ["--checkpoint", "{metrics}"], "written by 'python -m dnn.train --checkpoint FILE.h5'"),
    ("dnn.export", ["--checkpoint", "{ck}", "--out", "m.txt"], "--out m.npz"),
    ("dnn.export", ["--checkpoint", "{ck}", "--out", "no/such/dir/m.npz"], "mkdir -p no/such/dir"),
    ("dnn.train", ["--data", "{data}", "--epochs", "1", "--plot", "c.svg"], "--plot c.png"),
    ("dnn.train", ["--data", "{data}", "--epochs", "1", "--next-steps"], "give --checkpoint FILE.h5"),
])
def test_errors_say_what_to_type(trained, small_dataset, tmp_path, module, args, expect):
    subst = {"ck": str(trained["ck"]), "data": str(small_dataset), "metrics": str(trained["metrics"])}
    r = run(module, *[a.format(**subst) for a in args], cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") <= 3, r.stderr
    assert expect in r.stderr, r.stderr


def test_checkpoint_for_another_dataset_names_data(trained, tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "other.npz", x_train=rng.random((64, 7), np.float32), y_train=rng.integers(0, 3, 64),
             x_test=rng.random((32, 7), np.float32), y_test=rng.integers(0, 3, 32))
    from dnn.data import convert

    convert(str(tmp_path / "other.npz"), tmp_path / "other.h5", chunk_rows=32, dtype="float32", quiet=True)
    r = run("dnn.evaluate", "--checkpoint", str(trained["ck"]), "--data", str(tmp_path / "other.h5"))
    assert r.returncode == 2
    assert "--data FILE.h5" in r.stderr and "20 inputs" in r.stderr and "7 inputs" in r.stderr


# ---- make demo and what it leaves ---------------------------------------------------------


def test_make_demo_leaves_a_run_and_its_next_commands_run_as_printed(newcomer_env, tmp_path):
    """`make demo` writes out/demo/{checkpoint.h5, metrics.json, curves.png} and ends with the
    commands that use them; each one, typed as printed in the same folder, works. DEMO_ARGS makes
    the run tiny; `-o build` leaves the build alone."""
    tiny = "--arch 20-16-5 --epochs 1 --bunch 16 --threads 1 --quiet"
    r = subprocess.run(["make", "-f", str(ROOT / "Makefile"), "-o", "build", "demo", f"PY={sys.executable}",
                        f"DEMO_ARGS={tiny}"], cwd=tmp_path, env=newcomer_env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    demo = tmp_path / "out" / "demo"
    assert load_model(demo / "checkpoint.h5").arch.sizes == (20, 16, 5)
    assert len(json.loads((demo / "metrics.json").read_text())["test_accuracy"]) == 1
    assert_sensible_png(demo / "curves.png")
    assert "\nnext:\n" in r.stdout, r.stdout
    commands = [line.strip() for line in r.stdout.split("\nnext:\n", 1)[1].splitlines()
                if line.strip().startswith("python ")]
    assert [c.split()[2] for c in commands] == ["dnn.evaluate", "dnn.evaluate", "dnn.export", "dnn.compare"]
    for cmd in commands:
        step = subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=tmp_path, env=newcomer_env,
                              capture_output=True, text=True, timeout=300)
        assert step.returncode == 0, f"{cmd}\n{step.stdout}\n{step.stderr}"
    assert_sensible_png(demo / "confusion.png")
    assert load(demo / "model.npz")["arch"] == "20-16-5"
    assert json.loads((tmp_path / "out" / "compare" / "compare.json").read_text())


def test_next_steps_carry_the_data_the_run_was_given(small_dataset, tmp_path):
    """A run on its own --data prints commands that use that file, not the default dataset."""
    ck = tmp_path / "runs" / "a.h5"
    ck.parent.mkdir()
    r = run("dnn.train", "--data", str(small_dataset), "--arch", "20-8-5", "--epochs", "1", "--bunch", "16",
            "--threads", "1", "--quiet", "--checkpoint", str(ck), "--next-steps", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    commands = [line.strip() for line in r.stdout.splitlines() if line.strip().startswith("python -m dnn.")]
    assert len(commands) == 4
    for cmd in commands:
        assert f"--data {small_dataset}" in cmd, cmd
    assert "--checkpoint runs/a.h5" in commands[0] and "--out runs/model.npz" in commands[2]


# ---- python -m dnn ------------------------------------------------------------------------


def test_version():
    import dnn

    r = run("dnn", "--version")
    assert r.returncode == 0 and r.stdout.strip() == f"dnn {dnn.__version__}"


def test_doctor_reports_a_working_card(tmp_path):
    r = run("dnn", "doctor", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "everything works" in out
    assert "OpenBLAS" in out and "BLAS threads" in out
    for flag in ("avx2", "fma", "avx512f"):
        assert flag in out
    assert "arena              0x" in out
    assert "off_test_nop round trip: median" in out
    assert "  load " in out and ("quiet (" in out or "busy: " in out)


@pytest.mark.parametrize("load1, usable, says", [
    (0.1, 2, "quiet"), (0.6, 2, "quiet"), (1.0, 2, "--threads 1"), (1.9, 2, "--threads 1"),
    (3.5, 2, "--threads 1"), (0.0, 8, "quiet"), (1.0, 8, "--threads 7"), (2.0, 8, "--threads 6")])
def test_doctor_load_advice(load1, usable, says):
    from dnn.__main__ import load_advice

    assert says in load_advice(load1, usable)


def test_doctor_exits_1_when_the_card_is_missing(tmp_path):
    import os

    env = dict(os.environ, DNN_CARD_EXE=str(tmp_path / "no-card"))
    r = subprocess.run([sys.executable, "-m", "dnn", "doctor"], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path, env=env)
    assert r.returncode == 1
    assert "BROKEN" in r.stdout and "something is broken" in r.stdout and "fix:" in r.stdout
    assert "Traceback" not in r.stderr
