"""The build's Python side: its configuration and builders import without building anything."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules_after(code):
    r = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def test_build_configuration_imports_nothing_of_the_build():
    mods = _modules_after("import dnn.buildconfig")
    assert not {"cffi", "dnn.cilkpp", "dnn._build", "scipy_openblas32"} & mods


def test_builders_import_in_either_order_and_make_no_ffi_until_asked():
    for first, second in (("dnn._build", "dnn.cilkpp.build"), ("dnn.cilkpp.build", "dnn._build")):
        mods = _modules_after(f"import {first}, {second}")
        assert "cffi" not in mods  # the FFI builder is made by make_ffi(), not at import
    mods = _modules_after("import dnn._build as b; ffi = b.make_ffi(); assert ffi.__class__.__name__ == 'FFI'")
    assert "cffi" in mods
