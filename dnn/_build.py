"""The native build: the cffi host library (`dnn._native`, out-of-line API mode), the kernel
sources it shares with the card executable (setup.py), and C programs linked against both (tests,
benchmarks). Flags and source lists are in dnn/buildconfig.py.

    python -m dnn._build                 # the cffi library, in place
    python -m dnn._build --c-test SRC OUT   # a C program on the host runtime and every kernel

setup.py names `make_ffi` in cffi_modules; cffi runs this file outside the package, so every
import here is absolute.
"""

import subprocess

from dnn import buildconfig as cfg
from dnn.cilkpp.build import compile_program, translate_if_stale


def cilk_sources():
    """native/{dnn,arrays}/*.cilk translated into build/cilkpp/native/*.c (again when the .cilk or the
    translator is newer), to compile like the .c kernels into the host library and the card."""
    return [translate_if_stale(src, cfg.CILK_OUT / (src.stem + ".c"), cfg.cilk_include_dirs())
            for src in cfg.cilk_programs()]


def kernel_sources():
    """Every kernel compiled into card and host, relative to the root: the trainer and the
    runtime's test kernels."""
    return cfg.rel(cfg.c_kernel_sources() + cilk_sources())


def make_ffi():
    """The cffi builder of dnn._native: the runtime's host side and every kernel."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef((cfg.ROOT / "dnn" / "_cdef.h").read_text())
    inc, lib, name = cfg.blas()
    ffi.set_source(
        "dnn._native",
        '#include "off_runtime.h"\n#include "cilk_offload.h"\n#include "dnn.h"\n',
        sources=cfg.runtime_sources("host") + kernel_sources(),
        include_dirs=cfg.INCLUDE_DIRS + [inc],
        library_dirs=[lib],
        libraries=[name],
        extra_compile_args=cfg.CFLAGS,
        extra_link_args=cfg.LDFLAGS + cfg.rpaths(lib, 1),
    )
    return ffi


def build_c_test(source, out, cflags=None):
    """Link a C program against the host runtime and every kernel (tests, benchmarks)."""
    inc, lib, name = cfg.blas()
    cmd = (["gcc"] + (cflags or cfg.CFLAGS) + [f"-I{d}" for d in cfg.INCLUDE_DIRS + [inc]]
           + [str(cfg.ROOT / s) for s in cfg.runtime_sources("host") + kernel_sources()] + [source]
           + ["-o", out, f"-L{lib}", f"-l{name}"] + cfg.LDFLAGS + cfg.rpaths(lib, 1))
    subprocess.run(cmd, check=True)


def build_train_port_check(out):
    """tests/cilkpp/train_port_check.c: the translated train.cilk against the hand-written C of
    native/tests/train_c.c (tests/test_cilkpp.py for the bits, tools/bench_port.py for the time)."""
    train = [p for p in cilk_sources() if p.name in ("train.c", "conv.c")]  # conv.c: the shared element-wise kernels
    inc, lib, name = cfg.blas()
    native = cfg.NATIVE
    srcs = [native / "dnn" / f for f in ("gemm.c", "conv_gemm.c", "team.c", "layout.c", "maps.c", "sgd_lines.c")]
    srcs += [native / "tests" / "train_c.c"]
    srcs += train
    compile_program(cfg.ROOT / "tests" / "cilkpp" / "train_port_check.c", out, "host",
                    ["-I" + inc, "-I" + str(native / "tests")], [str(p) for p in srcs],
                    ["-L" + lib, "-l" + name, "-Wl,-rpath," + lib])
    return out


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "--c-test":
        build_c_test(sys.argv[2], sys.argv[3])
    else:
        make_ffi().compile(verbose=True)
