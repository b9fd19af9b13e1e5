"""The C tests of the runtime (native/tests/test_offload.c), one pytest case each, and of the
trainer's offloads written as a C program (native/tests/test_trainer_offload.c)."""

import subprocess

import pytest

from conftest import ROOT

BINARY = ROOT / "build" / "test_offload"
CARD = ROOT / "dnn" / "bin" / "dnn-card"
C_TESTS = ["shared_list", "keyword", "host_pointer_refused", "explicit", "async", "crash_segv",
           "crash_abort", "killed", "arena_full", "card_oom", "link_model", "threads_cpus",
           "kernel_error", "sec_helpers", "dma_overlap", "dma_card_dies", "two_cards", "arena_before_card"]


def test_c_test_binary_is_built():
    assert BINARY.exists(), "build/test_offload is missing: run 'make build'"


@pytest.mark.parametrize("name", C_TESTS)
def test_c(name):
    r = subprocess.run([str(BINARY), str(CARD), name], capture_output=True, text=True, timeout=60)
    assert f"ok {name}" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0


# The implicit-mode tests again with MYO coherence: each side its own copy of the arena.
IMPLICIT = ["shared_list", "keyword", "host_pointer_refused", "async", "crash_segv", "killed", "arena_full",
            "kernel_error"]


@pytest.mark.parametrize("coherence", ["myo-on-demand", "myo-on-acquire"])
@pytest.mark.parametrize("name", IMPLICIT)
def test_c_under_myo(name, coherence):
    r = subprocess.run([str(BINARY), str(CARD), name, coherence], capture_output=True, text=True, timeout=60)
    assert f"ok {name}" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0


def test_c_list_is_complete():
    """Every test the binary knows is run above."""
    r = subprocess.run([str(BINARY), str(CARD), "no-such-test"], capture_output=True, text=True, timeout=60)
    assert "0 passed, 0 failed" in r.stdout
    src = (ROOT / "native" / "tests" / "test_offload.c").read_text()
    for name in C_TESTS:
        assert f'{{"{name}", ' in src
    assert src.count('", t_') == len(C_TESTS)


def test_trainer_offloads_from_c_match_the_in_process_call():
    """`_Cilk_offload dnn_run_shared(...)` and the explicit `#pragma offload` of offloaded.cilk, called
    from C, train and evaluate exactly as dnn_run_shared(...) called in the process."""
    binary = ROOT / "build" / "test_trainer_offload"
    assert binary.exists(), "build/test_trainer_offload is missing: run 'make build'"
    r = subprocess.run([str(binary), str(CARD)], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "ok" and r.returncode == 0, r.stdout + r.stderr
