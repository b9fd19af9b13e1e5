"""dnn.cilkpp: the Cilk Plus front end.

Every tests/cilkpp/*.cilk is translated, compiled with dnn's CFLAGS, run, and its stdout compared
with the .out next to it: in host mode (no card) and, for programs that offload, also against a
real card process built from card.c + the card runtime + the same generated file. Every
tests/cilkpp/errors/*.cilk must fail with the file:line:col and message on its first line.
"""

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dnn.cilkpp import CilkppError, translate
from dnn.cilkpp.build import compile_program, runtime_objects

HERE = Path(__file__).resolve().parent / "cilkpp"
PROGRAMS = sorted(HERE.glob("*.cilk"))
ERRORS = sorted((HERE / "errors").glob("*.cilk"))


def _offloads(src):
    return bool(re.search(r"#\s*pragma\s+offload|_Cilk_offload", src))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Translate and compile the whole corpus once, in parallel: name -> (host exe, card exe|None)."""
    out = tmp_path_factory.mktemp("cilkpp")
    runtime_objects("host")
    runtime_objects("card")

    def one(p):
        src = p.read_text()
        c = out / (p.stem + ".c")
        c.write_text(translate(src, str(p)))
        host = out / p.stem
        warnings = compile_program(c, host, "host")
        card = None
        if _offloads(src):
            card = out / (p.stem + "-card")
            warnings += compile_program(c, card, "card")
        assert "warning" not in warnings, warnings  # the generated C compiles cleanly under -Wall -Wextra
        return p.stem, (host, card)

    with ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        return dict(ex.map(one, PROGRAMS))


def _run(exe, card=None, **env):
    e = dict(os.environ, OMP_NUM_THREADS="2", **env)
    e.pop("DNN_CARD_EXE", None)
    if card:
        e["DNN_CARD_EXE"] = str(card)
    return subprocess.run([str(exe)], capture_output=True, text=True, env=e, timeout=60)


@pytest.mark.parametrize("prog", PROGRAMS, ids=lambda p: p.stem)
def test_corpus_host(built, prog):
    host, _ = built[prog.stem]
    r = _run(host)
    assert r.returncode == 0, r.stderr
    assert r.stdout == prog.with_suffix(".out").read_text()


@pytest.mark.parametrize("prog", [p for p in PROGRAMS if _offloads(p.read_text())], ids=lambda p: p.stem)
def test_corpus_card(built, prog):
    host, card = built[prog.stem]
    r = _run(host, card)
    assert r.returncode == 0, r.stderr
    assert r.stdout == prog.with_suffix(".out").read_text()


@pytest.mark.parametrize("prog", ERRORS, ids=lambda p: p.stem)
def test_errors(prog):
    src = prog.read_text()
    m = re.match(r"// error: (\d+):(\d+): (.*)", src)
    with pytest.raises(CilkppError) as e:
        translate(src, str(prog))
    msg = str(e.value)
    assert msg.startswith(f"{prog}:{m.group(1)}:{m.group(2)}: error: "), msg
    assert m.group(3) in msg


def test_generated_c_is_not_parsed_again_by_regexes():
    """Sections in strings, ternaries in subscripts and bit-fields are left alone."""
    src = ('struct s { int a : 3; };\nint f(int *v, int c) {\n    const char *t = "a[0:2]";\n'
           '    return v[c ? 1 : 2] + (t[0] == 0);\n}\n')
    c = translate(src, "plain.cilk")
    assert '"a[0:2]"' in c and "int a : 3" in c and "__cilkpp_sec" not in c


def test_line_directives_point_at_the_cilk_source(tmp_path):
    """A C compiler error in translated code names the .cilk line."""
    src = "#include <stdio.h>\nint main(void)\n{\n    float a[4];\n    a[0:4] = 1;\n    undeclared_thing(a);\n    return 0;\n}\n"
    p = tmp_path / "oops.cilk"
    c = tmp_path / "oops.c"
    c.write_text(translate(src, str(p)))
    r = subprocess.run(["gcc", "-fsyntax-only", "-Werror=implicit-function-declaration", "-fopenmp",
                        "-I", "native/include", "-I", "native/offload", str(c)], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode != 0
    assert f"{p}:6:" in r.stderr, r.stderr


def _snippet(tmp_path, name, src, sides=("host",), cflags=()):
    """Translate src as NAME.cilk and compile it; returns the path stem of the executables."""
    p = tmp_path / f"{name}.cilk"
    c = tmp_path / f"{name}.c"
    c.write_text(translate(src, str(p)))
    for side in sides:
        compile_program(c, tmp_path / (name if side == "host" else f"{name}-card"), side, cflags)
    return tmp_path / name


def test_debug_build_checks_lengths_at_run_time(tmp_path):
    src = ("#include <stdio.h>\nint main(int argc, char **argv)\n{\n    float a[8] = {0}, b[8] = {0};\n"
           "    int n = 4 + argc;\n    a[0:4] = b[0:n];\n    printf(\"done\\n\");\n    return 0;\n}\n")
    r = _run(_snippet(tmp_path, "len", src, cflags=["-DCILKPP_DEBUG"]))
    assert r.returncode != 0 and "len.cilk:6:15: array section length 5 does not match length 4" in r.stderr
    assert _run(_snippet(tmp_path, "fast", src)).stdout == "done\n"


def test_mandatory_without_card_fails_clearly(tmp_path):
    src = ("int main(void)\n{\n    int x = 0;\n    #pragma offload target(mic) mandatory inout(x)\n"
           "    x = 1;\n    return x;\n}\n")
    r = _run(_snippet(tmp_path, "mand", src))
    assert r.returncode == 1 and "mand.cilk:4:5: offload error: mandatory offload but no card" in r.stderr


def test_host_pointer_on_card_is_refused(built, tmp_path):
    """A pointer neither shared nor transferred is reported by the runtime, not dereferenced."""
    src = ("#include <stdlib.h>\nint main(void)\n{\n    float *p = malloc(16);\n"
           "    #pragma offload target(mic)\n    p[0] = 1;\n    return 0;\n}\n")
    exe = _snippet(tmp_path, "hostptr", src, ("host", "card"))
    r = _run(exe, tmp_path / "hostptr-card")
    assert r.returncode == 1
    assert "hostptr.cilk:5:5: offload error:" in r.stderr and "outside the shared arena" in r.stderr


def test_cli(tmp_path):
    out = tmp_path / "o.c"
    r = subprocess.run([sys.executable, "-m", "dnn.cilkpp", str(HERE / "reduce.cilk"), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "#pragma omp simd reduction(+:" in out.read_text()
    r = subprocess.run([sys.executable, "-m", "dnn.cilkpp", str(HERE / "errors" / "rank_mismatch.cilk")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "rank_mismatch.cilk:3:15: error: rank mismatch" in r.stderr


@pytest.mark.parametrize("threads", [1, 2])
def test_trainer_port_same_bits_as_hand_written_c(tmp_path, threads):
    """native/dnn/train.cilk (every element-wise kernel of the trainer in Array Notation with
    _Cilk_for, translated by the build) gives the bits of the hand-written C, for every
    activation and with one or two threads. Its speed is measured by tools/bench_port.py."""
    from dnn._build import build_train_port_check

    exe = build_train_port_check(tmp_path / "train_port_check")
    r = subprocess.run([str(exe), "0", str(threads)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "DIFF" not in r.stdout, r.stdout + r.stderr
    assert r.stdout.count("same ") == 3 * 10, r.stdout


def test_offload_of_a_function_defined_in_another_file(tmp_path):
    """`_Cilk_offload f()` where f is a _Cilk_shared function of another translated file: the
    caller's stub and the defining file's exported kernel (cilkpp_f) meet by name, with a card
    and without one."""
    cs = []
    for name in ("main", "norms"):
        src = HERE / "multi" / f"{name}.cilk"
        c = tmp_path / f"{name}.c"
        c.write_text(translate(src.read_text(), str(src)))
        cs.append(c)
    assert "OFF_KERNEL(cilkpp_scaled_norm," in cs[1].read_text()
    assert "OFF_KERNEL" not in cs[0].read_text()  # the caller holds the stub only
    host, card = tmp_path / "prog", tmp_path / "prog-card"
    compile_program(cs[0], host, "host", extra_objs=[str(cs[1])])
    compile_program(cs[0], card, "card", extra_objs=[str(cs[1])])
    for with_card in (None, card):
        r = _run(host, with_card)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "norm 10.9545, v 2 4 6 8\n"


def test_cilk_for_on_a_thread_of_one_runs_there_in_order(tmp_path):
    """A CHAOS worker sets its thread count to 1 inside the workers' region: its _Cilk_for loops
    run on that thread, in order, instead of becoming tasks the other worker could take."""
    src = ("#include <stdio.h>\n#include <omp.h>\n#define N 64\n"
           "static int who[2][N], order[2][N], next[2];\n"
           "int main(void)\n{\n"
           "#pragma omp parallel num_threads(2)\n    {\n"
           "        const int t = omp_get_thread_num();\n"
           "        omp_set_num_threads(1);\n"
           "        _Cilk_for (int i = 0; i < N; i++) {\n"
           "            who[t][i] = omp_get_thread_num();\n"
           "            order[t][i] = next[t]++;\n"
           "        }\n    }\n"
           "    int bad = 0;\n"
           "    for (int t = 0; t < 2; t++)\n"
           "        for (int i = 0; i < N; i++) bad += who[t][i] != t || order[t][i] != i;\n"
           "    printf(\"misplaced %d\\n\", bad);\n    return 0;\n}\n")
    r = _run(_snippet(tmp_path, "alone", src))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "misplaced 0\n"
