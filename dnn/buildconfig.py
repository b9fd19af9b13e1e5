"""Build configuration of the native code: where the sources are and how they are compiled.

Read by dnn/_build.py (the cffi host library, C test programs), dnn/cilkpp/build.py (translated
programs) and setup.py (the card executable). Importing it runs nothing and writes nothing (it
only reads $DNN_SANITIZE); what builds lives in those three.

The host library (`dnn._native`) and the card executable (`dnn/bin/dnn-card`) compile the same
kernel sources with the same flags, so host mode and the card run identical code: that is what
lets the modes agree bit for bit.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "native"
# native/dnn/*.cilk are translated by dnn.cilkpp into here (generated C is never committed).
CILK_OUT = ROOT / "build" / "cilkpp" / "native"

RUNTIME = ["arena.c", "ring.c", "util.c", "link.c", "registry.c", "shared.c", "local.c", "myo.c", "myo_fetch.c", "myo_own.c", "myo_host.c", "myo_track.c", "resident.c"]
HOST_ONLY = ["host.c", "call.c", "proc.c", "devices.c"]
CARD_ONLY = ["card.c"]

KERNEL_DIRS = ["dnn", "arrays"]  # native/dnn: the trainer; native/arrays: the kernels of dnn.arrays
INCLUDE_DIRS = [str(NATIVE / "include"), str(NATIVE / "offload")] + [str(NATIVE / d) for d in KERNEL_DIRS]
# -ffp-contract=off: no FMA contraction chosen differently in two builds of the same source;
# no -ffast-math anywhere (reductions are vectorised with omp simd instead). -fno-math-errno and
# -fno-trapping-math change no result; they let gcc if-convert and vectorise the exp loops.
CFLAGS = ["-O3", "-march=native", "-std=gnu11", "-fopenmp", "-ffp-contract=off", "-fno-math-errno",
          "-fno-trapping-math",
          "-Wall", "-Wextra", "-Wno-unused-parameter"]
LDFLAGS = ["-fopenmp", "-lm"]

# `make sanitize`: the same build with AddressSanitizer and UndefinedBehaviorSanitizer;
# DNN_SANITIZE=thread (`make sanitize-thread`): with ThreadSanitizer instead.
if os.environ.get("DNN_SANITIZE"):
    _SAN = (["-fsanitize=thread", "-fno-omit-frame-pointer", "-g"] if os.environ["DNN_SANITIZE"] == "thread" else
            ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g"])
    CFLAGS = [f for f in CFLAGS if f != "-O3"] + ["-O1"] + _SAN
    LDFLAGS = LDFLAGS + _SAN


def rel(paths):
    """Paths relative to ROOT, as text (setuptools wants relative source paths)."""
    return [str(Path(p).relative_to(ROOT)) for p in paths]


def runtime_sources(side):
    """The runtime's sources for 'host' or 'card', relative to ROOT."""
    extra = HOST_ONLY if side == "host" else CARD_ONLY
    return rel([NATIVE / "offload" / f for f in RUNTIME + extra])


def c_kernel_sources():
    """The kernels written in C: the trainer's, the offload arrays' and the runtime's test kernels."""
    return sorted(p for d in KERNEL_DIRS for p in (NATIVE / d).glob("*.c")) + [NATIVE / "tests" / "kernels_test.c"]


def cilk_programs():
    """The kernels written in Cilk Plus, to be translated before they compile."""
    return sorted(p for d in KERNEL_DIRS for p in (NATIVE / d).glob("*.cilk"))


def cilk_include_dirs():
    """Where the translator finds the headers the kernels' .cilk files include."""
    return [str(NATIVE / "include")] + [str(NATIVE / d) for d in KERNEL_DIRS]


def blas():
    """OpenBLAS from the scipy-openblas32 wheel: include dir, lib dir, library name."""
    import scipy_openblas32 as ob

    return ob.get_include_dir(), ob.get_lib_dir(), ob.get_library()


def rpaths(blas_lib_dir, depth):
    """Where the loader finds OpenBLAS: next to us in site-packages, or where it was at build."""
    up = "/".join([".."] * depth)
    return [f"-Wl,-rpath,$ORIGIN/{up}/scipy_openblas32/lib", f"-Wl,-rpath,{blas_lib_dir}"]
