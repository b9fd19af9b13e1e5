"""What MYO coherence costs: bytes moved per epoch and time, implicit-myo against explicit.

    python tools/bench_myo.py            # 784-800-800-10 and the DNNTK shape (~10 minutes)
    python tools/bench_myo.py --quick    # 784-800-800-10 only, fewer rows

Runs dnn.compare (same code path as dnn.train) on synthetic data of each shape, for implicit
(shared), implicit-myo (on-demand), explicit-copy and explicit-resident, with the none and
knc-pcie links, and prints per configuration: bytes moved per epoch (explicit: the transfer
counters; myo: pages moved x 4 KiB), wall time, and MYO's coherence time as a share of compute.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def synthetic_file(folder: Path, inputs: int, classes: int, rows: int, chunk: int) -> Path:
    from dnn.data import convert

    rng = np.random.default_rng(0)
    npz = folder / f"syn-{inputs}-{classes}.npz"
    np.savez(npz, x_train=rng.random((rows, inputs), dtype=np.float32), y_train=rng.integers(0, classes, rows),
             x_test=rng.random((chunk, inputs), dtype=np.float32), y_test=rng.integers(0, classes, chunk))
    out = folder / f"syn-{inputs}-{classes}.h5"
    convert(str(npz), out, chunk_rows=chunk, dtype="float32", shuffle=False, quiet=True)
    return out


def run(data, arch, act, bunch, granularity, out):
    from dnn import compare

    compare.main(["--data", str(data), "--arch", arch, "--activation", act, "--bunch", str(bunch),
                  "--modes", "implicit,implicit-myo,explicit-copy,explicit-resident", "--granularity", granularity,
                  "--links", "none,knc-pcie", "--threads", "2", "--out", str(out)])
    return json.loads((out / "compare.json").read_text())["runs"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    cases = [("784-800-800-10", "relu", 100, 784, 10, 20000 if not a.quick else 6000, 5000, "chunk,bunch,op")]
    if not a.quick:
        cases.append(("429-2048-2048-2048-2048-2048-2048-8991", "sigmoid", 1024, 429, 8991, 4096, 2048, "chunk,bunch"))
    lines = ["| network | granularity | mode | link | MB moved / epoch | wall s | coherence s | coherence / compute |",
             "|---|---|---|---|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for arch, act, bunch, inputs, classes, rows, chunk, grans in cases:
            data = synthetic_file(tmp, inputs, classes, rows, chunk)
            runs = run(data, arch, act, bunch, grans, tmp / "out")
            short = "429-2048x6-8991" if arch.startswith("429") else arch
            for r in runs:
                moved = r["bytes_to_card"] + r["bytes_from_card"] + r.get("myo_bytes_to_card", 0) + \
                    r.get("myo_bytes_from_card", 0)
                coh = r.get("coherence_s", 0.0)
                share = f"{100 * coh / r['compute_s']:.1f}%" if r["mode"] == "implicit-myo" else ""
                lines.append(f"| {short} | {r['granularity']} | {r['mode']} | {r['link']} | {moved / 1e6:,.1f} | "
                             f"{r['wall_s']:.2f} | {coh:.3f} | {share} |")
                print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
