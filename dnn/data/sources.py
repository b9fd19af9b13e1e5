"""open_source: what a SOURCE argument of `dnn.chunk` names, opened with the reader for its kind.

A named dataset (named.py), a folder of IDX files or an IDX image/label pair (idx.py), an .npz
(npz.py), or a .csv / .csv.gz (csvfile.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError, DnnValueError
from .csvfile import csv_split
from .idx import idx_folder_splits, idx_pair
from .named import NAMED, open_named
from .npz import npz_splits
from .rows import Source


def open_source(spec: list[str] | str, *, label_column: str | None = None, label_last: bool = False,
                pixels: bool = False, quiet: bool = False) -> Source:
    """Open SOURCE: a named dataset, an IDX folder or image/label pair, an .npz or a .csv[.gz].

    pixels=True asks for uint8 blocks even from a text or float source (values must be 0-255)."""
    src = _open(spec, label_column, label_last, pixels, quiet)
    if pixels:
        for s in src.splits.values():
            s.pixels = True
    return src


def _open(spec, label_column, label_last, pixels, quiet) -> Source:
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    if len(specs) == 1 and str(specs[0]) in NAMED:
        return open_named(str(specs[0]), quiet)
    paths = [Path(s) for s in specs]
    for p in paths:
        if not p.exists():
            raise DataError(f"{p}: no such file or folder, and not a named dataset ({', '.join(NAMED)})")
    if len(paths) == 2:
        return Source(f"{paths[0]} + {paths[1]}", {"all": idx_pair(*paths)})
    if len(paths) != 1:
        raise DnnValueError("SOURCE is one name, folder or file, or a pair of IDX files (images and labels)")
    p = paths[0]
    if p.is_dir():
        return Source(str(p), idx_folder_splits(p))
    name = p.name.lower()
    if name.endswith(".npz"):
        return Source(str(p), npz_splits(p))
    if name.endswith((".csv", ".csv.gz")):
        return Source(str(p), {"all": csv_split(p, label_column=label_column, label_last=label_last,
                                                pixels=pixels)})
    raise DataError(f"{p}: unknown kind of file (expected a folder of IDX files, an IDX image/label "
                    "pair, .npz, .csv or .csv.gz)")
