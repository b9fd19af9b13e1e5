"""OFFLOAD_REPORT and _Offload_report(): a dnn-cc program prints Intel's offload report, one
block of lines per offload that reached a card, with the file and line of the offload, a tag
counting the reported offloads, the host's and the card's time, and (level 2) the bytes of the
arrays that crossed each way; level 3 adds the arrays' count, their link time and MYO's share."""

import os
import re
import subprocess
import sys

import pytest

from dnn.cilkpp.build import runtime_objects

PROGRAM = r"""
#include <offload.h>
#include <stdio.h>
#include <stdlib.h>
#define N 1000
_Cilk_shared int twice(int v) { return 2 * v; }
int main(void)
{
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++) x[i] = (float)i;
    #pragma offload target(mic) in(x : length(N)) out(y : length(N))
    for (int i = 0; i < N; i++) y[i] = 2 * x[i];
    _Offload_report(0);
    #pragma offload target(mic) in(x : length(N)) out(y : length(N))
    for (int i = 0; i < N; i++) y[i] = 3 * x[i];
    _Offload_report(2);
    #pragma offload target(mic) in(x : length(N / 2)) signal(x)
    x[0] += 1;
    #pragma offload_wait target(mic) wait(x)
    int t = _Cilk_offload twice(21);
    printf("y %g t %d\n", y[N - 1], t);
    return 0;
}
"""
LINES = {"first": 11, "async": 17, "cilk_offload": 20}  # the lines of PROGRAM's offloads
HEADER = re.compile(r"\[Offload\] \[MIC (\d+)\] \[(File|Line|Tag)\]\s+(.*)")
FIELD = re.compile(r"\[Offload\] \[(?:MIC \d+|HOST)\]\s+\[Tag (\d+)\] \[([^\]]+)\]\s+([0-9.]+)")


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    (d / "prog.c").write_text(PROGRAM)
    runtime_objects("host")
    runtime_objects("card")
    r = subprocess.run([sys.executable, "-m", "dnn.cilkpp.driver", "-O1", "-o", "prog", "prog.c"], cwd=d,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return d / "prog"


def run(exe, **env):
    e = {k: v for k, v in os.environ.items() if k not in ("OFFLOAD_REPORT", "DNN_CARD_EXE")}
    r = subprocess.run([str(exe)], capture_output=True, text=True, env=dict(e, DNN_CARD_THREADS="2", **env),
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def reports(out):
    """[{'file', 'line', 'tag', field: value}] in the order printed; the program's own lines apart."""
    blocks, own = [], []
    for line in out.splitlines():
        if m := HEADER.match(line):
            if m.group(2) == "File":
                blocks.append({"mic": int(m.group(1)), "file": m.group(3)})
            else:
                blocks[-1][m.group(2).lower()] = m.group(3)
        elif m := FIELD.match(line):
            assert blocks[-1]["tag"] == f"Tag {m.group(1)}", line
            blocks[-1][m.group(2)] = float(m.group(3))
        else:
            assert not line.startswith("[Offload]"), line
            own.append(line)
    return blocks, own


def test_level_2_reports_every_offload_that_was_not_switched_off(program):
    blocks, own = reports(run(program, OFFLOAD_REPORT="2"))
    assert own == ["y 2997 t 42"]
    assert [(b["file"], int(b["line"]), b["tag"]) for b in blocks] == [
        ("prog.c", LINES["first"], "Tag 0"), ("prog.c", LINES["async"], "Tag 1"),
        ("prog.c", LINES["cilk_offload"], "Tag 2")]
    first, sent, call = blocks
    assert (first["CPU->MIC Data"], first["MIC->CPU Data"]) == (4000, 4000)  # x in, y out: 1000 floats each
    assert (sent["CPU->MIC Data"], sent["MIC->CPU Data"]) == (2000, 0)  # half of x, reported at its wait
    assert (call["CPU->MIC Data"], call["MIC->CPU Data"]) == (0, 0)  # shared memory: no arrays cross
    for b in blocks:
        assert b["mic"] == 0 and 0 <= b["MIC Time"] <= b["CPU Time"] < 60
        assert "Arrays" not in b


def test_level_1_has_times_only_and_level_3_the_link(program):
    one, _ = reports(run(program, OFFLOAD_REPORT="1"))
    assert len(one) == 3 and not any("CPU->MIC Data" in b for b in one[:1])
    assert "CPU->MIC Data" in one[1]  # _Offload_report(2) raised the level for what followed
    three, _ = reports(run(program, OFFLOAD_REPORT="3"))
    assert three[0]["Arrays"] == 2 and three[0]["MYO Data"] == 0 and three[0]["Link Time"] <= three[0]["CPU Time"]


def test_no_report_unless_asked_and_none_on_the_host(program):
    blocks, own = reports(run(program))  # only _Offload_report(2) in the program switches it on
    assert [int(b["line"]) for b in blocks] == [LINES["async"], LINES["cilk_offload"]]
    assert [b["tag"] for b in blocks] == ["Tag 0", "Tag 1"]
    blocks, own = reports(run(program, OFFLOAD_REPORT="2", DNN_CARDS="0"))
    assert blocks == [] and own == ["y 2997 t 42"]
