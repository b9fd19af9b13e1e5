"""Hostile inputs and failing disks (issue 15): one table row per case, each run in-process through
the command's own `run_cli`, and each asserting the same four things:

* the exit status;
* exactly one line on stderr, "PROG: error: ..." holding the expected words, and no traceback;
* no card process, memfd or temporary (`.tmp-*`) or lock file left behind, and after a failure no
  new file or folder at all;
* every file that was in the case's folder before is byte-for-byte the same after.

Cases on a full disk mount a 1 MB tmpfs (root only: skipped with the reason otherwise). A stopped
card needs a real process to signal: it has its own test at the end.
"""

import gc
import gzip
import hashlib
import io
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import ROOT, card_processes, exit_unreaped, host_seconds, memfd_segments, mounted_tmpfs, prototype_dataset
from dnn import checkpoint as ckpt
from dnn.cli import run_cli
from dnn.data import convert
from dnn.lock import exclusive

TRAIN = "--data {d}/data.h5 --arch 20-16-5 --bunch 10 --threads 1 --epochs 1 --quiet"
EVAL = "--checkpoint {d}/ck.h5 --data {d}/data.h5"
COMPARE = "--data {d}/data.h5 --arch 20-16-5 --bunch 10 --modes host,implicit --granularity chunk --links none"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A small dataset (20 inputs, 5 classes, chunks of 100 rows), its source .npz, a checkpoint
    of one epoch of a 20-16-5 network and that network exported."""
    folder = tmp_path_factory.mktemp("hostile")
    prototype_dataset(folder, classes=5, inputs=20, train=400, test=100, chunk_rows=100, noise=0.2, seed=1)
    assert _run("dnn.train", TRAIN.format(d=folder) + f" --checkpoint {folder}/ck.h5")[0] == 0
    assert _run("dnn.export", f"--checkpoint {folder}/ck.h5 --out {folder}/model.npz")[0] == 0
    return folder


def _main(prog: str):
    import importlib

    return importlib.import_module(prog).main


def _run(prog: str, argv: str, capsys=None) -> tuple[int, str]:
    """Run `python -m PROG ARGV` in this process; (status, stderr)."""
    if capsys is not None:
        capsys.readouterr()
    try:
        status = run_cli(prog, _main(prog), argv.split())
    except SystemExit as exc:  # argparse
        status = exc.code
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    err = capsys.readouterr().err if capsys is not None else ""
    return status, err


# ---- what a case may need in its folder ---------------------------------------------------------


def _fifo(name):
    return lambda d: os.mkfifo(d / name)


def _link(name, target):
    return lambda d: os.symlink(target, d / name)


def _hardlink(name, target):
    return lambda d: os.link(d / target, d / name)


def _folder(name):
    return lambda d: (d / name).mkdir()


def _data_with(name, split, row, col, value):
    def make(d):
        shutil.copy(d / "data.h5", d / name)
        with h5py.File(d / name, "r+") as f:
            f[f"{split}/x"][row, col] = value
    return make


def _truncated(name, fraction):
    def make(d):
        raw = (d / "data.h5").read_bytes()
        (d / name).write_bytes(raw[:int(len(raw) * fraction)])
    return make


def _gzip_damaged(name):
    """A gzip-compressed dataset whose second train chunk has garbage in the middle."""
    def make(d):
        convert(str(d / "data.npz"), d / name, chunk_rows=100, dtype="float32", shuffle=False,
                compression="gzip", quiet=True)
        with h5py.File(d / name, "r") as f:
            info = f["train/x"].id.get_chunk_info(1)
        with open(d / name, "r+b") as fh:
            fh.seek(info.byte_offset + info.size // 2)
            fh.write(b"\xff" * 64)
    return make


def _checkpoint(name, **change):
    """The world's checkpoint saved again (valid CRC) with fields changed."""
    def make(d):
        ck = ckpt.load(d / "ck.h5")
        for k, v in change.items():
            setattr(ck, k, v(ck) if callable(v) else v)
        ckpt.save(d / name, ck)
    return make


def _npz_huge(name):
    """An .npz whose x declares 10^12 rows but holds a few bytes."""
    def make(d):
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False,
                                                   "shape": (10**12, 20)})
        y = io.BytesIO()
        np.save(y, np.zeros(10, np.int64))
        with zipfile.ZipFile(d / name, "w") as z:
            z.writestr("x.npy", head.getvalue() + b"\0" * 800)
            z.writestr("y.npy", y.getvalue())
    return make


def _idx_gz_huge(folder):
    """Gzipped IDX images whose 2 KB claim 2^31 - 1 rows of 28 x 28."""
    def make(d):
        (d / folder).mkdir()
        images = struct.pack(">BBBBiii", 0, 0, 8, 3, 2**31 - 1, 28, 28) + bytes(2000)
        labels = struct.pack(">BBBBi", 0, 0, 8, 1, 2**31 - 1) + bytes(2000)
        (d / folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
        (d / folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    return make


def _attr(name, key, value):
    def make(d):
        shutil.copy(d / "data.h5", d / name)
        with h5py.File(d / name, "r+") as f:
            f.attrs[key] = value
    return make


def _wide(name):
    """A dataset whose /train/x declares a billion columns (chunked, nothing written: a few kB)."""
    def make(d):
        with h5py.File(d / name, "w") as f:
            f.attrs["num_classes"] = 5
            f.attrs["chunk_rows"] = 100
            for split in ("train", "test"):
                f.create_dataset(f"{split}/x", shape=(200, 10**9), chunks=(1, 1 << 20), dtype=np.float32)
                f.create_dataset(f"{split}/y", data=np.zeros(200, np.int32))
    return make


def _csv_without_line_ends(name):
    def make(d):
        (d / name).write_bytes(gzip.compress(b"1," * 35_000_000, compresslevel=1))
    return make


def _text(name, text):
    return lambda d: (d / name).write_text(text)


def _damaged_copy(name):
    def make(d):
        raw = bytearray((d / "ck.h5").read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        (d / name).write_bytes(bytes(raw))
    return make


def _locked(name):
    return lambda d: exclusive(d / name, "--checkpoint")


def _dead_temporary(name):
    def make(d):
        (d / f".{name}.tmp-{_dead_pid()}-0badf00d").write_bytes(b"left by a killed run")
    return make


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


# ---- the table ------------------------------------------------------------------------------------

# (id, prog, argv, status, words in the one stderr line (None: success, stderr empty), setups)
CASES = [
    # outputs checked before any work
    ("ck-is-data", "dnn.train", TRAIN + " --checkpoint {d}/data.h5", 2, "same file as the input", []),
    ("ck-hardlink-of-data", "dnn.train", TRAIN + " --checkpoint {d}/alias.h5", 2, "same file as the input",
     [_hardlink("alias.h5", "data.h5")]),
    ("ck-symlink-to-data", "dnn.train", TRAIN + " --checkpoint {d}/sym.h5", 2, "same file as the input",
     [lambda d: os.symlink(d / "data.h5", d / "sym.h5")]),
    ("ck-no-folder", "dnn.train", TRAIN + " --checkpoint {d}/nope/ck.h5", 2, "does not exist", []),
    ("ck-is-folder", "dnn.train", TRAIN + " --checkpoint {d}/sub", 2, "is a folder", [_folder("sub")]),
    ("ck-is-fifo", "dnn.train", TRAIN + " --checkpoint {d}/p.h5", 2, "not a regular file", [_fifo("p.h5")]),
    ("metrics-no-folder", "dnn.train", TRAIN + " --metrics {d}/nofolder/m.json", 2, "does not exist", []),
    ("metrics-trailing-slash", "dnn.train", TRAIN + " --metrics {d}/m.json/", 2, "is a folder", []),
    ("metrics-is-folder", "dnn.train", TRAIN + " --metrics {d}/sub", 2, "is a folder", [_folder("sub")]),
    ("metrics-is-data", "dnn.train", TRAIN + " --metrics {d}/data.h5", 2, "same file as the input", []),
    ("metrics-is-resume", "dnn.train", TRAIN + " --resume {d}/ck.h5 --epochs 2 --metrics {d}/ck.h5", 2,
     "same file as the input", []),
    ("plot-folder", "dnn.train", TRAIN + " --plot {d}/dir.png/", 2, "is a folder", []),
    ("plot-not-png", "dnn.train", TRAIN + " --plot {d}/p.txt", 2, "ending in .png", []),
    ("plot-no-folder", "dnn.train", TRAIN + " --plot {d}/no/p.png", 2, "does not exist", []),
    ("next-steps-alone", "dnn.train", TRAIN + " --next-steps", 2, "give --checkpoint", []),
    # numeric options
    ("seed-negative", "dnn.train", TRAIN + " --seed -1", 2, "--seed must be in 0..", []),
    ("seed-huge", "dnn.train", TRAIN + " --seed 1099511627776", 2, "--seed must be in 0..", []),
    ("lr-step-zero", "dnn.train", TRAIN + " --lr-schedule step --lr-step 0", 2, "--lr-step", []),
    ("lr-nan", "dnn.train", TRAIN + " --lr nan", 2, "--lr must be a positive number", []),
    ("lr-inf", "dnn.train", TRAIN + " --lr inf", 2, "--lr must be a positive number", []),
    ("lr-zero", "dnn.train", TRAIN + " --lr 0", 2, "--lr must be a positive number", []),
    ("momentum-above-1", "dnn.train", TRAIN + " --momentum 1.5", 2, "--momentum must be in [0, 1)", []),
    ("decay-negative", "dnn.train", TRAIN + " --weight-decay -1", 2, "--weight-decay", []),
    ("gamma-zero", "dnn.train", TRAIN + " --lr-gamma 0", 2, "--lr-gamma", []),
    ("card-memory-1e30", "dnn.train", TRAIN + " --card-memory 1e30", 2, "--card-memory must be a size in MiB", []),
    ("card-memory-nan", "dnn.train", TRAIN + " --card-memory nan", 2, "--card-memory must be a size in MiB", []),
    ("card-timeout-negative", "dnn.train", TRAIN + " --card-timeout -1", 2, "--card-timeout", []),
    ("chunk-beyond-memory", "dnn.train", TRAIN + " --chunk 1000000000000", 2, "this machine has", []),
    ("chunk-zero", "dnn.train", TRAIN + " --chunk 0", 2, "--chunk must be positive", []),
    ("arch-int32", "dnn.train", TRAIN.replace("20-16-5", "20-3000000000-5"), 2, "more than the limit", []),
    ("arch-beyond-memory", "dnn.train", TRAIN.replace("20-16-5", "20-100000-100000-5"), 2,
     "do not fit in memory", []),
    ("threads-zero", "dnn.train", TRAIN.replace("--threads 1", "--threads 0"), 2, "--threads must be in", []),
    ("threads-absurd", "dnn.train", TRAIN.replace("--threads 1", "--threads 100000"), 2, "--threads must be in",
     []),
    ("epochs-zero", "dnn.train", TRAIN.replace("--epochs 1", "--epochs 0"), 2, "--epochs must be at least 1", []),
    ("epochs-absurd", "dnn.train", TRAIN.replace("--epochs 1", "--epochs 1000000000"), 2, "at most", []),
    ("link-inf-latency", "dnn.train", TRAIN + " --link 1,inf", 2, "outside a physical range", []),
    ("link-tiny-bandwidth", "dnn.train", TRAIN + " --link 1e-300,1", 2, "outside a physical range", []),
    ("link-nan", "dnn.train", TRAIN + " --link nan,1", 2, "outside a physical range", []),
    # hostile data
    ("data-fifo", "dnn.train", TRAIN.replace("data.h5", "p.h5"), 2, "FIFO", [_fifo("p.h5")]),
    ("data-dev-zero", "dnn.train", TRAIN.replace("data.h5", "z.h5"), 2, "character device",
     [_link("z.h5", "/dev/zero")]),
    ("data-missing", "dnn.train", TRAIN.replace("data.h5", "none.h5"), 2, "no such dataset file", []),
    ("data-not-hdf5", "dnn.train", TRAIN.replace("data.h5", "t.h5"), 2, "not an HDF5 file",
     [_text("t.h5", "hello\n")]),
    ("data-truncated", "dnn.train", TRAIN.replace("data.h5", "tr.h5"), 2, "tr.h5", [_truncated("tr.h5", 0.6)]),
    ("data-nan-train", "dnn.train", TRAIN.replace("data.h5", "nan.h5"), 2, "/train/x row 137 holds NaN",
     [_data_with("nan.h5", "train", 137, 3, np.nan)]),
    ("data-inf-test", "dnn.train", TRAIN.replace("data.h5", "inf.h5"), 2, "/test/x row 5 holds NaN or infinity",
     [_data_with("inf.h5", "test", 5, 0, np.inf)]),
    ("data-chunk-rows-absurd", "dnn.train", TRAIN.replace("data.h5", "c.h5"), 2, "this machine has",
     [_attr("c.h5", "chunk_rows", 10**12)]),
    ("data-chunk-rows-zero", "dnn.train", TRAIN.replace("data.h5", "c.h5"), 2, "is not a row count",
     [_attr("c.h5", "chunk_rows", 0)]),
    ("data-billion-columns", "dnn.train", TRAIN.replace("data.h5", "w.h5").replace("20-16-5", "1000000000-2-5"), 2,
     "this machine has", [_wide("w.h5")]),
    ("data-scale-nan", "dnn.train", TRAIN.replace("data.h5", "s.h5"), 2, "scale attribute nan",
     [_attr("s.h5", "scale", float("nan"))]),
    ("data-num-classes-negative", "dnn.train", TRAIN.replace("data.h5", "n.h5"), 2, "outside 0..-2",
     [_attr("n.h5", "num_classes", -1)]),
    ("data-gzip-damaged", "dnn.train", TRAIN.replace("data.h5", "gz.h5"), 2, "/train/x or /train/y rows 100-199",
     [_gzip_damaged("gz.h5")]),
    ("eval-gzip-damaged", "dnn.evaluate", "--checkpoint {d}/ck.h5 --data {d}/gz.h5 --split train", 2,
     "rows 100-199", [_gzip_damaged("gz.h5")]),
    # --resume
    ("resume-fifo", "dnn.train", TRAIN + " --resume {d}/p.h5", 2, "FIFO", [_fifo("p.h5")]),
    ("resume-missing", "dnn.train", TRAIN + " --resume {d}/none.h5", 2, "no such checkpoint", []),
    ("resume-other-arch", "dnn.train", TRAIN.replace("20-16-5", "20-32-5") + " --resume {d}/ck.h5", 2,
     "--arch 20-16-5 (checkpoint) vs 20-32-5 (now)", []),
    ("resume-other-seed", "dnn.train", TRAIN + " --seed 9 --resume {d}/ck.h5", 2, "--seed 0 (checkpoint) vs 9", []),
    ("resume-other-bunch", "dnn.train", TRAIN.replace("--bunch 10", "--bunch 20") + " --resume {d}/ck.h5", 2,
     "--bunch 10 (checkpoint) vs 20 (now)", []),
    ("resume-other-chunk", "dnn.train", TRAIN + " --chunk 50 --resume {d}/ck.h5", 2, "--chunk 100 (checkpoint) vs 50",
     []),
    ("resume-epoch-negative", "dnn.train", TRAIN + " --resume {d}/bad.h5", 2, "inconsistent",
     [_checkpoint("bad.h5", epoch=-1)]),
    ("resume-short-params", "dnn.train", TRAIN + " --resume {d}/bad.h5", 2, "the file is damaged",
     [_checkpoint("bad.h5", params=lambda ck: ck.params[:-3], moment=lambda ck: ck.moment[:-3])]),
    ("resume-absurd-arch", "dnn.train", TRAIN + " --resume {d}/bad.h5", 2, "inconsistent",
     [_checkpoint("bad.h5", arch="20-3000000000-5")]),
    ("resume-beyond-dataset", "dnn.train", TRAIN + " --epochs 2 --resume {d}/bad.h5", 2, "dataset has 4 chunks",
     [_checkpoint("bad.h5", chunk=999, epoch=0)]),
    ("resume-damaged", "dnn.train", TRAIN + " --resume {d}/bad.h5", 2, "corrupted", [_damaged_copy("bad.h5")]),
    ("second-writer", "dnn.train", TRAIN + " --checkpoint {d}/ck2.h5", 2, f"(pid {os.getpid()})", [_locked("ck2.h5")]),
    # dnn.chunk
    ("chunk-out-is-source", "dnn.chunk", "{d}/data.npz --out {d}/data.npz --force --quiet", 2, "same file as the input",
     []),
    ("chunk-out-hardlink-source", "dnn.chunk", "{d}/data.npz --out {d}/s.h5 --force --quiet", 2,
     "same file as the input", [_hardlink("s.h5", "data.npz")]),
    ("chunk-out-no-folder", "dnn.chunk", "{d}/data.npz --out {d}/no/x.h5 --quiet", 2, "does not exist", []),
    ("chunk-out-folder", "dnn.chunk", "{d}/data.npz --out {d}/sub/ --quiet", 2, "is a folder", [_folder("sub")]),
    ("chunk-out-exists", "dnn.chunk", "{d}/data.npz --out {d}/data.h5 --quiet", 2, "give --force", []),
    ("chunk-rows-huge", "dnn.chunk", "{d}/data.npz --out {d}/x.h5 --chunk-rows 10000000000 --quiet", 2, "the limit is",
     []),
    ("chunk-rows-zero", "dnn.chunk", "{d}/data.npz --out {d}/x.h5 --chunk-rows 0 --quiet", 2, "--chunk-rows", []),
    ("chunk-level", "dnn.chunk", "{d}/data.npz --out {d}/x.h5 --compression gzip --compression-level 12 --quiet", 2,
     "compression-level", []),
    ("chunk-val-fraction", "dnn.chunk", "{d}/data.npz --out {d}/x.h5 --val-fraction 1.5 --quiet", 2, "--val-fraction",
     []),
    ("chunk-seed-negative", "dnn.chunk", "{d}/data.npz --out {d}/x.h5 --seed -1 --quiet", 2, "--seed must be in 0..",
     []),
    ("chunk-limit-zero", "dnn.chunk", "{d}/data.npz --out {d}/x.h5 --limit 0 --quiet", 2, "--limit must be positive",
     []),
    ("chunk-scale-nan", "dnn.chunk", "{d}/data.npz --out {d}/x.h5 --scale nan --quiet", 2, "--scale", []),
    ("chunk-source-missing", "dnn.chunk", "{d}/none.npz --out {d}/x.h5 --quiet", 2, "no such file or folder", []),
    ("chunk-fifo-csv", "dnn.chunk", "{d}/p.csv --out {d}/x.h5 --quiet", 2, "FIFO", [_fifo("p.csv")]),
    ("chunk-dev-zero-csv", "dnn.chunk", "{d}/z.csv --out {d}/x.h5 --quiet", 2, "character device",
     [_link("z.csv", "/dev/zero")]),
    ("chunk-csv-no-line-ends", "dnn.chunk", "{d}/b.csv.gz --out {d}/x.h5 --quiet", 2, "longer than",
     [_csv_without_line_ends("b.csv.gz")]),
    ("chunk-npz-huge-header", "dnn.chunk", "{d}/h.npz --out {d}/x.h5 --quiet", 2, "declares shape", [_npz_huge("h.npz")]),
    ("chunk-idx-gz-huge-header", "dnn.chunk", "{d}/idx --out {d}/x.h5 --quiet", 2, "more than a",
     [_idx_gz_huge("idx")]),
    ("chunk-sweeps-dead-temporaries", "dnn.chunk", "{d}/data.npz --out {d}/x.h5 --quiet", 0, None,
     [_dead_temporary("x.h5")]),
    # dnn.export
    ("export-damaged-keeps-model", "dnn.export", "--checkpoint {d}/bad.h5 --out {d}/model.npz", 2, "corrupted",
     [_damaged_copy("bad.h5")]),
    ("export-out-folder", "dnn.export", "--checkpoint {d}/ck.h5 --out {d}/sub/", 2, "is a folder", [_folder("sub")]),
    ("export-out-not-npz", "dnn.export", "--checkpoint {d}/ck.h5 --out {d}/m.txt", 2, "ending in .npz", []),
    ("export-out-no-folder", "dnn.export", "--checkpoint {d}/ck.h5 --out {d}/no/m.npz", 2, "does not exist", []),
    ("export-ck-fifo", "dnn.export", "--checkpoint {d}/p.h5 --out {d}/m.npz", 2, "FIFO", [_fifo("p.h5")]),
    ("export-short-params", "dnn.export", "--checkpoint {d}/bad.h5 --out {d}/m.npz", 2, "the file is damaged",
     [_checkpoint("bad.h5", params=lambda ck: ck.params[:-3], moment=lambda ck: ck.moment[:-3])]),
    # dnn.evaluate
    ("eval-json-no-folder", "dnn.evaluate", EVAL + " --json {d}/no/s.json", 2, "does not exist", []),
    ("eval-json-folder", "dnn.evaluate", EVAL + " --json {d}/sub", 2, "is a folder", [_folder("sub")]),
    ("eval-json-is-data", "dnn.evaluate", EVAL + " --json {d}/data.h5", 2, "same file as the input", []),
    ("eval-png-not-png", "dnn.evaluate", EVAL + " --confusion-png {d}/c.jpg", 2, "ending in .png", []),
    ("eval-ck-fifo", "dnn.evaluate", "--checkpoint {d}/p.h5 --data {d}/data.h5", 2, "FIFO", [_fifo("p.h5")]),
    ("eval-epoch-negative", "dnn.evaluate", "--checkpoint {d}/bad.h5 --data {d}/data.h5", 2, "inconsistent",
     [_checkpoint("bad.h5", epoch=-1)]),
    ("eval-nan-test", "dnn.evaluate", "--checkpoint {d}/ck.h5 --data {d}/nan.h5", 2, "/test/x row 42 holds NaN",
     [_data_with("nan.h5", "test", 42, 1, np.nan)]),
    ("eval-threads-zero", "dnn.evaluate", EVAL + " --threads 0", 2, "--threads must be at least 1", []),
    # dnn.plot
    ("plot-metrics-dev-zero", "dnn.plot", "{d}/z.json --out {d}/p.png", 2, "no such metrics file",
     [_link("z.json", "/dev/zero")]),
    ("plot-curve-not-numbers", "dnn.plot", "{d}/m.json --out {d}/p.png", 2, "train_loss must be a list of numbers",
     [_text("m.json", '{"train_loss": "abc"}')]),
    ("plot-metrics-fifo", "dnn.plot", "{d}/m.json --out {d}/p.png", 2, "no such metrics file", [_fifo("m.json")]),
    ("data-is-folder", "dnn.train", TRAIN.replace("data.h5", "sub"), 2, "is a folder", [_folder("sub")]),
    ("eval-split-unknown", "dnn.evaluate", EVAL + " --split nope", 2, "no split /nope", []),
    ("eval-predict-zero", "dnn.evaluate", EVAL + " --predict 0", 2, "--predict 0", []),
    ("chunk-info-fifo", "dnn.chunk", "info {d}/p.h5", 2, "FIFO", [_fifo("p.h5")]),
    ("train-cpus-garbage", "dnn.train", TRAIN + " --cpus abc", 2, "abc", []),
    ("plot-out-folder", "dnn.plot", "{d}/m.json --out {d}/p.png/", 2, "is a folder", [_text("m.json", "{}")]),
    # dnn.compare: --out is a folder for five files, all checked before the first run
    ("compare-out-is-file", "dnn.compare", COMPARE + " --out {d}/data.h5", 2, "--out names a folder", []),
    ("compare-out-no-parent", "dnn.compare", COMPARE + " --out {d}/nope/cmp", 2, "does not exist", []),
    ("compare-json-is-data", "dnn.compare", COMPARE + " --out {d}/cmp", 2, "same file as the input",
     [_folder("cmp"), _hardlink("cmp/compare.json", "data.h5")]),
    ("compare-csv-symlink-to-data", "dnn.compare", COMPARE + " --out {d}/cmp", 2, "same file as the input",
     [_folder("cmp"), _link("cmp/compare.csv", "../data.h5")]),
    ("compare-md-is-folder", "dnn.compare", COMPARE + " --out {d}/cmp", 2, "compare.md: is a folder",
     [_folder("cmp"), _folder("cmp/compare.md")]),
    ("compare-plot-fifo", "dnn.compare", COMPARE + " --out {d}/cmp", 2, "not a regular file",
     [_folder("cmp"), _fifo("cmp/split.png")]),
    ("compare-cards-host-only", "dnn.compare", COMPARE.replace("host,implicit", "host") + " --cards 2 --out {d}/c",
     2, "several cards run only", []),
    ("compare-cards-over-bunch", "dnn.compare", COMPARE + " --cards 1,20 --out {d}/c", 2,
     "--bunch 10 cannot be split over --cards 20", []),
]


def _snapshot(folder: Path) -> dict:
    """Hash of every regular file under folder (FIFOs and devices are not read)."""
    out = {}
    for p in folder.rglob("*"):
        if p.is_symlink() or not p.is_file() or ".tmp-" in p.name:  # a dead run's temporary is no output
            continue
        out[p.relative_to(folder)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".*") if ".tmp-" in p.name or p.name.endswith(".lock")]


def _setup(folder: Path, world: Path, setups):
    for name in ("data.h5", "data.npz", "ck.h5", "model.npz"):
        shutil.copy(world / name, folder / name)
    held = []
    for make in setups:
        made = make(folder)
        if hasattr(made, "__enter__"):
            held.append(made)
    return held


def check_case(prog, argv, status, words, folder: Path, capsys, held=()):
    before = _snapshot(folder)
    names_before = set(folder.rglob("*"))
    contexts = [h.__enter__() for h in held] and held
    try:
        got, err = _run(prog, argv.format(d=folder), capsys)
    finally:
        for h in reversed(contexts):
            h.__exit__(None, None, None)
    assert "Traceback" not in err, err
    lines = [l for l in err.splitlines() if l.strip()]
    if words is None:
        assert got == status and lines == [], err
    else:
        assert got == status, err
        assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), err
        assert words in lines[0], err
    gc.collect()
    assert card_processes(os.getpid()) == [], "a card process outlived the command"
    assert memfd_segments(os.getpid()) == [], "a memfd outlived the command"
    assert _leftovers(folder) == [], "temporary or lock files left"
    after = _snapshot(folder)
    for name, digest in before.items():
        assert after.get(name) == digest, f"{name} changed or vanished"
    if status != 0:
        assert set(folder.rglob("*")) <= names_before, "a failed command left a new file or folder"


@pytest.mark.parametrize("prog,argv,status,words,setups", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile(tmp_path, world, capsys, prog, argv, status, words, setups):
    held = _setup(tmp_path, world, setups)
    check_case(prog, argv, status, words, tmp_path, capsys, held)


# ---- full and read-only disks -------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs at tmp_path/tiny."""
    with mounted_tmpfs(tmp_path / "tiny", "1m") as folder:
        yield folder


def _fill(folder: Path, leave: int) -> None:
    """Fill the disk holding folder until `leave` bytes are free."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with open(folder / "ballast", "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))


def test_chunk_on_a_full_disk(tmp_path, world, capsys, small_disk):
    _setup(tmp_path, world, [])
    big = tmp_path / "big.npz"
    np.savez(big, x=np.random.default_rng(0).integers(0, 255, (3000, 784), dtype=np.uint8),
             y=np.arange(3000) % 10)
    check_case("dnn.chunk", f"{big} --out {small_disk}/m.h5 --quiet", 2, "free some space", tmp_path, capsys)


def test_chunk_compressed_on_a_full_disk(tmp_path, world, capsys, small_disk):
    """Compressed sizes are unknown beforehand: the check runs before each chunk (no segfault)."""
    _setup(tmp_path, world, [])
    big = tmp_path / "big.npz"
    np.savez(big, x=np.random.default_rng(0).integers(0, 255, (3000, 784), dtype=np.uint8),
             y=np.arange(3000) % 10)
    check_case("dnn.chunk", f"{big} --out {small_disk}/m.h5 --compression gzip --quiet", 2, "free some space",
               tmp_path, capsys)


def test_export_on_a_full_disk_keeps_the_old_model(tmp_path, world, capsys, small_disk):
    _setup(tmp_path, world, [])
    shutil.copy(world / "model.npz", small_disk / "model.npz")
    _fill(small_disk, 0)
    check_case("dnn.export", f"--checkpoint {tmp_path}/ck.h5 --out {small_disk}/model.npz", 2,
               "No space left on device", tmp_path, capsys)


def test_metrics_on_a_full_disk_leave_no_empty_file(tmp_path, world, capsys, small_disk):
    _setup(tmp_path, world, [])
    _fill(small_disk, 0)
    check_case("dnn.train", TRAIN + f" --metrics {small_disk}/m.json", 2, "No space left on device", tmp_path, capsys)
    assert not (small_disk / "m.json").exists()


def test_compare_on_a_full_disk_keeps_the_old_results(tmp_path, world, capsys, small_disk):
    _setup(tmp_path, world, [])
    (small_disk / "cmp").mkdir()
    (small_disk / "cmp" / "compare.json").write_text('{"old": true}')
    _fill(small_disk, 0)
    check_case("dnn.compare", COMPARE.format(d=tmp_path) + f" --out {small_disk}/cmp", 2, "No space left on device",
               tmp_path, capsys)


def test_compare_out_on_a_read_only_disk(tmp_path, world, capsys, small_disk):
    _setup(tmp_path, world, [])
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    check_case("dnn.compare", COMPARE + f" --out {small_disk}/cmp", 2, "not writable", tmp_path, capsys)


def test_checkpoint_on_a_read_only_disk(tmp_path, world, capsys, small_disk):
    _setup(tmp_path, world, [])
    shutil.copy(world / "ck.h5", small_disk / "ck.h5")
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    check_case("dnn.train", TRAIN + f" --checkpoint {small_disk}/ck.h5", 2, "not writable", tmp_path, capsys)


# ---- a card that stops answering ----------------------------------------------------------------


def _signal_the_card(prog: str, argv: list[str], ready, sig: int, settle: float = 0.0):
    """Start `python -m PROG ARGV`, wait until ready(proc) and `settle` seconds more (the card well
    under way), send sig to its one card; (exit status, stderr's non-empty lines, stderr, pid)."""
    proc = subprocess.Popen([sys.executable, "-m", prog, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        t0 = time.monotonic()
        while not ready(proc):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() - t0 < 60
            time.sleep(0.02)
        time.sleep(settle)
        cards = card_processes(parent=proc.pid)
        assert len(cards) == 1
        os.kill(cards[0], sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, [l for l in err.splitlines() if l.strip()], err, proc.pid


def test_stopped_card_ends_like_a_dead_one(tmp_path, world):
    """SIGSTOP: alive but silent. With --card-timeout 1 the host kills it after a second of no
    heartbeat, writes the last complete chunk's checkpoint, and says so in one line."""
    _setup(tmp_path, world, [])
    ck = tmp_path / "run.h5"
    argv = TRAIN.format(d=tmp_path).replace("20-16-5", "20-512-512-5").replace("--epochs 1", "--epochs 500")
    status, lines, err, pid = _signal_the_card(  # one epoch done: the card is well under way
        "dnn.train", [*argv.split(), "--checkpoint", str(ck), "--card-timeout", "1"], lambda proc: ck.exists(),
        signal.SIGSTOP)
    assert status == 2, err
    assert len(lines) == 1 and "stopped answering" in lines[0] and f"--resume {ck}" in lines[0], err
    assert card_processes(parent=pid) == []
    assert ckpt.load(ck).epoch >= 1
    assert _leftovers(tmp_path) == []


def test_a_card_dying_under_compare_gives_advice_compare_can_follow(tmp_path, world):
    """dnn.compare has no --checkpoint: its one line says to run it again or leave the run out,
    and nothing is written."""
    _setup(tmp_path, world, [])
    argv = (COMPARE.format(d=tmp_path).replace("20-16-5", "20-512-512-5").replace("host,implicit", "implicit")
            + f" --epochs 500 --out {tmp_path}/cmp").split()
    status, lines, err, _ = _signal_the_card("dnn.compare", argv, lambda proc: card_processes(parent=proc.pid),
                                             signal.SIGKILL, settle=0.5)  # training, not starting
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith("dnn.compare: error: run implicit/chunk/none: "), err
    assert "run dnn.compare again" in lines[0] and "--checkpoint" not in lines[0], err
    assert not (tmp_path / "cmp").exists() and _leftovers(tmp_path) == []


# ---- files that change under a running job, and resource limits ----------------------------------


def test_dataset_shrinking_under_the_reader_is_found(tmp_path, world):
    from dnn.data import ChunkReader
    from dnn.errors import DataError

    data = tmp_path / "data.h5"
    shutil.copy(world / "data.h5", data)
    with ChunkReader(data, "train", shuffle=False, prefetch=False) as r:
        x, y = r.make_buffers(1)[0]
        assert r.read_chunk(0, x, y) == 100
        os.truncate(data, data.stat().st_size // 2)
        with pytest.raises(DataError, match=r"shrank from [\d,]+ to [\d,]+ bytes .*/train rows 100-199"):
            r.read_chunk(1, x, y)


def test_few_open_files_name_the_limit(tmp_path, world):
    """ulimit -n 64 leaves enough descriptors; ulimit -n 8 does not, and the message says which
    limit to raise."""
    import resource

    _setup(tmp_path, world, [])
    argv = [sys.executable, "-m", "dnn.train", *TRAIN.format(d=tmp_path).split()]

    def limit(n):
        return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    ok = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, preexec_fn=limit(64), timeout=120)
    assert ok.returncode == 0, ok.stderr
    low = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, preexec_fn=limit(8), timeout=120)
    lines = [l for l in low.stderr.splitlines() if l.strip()]
    assert low.returncode == 2 and len(lines) == 1 and "ulimit -n" in lines[0], low.stderr


def test_resume_restores_the_settings_it_was_not_given(tmp_path, world, capsys):
    """Seed, lr, chunk, schedule and momentum come from the checkpoint: resuming without them
    ends with the very weights of an uninterrupted run (one thread)."""
    shaped = (" --seed 3 --lr 0.1 --chunk 50 --lr-schedule step --lr-step 1 --lr-gamma 0.5 --momentum 0.8"
              f" --data {world}/data.h5")
    base = TRAIN.format(d=world).replace(f"--data {world}/data.h5", "")
    whole, half = tmp_path / "whole.h5", tmp_path / "half.h5"
    assert _run("dnn.train", base.replace("--epochs 1", "--epochs 2") + shaped + f" --checkpoint {whole}",
                capsys)[0] == 0
    assert _run("dnn.train", base + shaped + f" --checkpoint {half}", capsys)[0] == 0
    status, err = _run("dnn.train", base.replace("--epochs 1", "--epochs 2") + f" --data {world}/data.h5"
                       f" --resume {half} --checkpoint {half}", capsys)
    assert status == 0, err
    a, b = ckpt.load(whole), ckpt.load(half)
    assert b.epoch == 2 and b.config["lr"] == 0.1 and b.config["chunk"] == 50 and b.seed == 3
    assert np.array_equal(a.params, b.params) and np.array_equal(a.moment, b.moment)


def test_long_kernels_keep_beating(tmp_path, world, capsys):
    """One chunk of 40 bunches through a 20-4096-4096-5 network runs for over a second in one
    kernel; a --card-timeout of half a second does not mistake it for a hung card. (2048 wide, a
    quiet machine finished the epoch in 0.46 s, under what the test needs to prove anything.)"""
    argv = (TRAIN.format(d=world).replace("20-16-5", "20-4096-4096-5") + " --chunk 400 --card-timeout 0.5"
            f" --metrics {tmp_path}/m.json")
    status, err = _run("dnn.train", argv, capsys)
    assert status == 0, err
    import json

    assert json.loads((tmp_path / "m.json").read_text())["epoch_s"][0] > 0.5  # the test proved something


def test_threads_far_above_the_cores_warn_once(capsys):
    from argparse import Namespace

    from dnn.train import build_parser
    from dnn.train_checks import check_ranges

    args = build_parser().parse_args(["--threads", str(4 * (os.cpu_count() or 1) + 1)])
    check_ranges(args, inputs=20)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "oversubscribes" in lines[0]
    check_ranges(Namespace(**{**vars(args), "threads": 1}), inputs=20)
    assert capsys.readouterr().err == ""


def test_ctrl_c_on_the_slowest_link_ends_at_once(tmp_path, world):
    """The slowest link allowed (1 MB/s, 1 s per transfer): Ctrl-C is not held up by the model."""
    argv = TRAIN.format(d=world).replace("--epochs 1", "--epochs 50") + " --mode explicit --link 0.001,1000000"
    proc = subprocess.Popen([sys.executable, "-m", "dnn.train", *argv.split()], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        t0 = time.monotonic()
        while not card_processes(parent=proc.pid):
            assert proc.poll() is None and time.monotonic() - t0 < 30, proc.communicate()
            time.sleep(0.02)
        time.sleep(1.5)  # inside a modelled transfer
        before = host_seconds(proc.pid)
        proc.send_signal(signal.SIGINT)
        err = exit_unreaped(proc, timeout=60)
        took, waited_for_cpu = host_seconds(proc.pid, since=before)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    # Under 3 s of its own time (a transfer models 1 s, a run 50 epochs of them), the time a
    # loaded machine kept it waiting for a CPU left out (conftest.host_seconds).
    assert took - waited_for_cpu < 3, (took, waited_for_cpu, err)
    assert proc.returncode == 130 and err.strip().splitlines() == ["dnn.train: interrupted"], err


@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="under make sanitize: AddressSanitizer reserves ~15 TB of address space for its "
                           "shadow at start-up, which no address-space limit (ulimit -v) leaves room for")
def test_address_space_limit_is_named(tmp_path, world):
    import resource

    argv = [sys.executable, "-m", "dnn.train", *TRAIN.format(d=world).replace("20-16-5", "20-20000-20000-5").split()]
    r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "ulimit -v" in lines[0], r.stderr


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed one, on purpose
def test_a_ctrl_c_swallowed_in_a_finaliser_still_ends_the_command(capsys):
    """A signal's exception raised inside a __del__ (or a weakref callback) is only printed by
    Python, which goes on: the command must still end as interrupted, not report success."""
    import signal as _signal

    from dnn import cli

    class Finalised:
        def __del__(self):
            cli._on_signal(_signal.SIGINT, None)

    def main(argv):
        Finalised()  # collected at once: its KeyboardInterrupt is swallowed
        return 0

    try:
        assert cli.run_cli("prog", main, []) == 130
        assert "prog: interrupted" in capsys.readouterr().err
        assert cli.run_cli("prog", lambda argv: 0, []) == 0  # answered: the next command starts afresh
    finally:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
