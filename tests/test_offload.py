"""The card runtime through Python: shared memory, implicit and explicit offloads, failures."""

import gc
import os
import signal
import time

import numpy as np
import pytest

import dnn
from dnn.offload import Card, In, InOut, NoCopy, Out, kernel_names, run_local
from conftest import card_processes, gone_within, host_seconds, memfd_segments, run_python


def test_native_library_loads_and_registers_kernels():
    names = kernel_names()
    assert "off_test_nop" in names and "off_test_axpy" in names


def test_card_is_another_process():
    with Card() as card:
        assert card.pid != os.getpid()
        assert card.pid in card_processes(os.getpid())
        pid, threads, _ = card.call("off_test_whoami")
        assert pid == card.pid and threads == 1


def test_shared_array_is_zero_copy_and_changes_are_seen():
    with Card() as card:
        x = card.shared_empty(1000, np.float32)
        y = card.shared_zeros(1000, np.float32)
        x[:] = np.arange(1000, dtype=np.float32)
        assert card.is_shared(x) and card.is_shared(y)
        (total,) = card.call("off_test_axpy", 1000, 2.0, x, y)
        np.testing.assert_array_equal(y, 2 * np.arange(1000, dtype=np.float32))
        assert total == pytest.approx(2 * 999 * 1000 / 2)
        s = card.stats()
        assert s["calls"] == 1 and s["bytes_to_card"] == 0 and s["bytes_from_card"] == 0


def test_host_pointer_is_refused_in_implicit_mode():
    with Card() as card:
        x = card.shared_zeros(10)
        y = np.zeros(10, np.float32)  # ordinary host memory
        with pytest.raises(dnn.DnnValueError, match=r"argument 4 \('y'\).*outside the shared arena"):
            card.call("off_test_axpy", 10, 1.0, x, y)
        with pytest.raises(ValueError, match="takes 4 arguments"):
            card.call("off_test_axpy", 10)
        with pytest.raises(dnn.KernelError, match="no kernel named 'nope'"):
            card.call("nope")
        card.call("off_test_nop")  # the card is unharmed


def test_explicit_in_inout_moves_exactly_the_arrays():
    with Card() as card:
        x = np.arange(70000, dtype=np.float32)
        y = np.ones(70000, dtype=np.float32)
        card.call("off_test_axpy", x.size, 0.5, x, y, transfers=[In(x), InOut(y)])
        np.testing.assert_array_equal(y, 1 + 0.5 * np.arange(70000, dtype=np.float32))
        last = card.stats()["last"]
        assert last["bytes_to_card"] == 70000 * 4 * 2
        assert last["bytes_from_card"] == 70000 * 4
        assert last["transfers"] == 3
        assert card.stats()["card_memory_used"] == 0  # free_if(1) by default


def test_explicit_resident_buffers_with_alloc_if_free_if():
    with Card() as card:
        w = np.full(5000, 3.0, dtype=np.float32)
        out = np.zeros(5000, dtype=np.float32)
        card.transfer([In(w, free_if=False)])
        assert card.stats()["card_memory_used"] == w.nbytes
        w[:] = -1  # the card kept its own copy
        card.call("off_test_axpy", w.size, 1.0, w, out, transfers=[NoCopy(w), InOut(out)])
        np.testing.assert_array_equal(out, 3.0)
        assert card.stats()["last"]["bytes_to_card"] == out.nbytes
        card.call("off_test_fill", w.size, 9.0, w, transfers=[Out(w, alloc_if=False, free_if=True)])
        np.testing.assert_array_equal(w, 9.0)
        assert card.stats()["card_memory_used"] == 0
        with pytest.raises(dnn.DnnValueError, match="alloc_if"):
            card.transfer([In(w, alloc_if=False)])


def test_explicit_refuses_untransferred_host_pointer():
    with Card() as card:
        x, y = np.ones(4, np.float32), np.ones(4, np.float32)
        with pytest.raises(dnn.DnnValueError, match=r"argument 3 \('x'\)"):
            card.call("off_test_axpy", 4, 1.0, x, y, transfers=[InOut(y)])


def _still_running(card, signal) -> bool:
    """The card has not replied to `signal` yet (a wait of zero seconds times out)."""
    from dnn._native import ffi, lib

    return lib.off_wait_for(card._ptr, signal, 0.0, ffi.NULL, ffi.NULL) == lib.OFF_ETIMEDOUT


def test_transfer_with_signal_crosses_while_a_kernel_runs():
    """card.transfer(..., signal=True) goes on the DMA lane: posted while a call is in flight, done
    before its kernel ends, and the next call finds the data on the card. The overlap is asserted
    from the order of events (the call still runs when the transfer is done), not from a clock."""
    a = np.arange(1 << 20, dtype=np.float32) % 7
    with Card(threads=1, link="0.05,0") as card:  # 4 MB: 80 ms across the modelled bus
        t0 = time.perf_counter()
        call = card.call_async("off_test_sleep", 2.0)
        dma = card.transfer([In(a, free_if=False)], signal=True)
        assert dma != call
        card.wait(dma)
        assert time.perf_counter() - t0 >= 0.08  # the model can only slow it down
        assert _still_running(card, call)
        card.wait(call)
        assert not card.stats()["last"]["bytes_to_card"]  # the sleep moved nothing: a's bytes were the DMA's
        running = card.call_async("off_test_sleep_sum", 0.2, a.size, a, transfers=[NoCopy(a)])
        with pytest.raises(dnn.DnnError, match="in flight"):  # a buffer the running call uses
            card.transfer([Out(a, alloc_if=False)], signal=True)
        assert card.wait(running)[0] == pytest.approx(float(a.sum(dtype=np.float64)))


def test_the_link_is_one_bus_for_both_lanes():
    """Two 16 MB transfers at once, one per lane, on a 1 GB/s link: one bus needs 32 ms for both,
    so the second cannot be done before then (two separate clocks let both finish in ~16 ms)."""
    a = np.ones(4 << 20, np.float32)
    b = np.ones(4 << 20, np.float32)
    with Card(threads=1, link="1,0") as card:
        t0 = time.perf_counter()
        call = card.call_async(None, transfers=[In(a)])
        dma = card.transfer([In(b)], signal=True)
        card.wait(call)
        model = [card.stats()["last"]["transfer_model_s"]]
        card.wait(dma)
        both = time.perf_counter() - t0
        model.append(card.stats()["last"]["transfer_model_s"])
        assert model == [pytest.approx(0.016777216)] * 2
        assert both >= 2 * 0.016777216, both


def test_asynchronous_call_lets_the_host_work():
    with Card() as card:
        t0, before = time.perf_counter(), host_seconds(os.getpid())
        sig = card.call_async("off_test_sleep", 0.3)
        took, waited_for_cpu = host_seconds(os.getpid(), since=before)
        assert took - waited_for_cpu < 0.2  # its own time: a loaded machine's queue for a CPU left out
        with pytest.raises(dnn.DnnValueError, match="still in flight"):
            card.call_async("off_test_nop")
        card.wait(sig)
        assert time.perf_counter() - t0 >= 0.3


@pytest.mark.parametrize("how,what", [(1, "Segmentation fault"), (2, "Aborted")])
def test_crashing_kernel_raises_within_a_second(how, what):
    card = Card()
    before = host_seconds(os.getpid())
    with pytest.raises(dnn.CardDiedError, match=f"off_test_crash.*{what}"):
        card.call("off_test_crash", how)
    took, waited_for_cpu = host_seconds(os.getpid(), since=before)
    assert took - waited_for_cpu < 1.0  # its own time: a loaded machine's queue for a CPU left out
    card.close()
    with Card() as again:
        again.call("off_test_nop")


def test_card_killed_from_outside():
    with Card() as card:
        sig = card.call_async("off_test_sleep", 30.0)
        time.sleep(0.05)
        before = host_seconds(os.getpid())
        os.kill(card.pid, signal.SIGKILL)
        with pytest.raises(RuntimeError, match="off_test_sleep.*signal 9"):
            card.wait(sig)
        took, waited_for_cpu = host_seconds(os.getpid(), since=before)
        assert took - waited_for_cpu < 1.0  # not the heartbeat's 10 s; a loaded machine's queue left out


def test_a_card_starved_of_cpu_is_not_taken_for_a_hung_one():
    """Held to 20 ms of CPU a second (its threads runnable, waiting for a turn, as on a machine
    whose other jobs outrank it), the card beats far less often than --card-timeout 0.2 asks:
    that is the machine's doing, not a hang, and the host waits for the kernel. A stopped card
    is still killed (test_hostile's SIGSTOP test)."""
    from conftest import cpu_throttled, throttled_seconds

    with Card(card_timeout=0.2) as card:
        card.call("off_test_nop")  # started, beating
        with cpu_throttled(card.pid, quota_s=0.02) as group:
            card.call("off_test_spin", 2.0)
            held = throttled_seconds(group)
        assert card.alive
        assert held > 1.0, held  # its beats were held back for longer than the timeout: the test proved something


def test_shared_empty_raises_by_the_c_error_code():
    """The exception follows the runtime's code for the failed allocation, not its wording."""
    from dnn.offload import lib

    with Card(arena_bytes=1 << 20) as card:
        with pytest.raises(dnn.DnnValueError, match="power of two") as bad:
            card.shared_empty(16, np.uint8, align=96)
        assert not isinstance(bad.value, MemoryError)
        assert lib.off_last_error_code() == lib.OFF_EARG
        with pytest.raises(dnn.ArenaFullError):
            card.shared_empty(2 << 20, np.uint8)
        assert lib.off_last_error_code() == lib.OFF_EARENA
        card.call("off_test_nop")  # a call that succeeds clears the code
        assert lib.off_last_error_code() == lib.OFF_OK


def test_arena_exhaustion_and_card_memory():
    with Card(arena_bytes=1 << 20, card_memory=100_000) as card:
        with pytest.raises(MemoryError, match="shared arena full"):
            card.shared_empty(2 << 20, np.uint8)
        blocks = []
        with pytest.raises(dnn.ArenaFullError):
            while True:
                blocks.append(card.shared_empty(100_000, np.uint8))
        assert 9 <= len(blocks) <= 10
        del blocks
        gc.collect()
        assert card.arena_info()["used"] == 0  # freed blocks came back and merged
        big = card.shared_empty(900_000, np.uint8)
        assert big.size == 900_000
        with pytest.raises(dnn.CardMemoryError, match="card memory full"):
            card.transfer([In(np.zeros(200_000, np.uint8))])
        card.transfer([In(np.zeros(50_000, np.uint8))])  # still works


def test_shared_arrays_outlive_the_card_process_and_then_go():
    card = Card()
    a = card.shared_zeros(16)
    a[:] = 5
    pid = card.pid
    card.close()
    assert pid not in card_processes()
    assert a.sum() == 80  # still mapped in the host
    del a, card
    gc.collect()
    assert memfd_segments(os.getpid()) == []


def test_bad_configuration():
    with pytest.raises(ValueError, match="unknown link 'warp'"):
        Card(link="warp")
    with pytest.raises(ValueError, match="bad CPU list"):
        Card(cpus="1-0")
    with pytest.raises(ValueError, match="threads"):
        Card(threads=0)
    with pytest.raises(MemoryError, match="larger than this machine's memory"):
        Card(arena_bytes=1 << 50)


def test_run_local_is_host_mode():
    x = np.arange(8, dtype=np.float32)
    y = np.zeros(8, dtype=np.float32)
    run_local("off_test_axpy", 8, 3.0, x, y)
    np.testing.assert_array_equal(y, 3 * x)


CARD_THEN_WAIT = """
import sys, time
from dnn.offload import Card
card = Card()
print(card.pid, flush=True)
card.call("off_test_sleep", 60.0)
"""


def _start_and_read_pid(code):
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    pid = int(p.stdout.readline())
    time.sleep(0.1)
    return p, pid


def test_ctrl_c_in_host_stops_the_card():
    p, pid = _start_and_read_pid(CARD_THEN_WAIT)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode != 0 and "KeyboardInterrupt" in err
    assert gone_within(pid, 1.0)


def test_host_killed_card_exits_by_itself():
    p, pid = _start_and_read_pid(CARD_THEN_WAIT)
    p.kill()
    p.wait(timeout=10)
    # EOF on the lifeline ends it at once; without it the card would wait for requests for ever.
    # The bound allows for a loaded machine (the card needs a CPU to exit), not for a slow design.
    assert gone_within(pid, 30.0), "the card outlived its host"


def test_card_keeps_running_after_unrelated_error():
    r = run_python("from dnn.offload import Card\nc = Card()\nc.call('off_test_fail', 7)\n")
    assert r.returncode != 0 and "asked to fail with code 7" in r.stderr
