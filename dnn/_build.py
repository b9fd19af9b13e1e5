"""Build description of the native code, shared by setup.py (cffi extension + card executable).

The host library (`dnn._native`, cffi out-of-line API mode) and the card executable
(`dnn/bin/dnn-card`) compile the same kernel sources with the same flags, so host mode and the
card run identical code: that is what lets the modes agree bit for bit.
"""

import os
from pathlib import Path

import cffi

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "native"

RUNTIME = ["arena.c", "ring.c", "util.c", "link.c", "registry.c", "shared.c", "local.c", "myo.c"]
HOST_ONLY = ["host.c"]
CARD_ONLY = ["card.c"]


def _rel(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


KERNEL_DIRS = ["dnn", "arrays"]  # native/dnn: the trainer; native/arrays: dnn.arrays' kernels


def kernel_sources():
    """Every kernel compiled into card and host: the trainer and the runtime's test kernels."""
    plain_c = sorted(p for d in KERNEL_DIRS for p in (NATIVE / d).glob("*.c"))
    return _rel(plain_c + [NATIVE / "tests" / "kernels_test.c"] + cilk_sources())


# ---- Cilk Plus sources (hook for dnn.cilkpp) ------------------------------------------------
# native/dnn/*.cilk are translated by dnn.cilkpp into build/cilkpp/native/*.c (generated C is
# never committed) and compiled like the .c kernels, into the host library and the card.
# Re-translated when the .cilk or the translator is newer than the generated file.
def cilk_sources():
    srcs = sorted(p for d in KERNEL_DIRS for p in (NATIVE / d).glob("*.cilk"))
    if not srcs:
        return []
    # Absolute import: cffi and setup.py run this file outside the package.
    import sys

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from dnn.cilkpp import translate

    out_dir = ROOT / "build" / "cilkpp" / "native"
    tool = max(p.stat().st_mtime for p in (Path(__file__).parent / "cilkpp").glob("*.py"))
    outs = []
    for src in srcs:
        dst = out_dir / (src.stem + ".c")
        if not dst.exists() or dst.stat().st_mtime < max(src.stat().st_mtime, tool):
            out_dir.mkdir(parents=True, exist_ok=True)
            text = translate(src.read_text(), str(src.relative_to(ROOT)), [str(NATIVE / "include")] + [str(NATIVE / d) for d in KERNEL_DIRS])
            tmp = dst.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, dst)
        outs.append(dst)
    return outs


def runtime_sources(side):
    extra = HOST_ONLY if side == "host" else CARD_ONLY
    return _rel([NATIVE / "offload" / f for f in RUNTIME + extra])


def blas():
    """OpenBLAS from the scipy-openblas32 wheel: include dir, lib dir, library name."""
    import scipy_openblas32 as ob

    return ob.get_include_dir(), ob.get_lib_dir(), ob.get_library()


INCLUDE_DIRS = [str(NATIVE / "include"), str(NATIVE / "offload"), str(NATIVE / "dnn"), str(NATIVE / "arrays")]
# -ffp-contract=off: no FMA contraction chosen differently in two builds of the same source;
# no -ffast-math anywhere (reductions are vectorised with omp simd instead). -fno-math-errno and
# -fno-trapping-math change no result; they let gcc if-convert and vectorise the exp loops.
CFLAGS = ["-O3", "-march=native", "-std=gnu11", "-fopenmp", "-ffp-contract=off", "-fno-math-errno",
          "-fno-trapping-math",
          "-Wall", "-Wextra", "-Wno-unused-parameter"]
LDFLAGS = ["-fopenmp", "-lm"]

# `make sanitize`: the same build with AddressSanitizer and UndefinedBehaviorSanitizer.
if os.environ.get("DNN_SANITIZE"):
    _SAN = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g"]
    CFLAGS = [f for f in CFLAGS if f != "-O3"] + ["-O1"] + _SAN
    LDFLAGS = LDFLAGS + _SAN


def rpaths(blas_lib_dir, depth):
    """Where the loader finds OpenBLAS: next to us in site-packages, or where it was at build."""
    up = "/".join([".."] * depth)
    return [f"-Wl,-rpath,$ORIGIN/{up}/scipy_openblas32/lib", f"-Wl,-rpath,{blas_lib_dir}"]


CDEF = (Path(__file__).resolve().parent / "_cdef.h").read_text()

ffibuilder = cffi.FFI()
ffibuilder.cdef(CDEF)
_inc, _lib, _name = blas()
ffibuilder.set_source(
    "dnn._native",
    '#include "offload.h"\n#include "cilk_offload.h"\n#include "dnn.h"\n',
    sources=runtime_sources("host") + kernel_sources(),
    include_dirs=INCLUDE_DIRS + [_inc],
    library_dirs=[_lib],
    libraries=[_name],
    extra_compile_args=CFLAGS,
    extra_link_args=LDFLAGS + rpaths(_lib, 1),
)

def build_c_test(source, out, cflags=None):
    """Link a C program against the host runtime and every kernel (tests, benchmarks)."""
    import subprocess

    inc, lib, name = blas()
    cmd = (["gcc"] + (cflags or CFLAGS) + [f"-I{d}" for d in INCLUDE_DIRS + [inc]]
           + [str(ROOT / s) for s in runtime_sources("host") + kernel_sources()] + [source]
           + ["-o", out, f"-L{lib}", f"-l{name}"] + LDFLAGS + rpaths(lib, 1))
    subprocess.run(cmd, check=True)


def build_train_port_check(out):
    """tests/cilkpp/train_port_check.c: the translated train.cilk against the hand-written C of
    native/tests/train_c.c (tests/test_cilkpp.py for the bits, tools/bench_port.py for the time)."""
    from dnn.cilkpp.build import compile_program

    train = [p for p in cilk_sources() if p.name == "train.c"]
    inc, lib, name = blas()
    srcs = [NATIVE / "dnn" / "gemm.c", NATIVE / "dnn" / "layout.c", NATIVE / "tests" / "train_c.c"] + train
    compile_program(ROOT / "tests" / "cilkpp" / "train_port_check.c", out, "host",
                    ["-I" + inc, "-I" + str(NATIVE / "tests")], [str(p) for p in srcs],
                    ["-L" + lib, "-l" + name, "-Wl,-rpath," + lib])
    return out


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "--c-test":
        build_c_test(sys.argv[2], sys.argv[3])
    else:
        ffibuilder.compile(verbose=True)
