"""The card runtime's costs: empty-offload latency (C and Python, back to back and after the card
has gone to sleep), explicit transfer bandwidth against memcpy, and the knc-pcie link model.

    python tools/bench_offload.py                      # full run, Markdown table (~1 minute)
    python tools/bench_offload.py --quick              # fewer repetitions
    python tools/bench_offload.py --update BENCHMARKS.md   # also rewrite its "## Card runtime"

Builds build/bench_offload (tools/bench_offload.c, linked by `python -m dnn._build --c-test`)
when it is missing or older than the runtime, runs it --runs times (each run a fresh card), and
quotes the median over runs of each run's median. Every ratio is taken against a baseline measured
in the same run (memcpy of the same size between pre-faulted buffers, a bare process ping-pong),
so machine noise hits both sides of a ratio alike. The load average before the run is printed:
figures taken while other work ran on this 2-core machine are not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_C = ROOT / "tools" / "bench_offload.c"
BENCH_BIN = ROOT / "build" / "bench_offload"
CARD_EXE = ROOT / "dnn" / "bin" / "dnn-card"
TARGET_LATENCY_US = 20.0
TARGET_BW_FRACTION = 0.5
TARGET_MODEL_TOLERANCE = 0.05


def _newest(paths) -> float:
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


def ensure_built() -> None:
    native = list((ROOT / "native").rglob("*.[ch]")) + [ROOT / "dnn" / "_build.py", ROOT / "dnn" / "buildconfig.py"]
    newest = _newest(native)
    if not CARD_EXE.exists() or CARD_EXE.stat().st_mtime < newest:
        # The card and this bench must share the control block's layout: rebuild both.
        subprocess.run(["make", "-C", str(ROOT), "build"], check=True)
    if not BENCH_BIN.exists() or BENCH_BIN.stat().st_mtime < max(newest, BENCH_C.stat().st_mtime,
                                                                 CARD_EXE.stat().st_mtime):
        BENCH_BIN.parent.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "dnn._build", "--c-test", str(BENCH_C), str(BENCH_BIN)],
                       check=True, cwd=ROOT)


def run_c(sections, quick: bool) -> list[dict]:
    cmd = [str(BENCH_BIN), str(CARD_EXE), *sections] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# ---- Python: Card.call of an empty kernel ---------------------------------------------------


def python_latency(quick: bool) -> list[dict]:
    from dnn.offload import Card

    rows = []
    with Card(threads=1, link="none") as card:
        for _ in range(1000):
            card.call("off_test_nop")
        rounds, per = (3, 1000) if quick else (5, 3000)
        meds = []
        for _ in range(rounds):
            t = []
            for _ in range(per):
                t0 = time.perf_counter()
                card.call("off_test_nop")
                t.append(time.perf_counter() - t0)
            meds.append(statistics.median(t) * 1e6)
        rows.append({"case": "back-to-back", "median_us": statistics.median(meds)})
        t = []
        for _ in range(100 if quick else 300):
            time.sleep(1e-3)
            t0 = time.perf_counter()
            card.call("off_test_nop")
            t.append(time.perf_counter() - t0)
        rows.append({"case": "idle", "gap_us": 1000, "median_us": statistics.median(t) * 1e6})
    return rows


# ---- gathering --------------------------------------------------------------------------------


def key(r: dict) -> tuple:
    return tuple(r.get(k) for k in ("section", "case", "gap_us", "link", "dir", "bytes"))


def merge(runs: list[list[dict]]) -> list[dict]:
    """Median over runs of every number, per row (rows matched by their identifying fields)."""
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        for r in run:
            groups.setdefault(key(r), []).append(r)
    merged = []
    for rs in groups.values():
        m = dict(rs[0])
        for k, v in rs[0].items():
            if isinstance(v, float):
                m[k] = statistics.median(r[k] for r in rs)
        m["runs"] = len(rs)
        merged.append(m)
    return merged


def size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


def yes(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def table(c_rows: list[dict], py_rows: list[dict], runs: int, load: str, cmd: str) -> str:
    lat = [r for r in c_rows if r["section"] == "latency"]
    bw = sorted((r for r in c_rows if r["section"] == "bandwidth"), key=lambda r: r["bytes"])
    lk = sorted((r for r in c_rows if r["section"] == "link"), key=lambda r: (r["bytes"], r["dir"]))
    b2b = next(r for r in lat if r["case"] == "back-to-back")
    out = [f"`{cmd}` — {runs} runs, each a fresh card (1 thread, not pinned); median of the runs' "
           f"medians. Load average before the run: {load}.", ""]

    out += ["### Empty offload (`off_test_nop`), `none` link", "",
            "| case | median µs | p90 µs | baseline in the same run | target ≤ 20 µs |",
            "|---|---:|---:|---|---|"]
    out.append(f"| C `off_call`, back to back | {b2b['median_us']:.1f} | {b2b['p90_us']:.1f} | "
               f"spin ping-pong between two processes {b2b['spin_pingpong_us']:.2f} µs, futex "
               f"ping-pong {b2b['futex_pingpong_us']:.1f} µs | {yes(b2b['median_us'] <= TARGET_LATENCY_US)} |")
    for r in sorted((r for r in lat if r["case"] == "idle"), key=lambda r: r["gap_us"]):
        state = "card still spinning" if r["gap_us"] < 100 else "card asleep on its futex"
        out.append(f"| C, after {r['gap_us']:.0f} µs idle ({state}) | {r['median_us']:.1f} | "
                   f"{r['p90_us']:.1f} | {r['median_us'] / b2b['median_us']:.1f}× back to back | "
                   f"{yes(r['median_us'] <= TARGET_LATENCY_US)} |")
    for r in py_rows:
        what = "back to back" if r["case"] == "back-to-back" else f"after {r['gap_us']} µs idle"
        base = b2b["median_us"] if r["case"] == "back-to-back" else next(
            (x["median_us"] for x in lat if x.get("gap_us") == r.get("gap_us")), float("nan"))
        out.append(f"| Python `Card.call`, {what} | {r['median_us']:.1f} | | "
                   f"{r['median_us'] / base:.1f}× the same case in C | "
                   f"{yes(r['median_us'] <= TARGET_LATENCY_US)} |")

    out += ["", "### Explicit transfers, `none` link (resident card buffer, pre-faulted host buffers)", "",
            "Whole `off_call` wall time (a transfer with no kernel) against `memcpy` of the same "
            "size, interleaved in the same run; the fraction is the median of per-repetition ratios.", "",
            "| size | memcpy GB/s | in GB/s | in / memcpy | out GB/s | out / memcpy | target ≥ 50 % |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for r in bw:
        ok = min(r["in_vs_memcpy"], r["out_vs_memcpy"]) >= TARGET_BW_FRACTION
        out.append(f"| {size(r['bytes'])} | {r['memcpy_GBs']:.1f} | {r['in_GBs']:.2f} | "
                   f"{100 * r['in_vs_memcpy']:.0f} % | {r['out_GBs']:.2f} | {100 * r['out_vs_memcpy']:.0f} % | {yes(ok)} |")

    out += ["", "### `knc-pcie` link model (6.4 GB/s, 12 µs per transfer)", "",
            "*measured* is the runtime's `transfer_s` for the call (first byte sent to the modelled "
            "arrival, as the receiver saw it); *real* is `transfer_real_s`, what the copies took "
            "(below 1: the channel is faster than the model and waits for it); *wall* is the whole "
            "`off_call`, posting and reply included.", "",
            "| size | dir | model µs | measured / model | p90 measured / model | real / model | wall / model | target ±5 % |",
            "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in lk:
        ok = abs(r["measured_over_model"] - 1) <= TARGET_MODEL_TOLERANCE
        out.append(f"| {size(r['bytes'])} | {r['dir']} | {r['model_us']:.1f} | {r['measured_over_model']:.3f} | "
                   f"{r['measured_p90_over_model']:.3f} | {r['real_over_model']:.2f} | {r['wall_over_model']:.2f} | {yes(ok)} |")
    return "\n".join(out) + "\n"


HEADER = """# Benchmarks

Figures are medians of repeated runs on a 2-core AVX2 machine (a KVM guest: timings are noisy,
so every figure is a median and every comparison is a ratio against a baseline measured in the
same run). Each section names the command that produced it.
"""


def update(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else HEADER
    body = "## Card runtime\n\n" + section
    start = text.find("\n## Card runtime")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start + 1] + body + (text[end:] if end >= 0 else "")
    path.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    ap.add_argument("--runs", type=int, default=3, help="fresh-card runs of the C bench (default 3)")
    ap.add_argument("--update", metavar="FILE", help="rewrite the '## Card runtime' section of FILE")
    args = ap.parse_args(argv)

    ensure_built()
    load = Path("/proc/loadavg").read_text().split()[0]
    runs = [run_c(["latency", "bandwidth", "link"], args.quick) for _ in range(args.runs)]
    c_rows = merge(runs)
    py_rows = merge([python_latency(args.quick) for _ in range(args.runs)])
    cmd = "python tools/bench_offload.py" + (" --quick" if args.quick else "") + (
        f" --runs {args.runs}" if args.runs != 3 else "")
    md = table(c_rows, py_rows, args.runs, load, cmd)
    print(md)
    if args.update:
        update(Path(args.update), md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
