"""The guard of one rank of an MPI job: a small parent that runs the rank's training as its child.

`mpiexec -n K python -m dnn.train --distributed ...` starts K guards. Each starts the real rank
(the same command, marked by DNN_RANK_GUARDED in its environment) and waits for it, because what
MPICH does when a rank dies cannot be changed from inside that rank:

  * a rank killed by a signal (SIGKILL, the OOM killer) says nothing, and mpiexec answers with a
    ten-line banner naming a pid, not a rank. The guard prints ONE line naming the rank and the
    signal instead, and ends the job itself;
  * MPICH leaves its shared-memory segments (/dev/shm/mpich_*) behind when a rank dies or the job
    is aborted. The guard learns which ones its rank maps (the rank reports those of MPI_Init over
    a pipe, and the guard reads the rank's memory map for any made later) and removes them.

A rank that fails on its own (a dead card, an error) prints its one line and leaves with a non-zero
status (dnn.distributed.Ranks.abort); the guard then ends the job without a word of its own. The
job is ended the way MPI_Abort does it, by PMI's abort command on the connection mpiexec gave this
rank (PMI_FD), but without MPI_Abort's extra line: mpiexec kills every rank within moments, none
waits in a collective. Each rank's child dies with its guard (PR_SET_PDEATHSIG), and Ctrl-C or
SIGTERM on the guard reaches the child exactly once (the child has a process group of its own).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

GUARDED = "DNN_RANK_GUARDED"  # set in the child's environment: it is the rank itself
REPORT_FD = "DNN_RANK_GUARD_FD"  # the pipe on which the rank reports its MPICH segments
POLL_S = 0.25  # how often the guard looks for new MPICH segments while its rank runs
PR_SET_PDEATHSIG = 1


def wanted(distributed: bool) -> bool:
    """Whether this process should guard a rank: --distributed, under mpiexec, not the rank itself."""
    return distributed and "PMI_FD" in os.environ and GUARDED not in os.environ


def mpich_segments(pid: int) -> set[str]:
    """The /dev/shm files of MPICH that process pid maps (none once it is gone)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return set()
    return {line.split(None, 5)[5] for line in maps.splitlines()
            if "/dev/shm/mpich_" in line and len(line.split(None, 5)) == 6}


def report_segments() -> None:
    """In the rank, once MPI is initialised: tell the guard which MPICH segments it maps."""
    fd = os.environ.pop(REPORT_FD, None)
    if fd is not None:
        with os.fdopen(int(fd), "w") as pipe:
            pipe.write("".join(f"{path}\n" for path in mpich_segments(os.getpid())))


def _die_with_guard() -> None:
    """In the child, before exec: die when the guard dies, and take a process group of its own."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setpgid(0, 0)


def _pmi_abort(code: int) -> None:
    """Ask mpiexec to end the whole job (PMI-1's abort, as MPI_Abort sends it)."""
    try:
        os.write(int(os.environ["PMI_FD"]), f"cmd=abort exitcode={code}\n".encode())
    except (KeyError, ValueError, OSError):
        pass  # no connection to mpiexec: nothing else is waiting for this rank


def guard(argv: list[str]) -> int:
    """Run `python -m dnn.train argv` as this rank, watch it, and end the job if it fails."""
    rank, size = os.environ.get("PMI_RANK", "?"), os.environ.get("PMI_SIZE", "?")
    reports, report_end = os.pipe()
    child = subprocess.Popen([sys.executable, "-m", "dnn.train", *argv],
                             env=dict(os.environ, **{GUARDED: "1", REPORT_FD: str(report_end)}),
                             pass_fds=(int(os.environ["PMI_FD"]), report_end), preexec_fn=_die_with_guard)
    os.close(report_end)
    os.set_blocking(reports, False)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda s, _frame: child.send_signal(s))
    segments: set[str] = set()
    while True:
        try:
            code = child.wait(timeout=POLL_S)
            break
        except subprocess.TimeoutExpired:
            segments |= mpich_segments(child.pid)
    try:
        segments |= set(os.read(reports, 1 << 16).decode().split())
    except BlockingIOError:  # the rank never reported (it failed before MPI_Init)
        pass
    os.close(reports)
    if code == 0:
        return 0
    if code < 0:
        name = signal.Signals(-code).name
        print(f"dnn.train: rank {rank} of {size}: the rank's process (pid {child.pid}) was killed by {name} "
              f"(signal {-code})", file=sys.stderr, flush=True)
    for path in segments:
        Path(path).unlink(missing_ok=True)
    _pmi_abort(1)
    return code if code > 0 else 128 - code
