"""dnn-cc: users' offload programs built like `icc -o prog a.c b.c` and run by themselves.

Every entry of tests/cilkpp/cc/ is one program: a directory (all its .c and .cilk files, built
together) or a single .c file. It is built with dnn-cc (flags from a first-line comment
`// dnn-cc: FLAGS`, or a `flags` file in a directory), run with the card it finds by itself and
again with DNN_CARDS=0 (every offload on the host), and its stdout compared with the expected
output: NAME.out / expected.out, and NAME.host.out / expected-host.out where host mode prints
something else. Every tests/cilkpp/cc/errors/*.c must be refused with `FILE:LINE` and the
message of its first line `// error: LINE: message`.
"""

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dnn.cilkpp.build import runtime_objects

HERE = Path(__file__).resolve().parent / "cilkpp" / "cc"
PROGRAMS = sorted([p for p in HERE.iterdir() if p.is_dir() and p.name != "errors"]
                  + [p for p in HERE.glob("*.c") if not p.name.endswith(".inc.c")])  # .inc.c: included by another
ERRORS = sorted((HERE / "errors").glob("*.c"))


def dnn_cc(args, cwd):
    return subprocess.run([sys.executable, "-m", "dnn.cilkpp.driver"] + args, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _sources(prog):
    if prog.is_dir():
        srcs = sorted(p.name for p in prog.iterdir() if p.suffix in (".c", ".cilk"))
        flags = (prog / "flags").read_text().split() if (prog / "flags").exists() else []
        return prog, srcs, flags
    m = re.match(r"// dnn-cc: (.*)", prog.read_text())
    return prog.parent, [prog.name], shlex.split(m.group(1)) if m else []


def _expected(prog, host):
    names = (["expected-host.out"] if host else []) + ["expected.out"] if prog.is_dir() else \
        ([prog.stem + ".host.out"] if host else []) + [prog.stem + ".out"]
    base = prog if prog.is_dir() else prog.parent
    return next((base / n).read_text() for n in names if (base / n).exists())


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every corpus program built once, in parallel: name -> (path of the program, dnn-cc result)."""
    out = tmp_path_factory.mktemp("cc")
    runtime_objects("host")
    runtime_objects("card")

    def one(prog):
        cwd, srcs, flags = _sources(prog)
        exe = out / prog.stem
        # -O1: the programs are small; compile time is what this busy machine would wait for
        return prog.stem, (exe, dnn_cc(["-O1"] + flags + ["-o", str(exe)] + srcs, cwd))

    with ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        return dict(ex.map(one, PROGRAMS))


def _run(exe, **env):
    e = dict(os.environ, OMP_NUM_THREADS="2", DNN_CARD_THREADS="2", **env)
    e.pop("DNN_CARD_EXE", None)
    return subprocess.run([str(exe)], capture_output=True, text=True, env=e, timeout=120)


@pytest.mark.parametrize("prog", PROGRAMS, ids=lambda p: p.stem)
@pytest.mark.parametrize("cards", ["card", "host"])
def test_corpus(built, prog, cards):
    exe, build = built[prog.stem]
    assert build.returncode == 0, build.stderr
    r = _run(exe, **({"DNN_CARDS": "0"} if cards == "host" else {}))
    assert r.returncode == 0, r.stderr
    assert r.stdout == _expected(prog, cards == "host")


def test_program_finds_its_card_after_a_move(built, tmp_path):
    """The card executable travels with the program: prog-card next to prog is found."""
    exe, build = built["multi_file"]
    assert build.returncode == 0, build.stderr
    moved = tmp_path / "moved"
    moved.write_bytes(exe.read_bytes())
    (tmp_path / "moved-card").write_bytes(Path(str(exe) + "-card").read_bytes())
    for p in (moved, tmp_path / "moved-card"):
        p.chmod(0o755)
    os.unlink(str(exe) + "-card")  # only the copy next to the moved program is left
    try:
        assert _run(moved).stdout.endswith("ran on the card: yes\n")
    finally:
        (Path(str(exe) + "-card")).write_bytes((tmp_path / "moved-card").read_bytes())
        Path(str(exe) + "-card").chmod(0o755)


@pytest.mark.parametrize("prog", ERRORS, ids=lambda p: p.stem)
def test_errors_point_at_the_line(prog, tmp_path):
    m = re.match(r"// error: (\d+): (.*)", prog.read_text())
    r = dnn_cc(["-o", str(tmp_path / "prog"), prog.name], prog.parent)
    assert r.returncode != 0
    assert f"{prog.name}:{m.group(1)}:" in r.stderr and m.group(2) in r.stderr, r.stderr


def test_separate_compilation(tmp_path):
    """-c gives a.o and aMIC.o; linking the objects later gives the same program."""
    src = HERE / "multi_file"
    for name in ("main", "stats"):
        r = dnn_cc(["-c", "-o", str(tmp_path / f"{name}.o"), f"{name}.c"], src)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / f"{name}MIC.o").exists()
    r = dnn_cc(["-o", "prog", "main.o", "stats.o"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert _run(tmp_path / "prog").stdout == _expected(src, False)


def test_usage_errors(tmp_path):
    """An option dnn-cc does not know is ignored with a warning (icc's own, in old makefiles);
    no input or a C++ source is an error."""
    (tmp_path / "a.c").write_text("int main(void) { return 3; }\n")
    r = dnn_cc(["-static-intel", "-o", "a", "a.c"], tmp_path)
    assert r.returncode == 0 and "ignoring unknown option -static-intel" in r.stderr
    assert subprocess.run([str(tmp_path / "a")]).returncode == 3
    r = dnn_cc(["b.cpp"], tmp_path)
    assert r.returncode == 2 and "C++ is not supported" in r.stderr
    r = dnn_cc([], tmp_path)
    assert r.returncode == 2 and "no input files" in r.stderr


def test_dnn_cards_overrides_cards_at_link(built):
    """DNN_CARDS=2 on a program linked with --cards 3: two card processes, target numbers wrap
    at 2, no third card is started, and none before the first offload (each card starts at its
    first offload, card 0 too)."""
    exe, build = built["cards_slices"]
    assert build.returncode == 0, build.stderr
    r = _run(exe, DNN_CARDS="2")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["cards 2, running before any offload 0", "mic:5 ran on 1, running 1", "running 2"]
    assert lines[5] == "slice 2: sum 24950 on device 0"


def test_too_many_cards_is_refused(built):
    exe, build = built["cards_slices"]
    assert build.returncode == 0, build.stderr
    r = _run(exe, DNN_CARDS="65")
    assert r.returncode == 1 and "DNN_CARDS=65: at most 64 cards" in r.stderr, r.stderr


CARD_THAT_WONT_START = r"""
#include <offload.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void)
{
    int ran = 0;
    #pragma offload target(mic : 0) inout(ran)
    ran = 1;
    unlink(getenv("CARD_TO_REMOVE")); /* card 1 has not started yet: now it cannot */
    _Offload_status s;
    OFFLOAD_STATUS_INIT(s);
    #pragma offload target(mic : 1) status(s) inout(ran)
    ran = 2;
    int back = 0;
    #pragma offload target(mic : 0) out(back)
    back = 3;
    printf("card 0 ran %d, card 1 %s, card 0 again %d\n", ran,
           s.result == OFFLOAD_UNAVAILABLE ? "unavailable" : "started", back);
    return 0;
}
"""


def test_a_card_that_cannot_start_is_reported_in_status(tmp_path):
    """Card n starts at its first offload: when it cannot, status(s) says OFFLOAD_UNAVAILABLE
    and the cards already running go on."""
    (tmp_path / "prog.c").write_text(CARD_THAT_WONT_START)
    r = dnn_cc(["-O1", "--cards", "2", "-o", "prog", "prog.c"], tmp_path)
    assert r.returncode == 0, r.stderr
    r = _run(tmp_path / "prog", CARD_TO_REMOVE=str(tmp_path / "prog-card"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "card 0 ran 1, card 1 unavailable, card 0 again 3\n"


OLD_DIALECT = r"""
#include <stdio.h>
int main(void)
{
    int i, sum = 0;
    #pragma offload target(mic) inout(sum)
    for (i = 1; i <= 10; i++) sum += i;
    printf("%s:%d %d\n", __FILE__, __LINE__, sum);
    return 0;
}
"""


@pytest.mark.parametrize("flag", ["-std=c89", "-std=c99"])
def test_old_dialect_flags(tmp_path, flag):
    """Makefiles of the time passed -ansi / -std=c89 or -std=c99: the program builds all the same
    (the translation needs C99, so C89 is raised to it) and __FILE__ names the user's file."""
    (tmp_path / "old.c").write_text(OLD_DIALECT)
    r = dnn_cc(["-O1", flag, "-o", "old", "old.c"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert _run(tmp_path / "old").stdout == "old.c:8 55\n"


WHERE_IT_RAN = r"""
#include <offload.h>
#include <stdio.h>
#include <mkl.h>
int main(void)
{
    int dev = -2;
    double x[2] = {3, 4};
    #pragma offload target(mic) out(dev) inout(x)
    {
        dev = _Offload_get_device_number();
        cblas_dscal(2, 2.0, x, 1);
    }
    printf("ran on %d: %g %g\n", dev, x[0], x[1]);
    return 0;
}
"""


def test_an_old_makefiles_command_line(tmp_path):
    """What an icc makefile of the time passed builds the program: options that take their value
    as the next argument, Intel's libraries named by -l (MKL, libiomp5), -openmp (not -o penmp);
    -no-offload builds it to run on the host."""
    (tmp_path / "prog.c").write_text(WHERE_IT_RAN)
    icc_line = ("-O3 -openmp -mkl -fno-alias -fp-model fast=2 -diag-disable 2536 -fast -no-fma -xHost -ipo "
                "-offload-option,mic,compiler,-O3 -offload-attribute-target=mic -opt-report-phase offload "
                "-vec-report2 -std=c99 -o prog prog.c -L/opt/intel/mkl/lib/intel64 -lmkl_intel_lp64 "
                "-lmkl_intel_thread -lmkl_core -liomp5 -lpthread -lm").split()
    r = dnn_cc(icc_line, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ignoring" not in r.stderr and not (tmp_path / "penmp").exists()
    assert _run(tmp_path / "prog").stdout == "ran on 0: 6 8\n"
    r = dnn_cc(["-no-offload", "-mkl", "-o", "host_only", "prog.c"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert _run(tmp_path / "host_only").stdout == "ran on -1: 6 8\n"


OFFLOAD_MACRO = r"""
#include <stdio.h>
int main(void)
{
#ifdef __INTEL_OFFLOAD
    printf("offload");
#else
    printf("host only");
#endif
#ifdef EXTRA
    printf(" extra");
#endif
    printf("\n");
    return 0;
}
"""


def test_no_offload_and_minus_u_undefine_for_the_translated_source(tmp_path):
    """icc's -no-offload compiled with no offload compiler, so __INTEL_OFFLOAD was not defined;
    -U NAME reaches the translator's preprocessor as it reaches gcc's."""
    (tmp_path / "m.c").write_text(OFFLOAD_MACRO)
    for args, want in ((["-o", "a"], "offload\n"), (["-no-offload", "-o", "a"], "host only\n"),
                       (["-DEXTRA", "-o", "a"], "offload extra\n"), (["-DEXTRA", "-UEXTRA", "-o", "a"], "offload\n")):
        r = dnn_cc(args + ["m.c"], tmp_path)
        assert r.returncode == 0, r.stderr
        assert _run(tmp_path / "a").stdout == want, args
