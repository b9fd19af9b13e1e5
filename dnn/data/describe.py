"""info: what a chunked HDF5 file holds, as text (`python -m dnn.chunk info FILE.h5`)."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from .reader import check_split, open_dataset, stored_scale


def info(path: str | os.PathLike) -> str:
    """What a chunked file holds, as text."""
    path = Path(path)
    with open_dataset(path) as f:
        a = f.attrs
        k = int(a["num_classes"])
        names = [str(n) for n in a["class_names"]] if "class_names" in a else []
        splits = [s for s in ("train", "val", "test") if s in f] + sorted(
            s for s in f if s not in ("train", "val", "test") and isinstance(f[s], h5py.Group))
        if "train" not in splits:
            check_split(f, "train")  # raises, naming what is missing
        rows, counts = {}, {}
        for s in splits:
            x, y = check_split(f, s)
            rows[s] = x.shape[0]
            counts[s] = np.bincount(y[...].astype(np.int64).clip(0), minlength=k)
        x = f["train/x"]
        shape = tuple(int(v) for v in a.get("input_shape", (x.shape[1],)))
        comp = x.compression or "none"
        if x.compression == "gzip":
            comp += f" level {x.compression_opts}"
        chunk = x.chunks[0] if x.chunks else None
        lines = [
            f"{path} ({path.stat().st_size / 1e6:,.1f} MB, {a.get('format', 'no format attribute')})",
            f"source       {a.get('source', '?')}",
            f"inputs       {x.shape[1]:,} values ({'x'.join(map(str, shape))}), stored {x.dtype}, "
            f"read as stored x {stored_scale(f, x):.6g}",
            f"chunking     {f'{chunk:,} rows per chunk' if chunk else 'not chunked (contiguous)'}, "
            f"compression {comp}, {'shuffled (seed ' + str(a['seed']) + ')' if a.get('shuffled') else 'in source order'}",
            f"classes      {k}",
            "",
            f"{'split':<8}{'rows':>10}{'chunks':>8}",
        ]
        for s in splits:
            lines.append(f"{s:<8}{rows[s]:>10,}{(-(-rows[s] // chunk) if chunk else 1):>8}")
        lines += ["", f"{'class':<18}" + "".join(f"{s:>10}" for s in splits)]
        for c in range(k):
            label = f"{c} {names[c] if c < len(names) else ''}".strip()[:17]
            lines.append(f"{label:<18}" + "".join(f"{counts[s][c]:>10,}" for s in splits))
    return "\n".join(lines)
