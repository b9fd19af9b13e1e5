"""Getting a package onto this machine: a Debian package with apt-get, a wheel with pip.

Nothing else in dnn runs a package manager. Each step first says on stderr the exact command it
runs, whatever --quiet says (a package never arrives unannounced), and raises DataError with the
last line the command printed when it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import DataError


def can_apt_install() -> bool:
    """apt-get is here and we are root: a Debian package can be installed without asking."""
    return bool(shutil.which("apt-get")) and hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(package: str) -> None:
    """apt-get install PACKAGE; refreshes the package lists once if that fails."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", package]
    r = _run(install, env)
    if r.returncode != 0:  # the package lists may be missing or stale
        _run(["apt-get", "update", "-q"], env)
        r = _run(install, env)
    if r.returncode != 0:
        raise DataError(_last_line(r))


def pip_download(package: str, folder: Path) -> None:
    """pip download PACKAGE into FOLDER: the wheel only, nothing installed, no dependencies."""
    folder.mkdir(parents=True, exist_ok=True)
    r = _run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
              package, "-d", str(folder)])
    if r.returncode != 0:
        raise DataError(_last_line(r))


def _run(cmd: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    shown = " ".join(["python" if c == sys.executable else c for c in cmd])
    print(f"dnn: running {shown}", file=sys.stderr)
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def _last_line(r: subprocess.CompletedProcess) -> str:
    return ((r.stderr or r.stdout or "").strip().splitlines() or ["no output"])[-1]
