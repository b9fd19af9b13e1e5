"""Benchmark of the data path: dnn.chunk conversion and ChunkReader reading.

    .venv/bin/python tools/bench_data.py [--source fashion-mnist] [--repeat 3] [--epochs 3]

Conversion: MB/s of output file written (source read + parse + shuffle + HDF5 write), per
storage dtype and compression. Reading: images/s into float32 buffers, with and without
prefetch, with the consumer idle (pure read rate) and with a consumer that is busy for a fixed
time per chunk (as the card is while it trains): there the number that matters is the read
time left exposed per chunk (epoch time minus busy time), which prefetching should bring to
about zero. Every number is the median of --repeat runs. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnn.data import convert  # noqa: E402
from dnn.data import ChunkReader  # noqa: E402

CONVERSIONS = [("uint8", "none", None), ("uint8", "lzf", None), ("uint8", "gzip", 4),
               ("float32", "none", None), ("float32", "lzf", None), ("float32", "gzip", 4)]


def median_time(fn, repeat: int) -> float:
    return statistics.median(timeit.repeat(fn, number=1, repeat=repeat))


def bench_conversion(source: str, folder: Path, repeat: int) -> list[dict]:
    rows = []
    for dtype, comp, level in CONVERSIONS:
        out = folder / f"{dtype}-{comp}.h5"
        secs = median_time(lambda: convert(source, out, dtype=dtype, compression=comp, compression_level=level,
                                           force=True, quiet=True), repeat)
        size = out.stat().st_size
        rows.append({"dtype": dtype, "compression": comp if level is None else f"{comp} {level}",
                     "MB": size / 1e6, "s": secs, "MB/s": size / 1e6 / secs, "path": out})
    return rows


def read_epochs(path: Path, prefetch: bool, epochs: int, busy_s: float) -> tuple[int, int]:
    images = chunks = 0
    with ChunkReader(path, "train", prefetch=prefetch, seed=0) as r:
        buffers = r.make_buffers(2)
        for e in range(epochs):
            for n, _x, _y in r.epoch(e, buffers):
                images += n
                chunks += 1
                if busy_s:
                    time.sleep(busy_s)   # the card training on this chunk (releases the GIL, as cffi calls do)
    return images, chunks


def bench_reading(files: list[dict], repeat: int, epochs: int, busy_s: float) -> list[dict]:
    rows = []
    for f in files:
        for prefetch in (False, True):
            images, chunks = read_epochs(f["path"], prefetch, 1, 0.0)   # warm the page cache
            idle = median_time(lambda: read_epochs(f["path"], prefetch, epochs, 0.0), repeat)
            busy = median_time(lambda: read_epochs(f["path"], prefetch, epochs, busy_s), repeat)
            exposed = (busy - chunks * epochs * busy_s) / (chunks * epochs)
            rows.append({"file": f"{f['dtype']}, {f['compression']}", "prefetch": "yes" if prefetch else "no",
                         "img/s": images * epochs / idle, "exposed_ms": exposed * 1e3})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", default="fashion-mnist")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3, help="epochs per reading run")
    p.add_argument("--busy-ms", type=float, default=50.0, help="consumer work per chunk in the busy runs")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent.parent / "data") as tmp:
        conv = bench_conversion(args.source, Path(tmp), args.repeat)
        read = bench_reading(conv, args.repeat, args.epochs, args.busy_ms / 1e3)
    print(f"Command: `{' '.join(['.venv/bin/python', 'tools/bench_data.py'] + (argv or sys.argv[1:]))}` "
          f"(source {args.source}, medians of {args.repeat} runs)\n")
    print("| storage | compression | file MB | convert s | MB/s written |")
    print("|---|---|---:|---:|---:|")
    for r in conv:
        print(f"| {r['dtype']} | {r['compression']} | {r['MB']:.1f} | {r['s']:.2f} | {r['MB/s']:.0f} |")
    print(f"\n| file | prefetch | images/s (consumer idle) | read time exposed per chunk, consumer busy "
          f"{args.busy_ms:g} ms/chunk |")
    print("|---|---|---:|---:|")
    for r in read:
        print(f"| {r['file']} | {r['prefetch']} | {r['img/s']:,.0f} | {r['exposed_ms']:.1f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
