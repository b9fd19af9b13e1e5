"""The card's linger (native/offload/card.c): after a call its call lane spins a bounded time
before sleeping, so a call soon after finds it awake; an idle card still sleeps and burns no CPU."""

import os
import time

import pytest

from dnn.offload import Card


def _card_main_thread(pid: int) -> dict:
    """The card's main thread (which serves the call lane): its voluntary context switches (one per
    sleep on the futex) and the CPU seconds of the whole card process."""
    with open(f"/proc/{pid}/task/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return {"sleeps": int(status["voluntary_ctxt_switches"]), "cpu_s": cpu}


def _calls_apart(card: Card, n: int, gap_s: float) -> None:
    for _ in range(n):
        until = time.perf_counter() + gap_s
        while time.perf_counter() < until:
            pass
        card.call("off_test_nop")


@pytest.fixture
def linger(monkeypatch):
    def card(value: str | None) -> Card:
        if value is None:
            monkeypatch.delenv("DNN_CARD_LINGER_S", raising=False)
        else:
            monkeypatch.setenv("DNN_CARD_LINGER_S", value)  # the card inherits the host's environment
        return Card()
    return card


def test_calls_half_a_millisecond_apart_find_the_card_awake(linger):
    """The default linger (2 ms) outlasts a 0.5 ms gap: the card's main thread does not sleep
    between such calls (the runtime's ordinary 100 us spin would let it sleep before each one)."""
    with linger(None) as card:
        card.call("off_test_nop")
        before = _card_main_thread(card.pid)
        _calls_apart(card, 40, 500e-6)
        assert _card_main_thread(card.pid)["sleeps"] - before["sleeps"] <= 10


def test_an_idle_card_sleeps_without_burning_cpu(linger):
    with linger(None) as card:
        _calls_apart(card, 20, 0.0)
        before = _card_main_thread(card.pid)
        time.sleep(1.0)
        after = _card_main_thread(card.pid)
        # At most one linger (2 ms) after the last call, plus the heartbeat: far below 0.1 s.
        assert after["cpu_s"] - before["cpu_s"] < 0.1
        assert after["sleeps"] > before["sleeps"]  # it went to sleep on its futex

