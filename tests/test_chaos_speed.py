"""tools/chaos_speed.py --pair: two one-worker runs in two processes, each with a card of its own,
timed at once (the machine's two-worker speed with nothing shared, set beside CHAOS's)."""

import sys
from pathlib import Path

import numpy as np

from dnn.data import convert


def test_pair_runs_two_cards_at_once(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from chaos_speed import pair_run, speed_run

    rng = np.random.default_rng(0)  # 28x28 images of 10 classes, as chaos-small takes
    x, y = rng.random((240, 28, 28), dtype=np.float32), rng.integers(0, 10, 240)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x[:40], y_test=y[:40])
    data = str(tmp_path / "d.h5")
    convert(str(tmp_path / "d.npz"), data, chunk_rows=64, dtype="float32", shuffle=False, quiet=True)

    one = speed_run("chaos-small", data, 1, 1, 4800)
    pair = pair_run("chaos-small", data, 1, 4800)
    # both timed runs overlap for most of the longer one: they ran at once, not one after the other
    assert pair["overlap"] > 0.5, pair
    assert pair["images_per_s"] > one["images_per_s"] * 0.5 > 0, (pair, one)
