"""Training in host, implicit and explicit modes, at chunk, bunch or op granularity.

One `Trainer` owns the network, the chunk buffers and (except in host mode) the card. Each mode
is an *executor* that knows how one trainer operation reaches the kernels:

  host      the kernels run in this process on host memory (kernel `cilkpp_dnn`, no card);
  implicit  network and chunk live in the card's shared arena; `_Cilk_offload dnn(...)`
            (kernel `cilkpp_dnn`) passes pointers only;
  explicit  network and chunk live in host memory; every call copies flat arrays to
            `dnn_x` (kernel `cilkpp_dnn_x`), either all of them every call (`copy`) or the
            chunk only, with the network resident on the card (`resident`).

The kernels are the _Cilk_shared functions of native/dnn/offloaded.cilk, exported by the
translator under those names. Python calls them through the runtime rather than through
offloaded.cilk's own host side (dnn_offload), so that Ctrl-C is polled between waits and a dead
card becomes a DnnError here instead of the offload-error exit a C program gets.

The granularity loop is the same for every mode, so the same operations run in the same order
on the same data: with one card thread every mode ends with bit-identical weights.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from .errors import ArenaFullError, CardMemoryError, DnnError, DnnValueError
from .network import Arch, Network
from .offload import Card, In, InOut, NoCopy, Out, ffi, lib, run_local

MODES = ("host", "implicit", "explicit")
POLICIES = ("copy", "resident")
GRANULARITIES = ("chunk", "bunch", "op")
COHERENCES = ("shared", "myo", "myo-on-demand", "myo-on-acquire")
MAX_CONFUSION_CLASSES = 1024

R_LOSS, R_CORRECT = 0, 1  # of the kernels' results: loss sum, correct, images, bunches


@dataclass
class Config:
    arch: Arch
    mode: str = "implicit"
    explicit_weights: str = "resident"
    granularity: str = "chunk"
    bunch: int = 100
    chunk: int = 10000
    threads: int = 1
    cpus: str | None = None
    link: str = "none"
    seed: int = 0
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    init: str = "auto"
    card_memory: int = 0
    coherence: str = "shared"  # implicit mode: "shared" or "myo" / "myo-on-demand" / "myo-on-acquire"
    overlap: bool = False  # explicit mode, chunk granularity: the next chunk crosses while this one trains

    def validate(self) -> None:
        if self.mode not in MODES:
            raise DnnValueError(f"unknown mode '{self.mode}': use {', '.join(MODES)}")
        if self.explicit_weights not in POLICIES:
            raise DnnValueError(f"unknown --explicit-weights '{self.explicit_weights}': use copy or resident")
        if self.granularity not in GRANULARITIES:
            raise DnnValueError(f"unknown granularity '{self.granularity}': use {', '.join(GRANULARITIES)}")
        for name in ("bunch", "chunk", "threads"):
            if getattr(self, name) < 1:
                raise DnnValueError(f"--{name} must be positive, got {getattr(self, name)}")
        if self.bunch > self.chunk:
            raise DnnValueError(f"--bunch {self.bunch} is larger than --chunk {self.chunk}: "
                                "a chunk holds whole bunches; lower --bunch or raise --chunk")
        if self.coherence not in COHERENCES:
            raise DnnValueError(f"unknown coherence '{self.coherence}': use {', '.join(COHERENCES)}")
        if self.overlap and (self.mode != "explicit" or self.granularity != "chunk"):
            raise DnnValueError("--overlap sends the next chunk while one trains: it needs --mode explicit and "
                                "--granularity chunk")
        if self.lr <= 0 or self.momentum < 0 or self.weight_decay < 0:
            raise DnnValueError("--lr must be positive, --momentum and --weight-decay not negative")

    @property
    def init_scheme(self) -> str:
        if self.init != "auto":
            return self.init
        return "he" if self.arch.activation == "relu" else "xavier"

    @property
    def label(self) -> str:
        m = f"explicit-{self.explicit_weights}" if self.mode == "explicit" else self.mode
        if self.overlap:
            m += "-overlap"
        if self.mode == "implicit" and self.coherence != "shared":
            m += "-myo"
        return f"{m}/{self.granularity}"


class ChunkBuffer:
    """One chunk's worth of inputs and labels, plus the dnn_chunk structure over them."""

    def __init__(self, rows: int, cols: int, alloc):
        self.x = alloc((rows, cols), np.float32)
        self.y = alloc(rows, np.int32)
        self.struct = alloc(ffi.sizeof("dnn_chunk"), np.uint8)
        self.chunk = ffi.cast("dnn_chunk *", self.struct.ctypes.data)

    def start(self, rows: int) -> None:
        """Make the first `rows` rows the chunk to train on, from its beginning."""
        lib.dnn_chunk_set(self.chunk, ffi.cast("float *", self.x.ctypes.data),
                          ffi.cast("int32_t *", self.y.ctypes.data), rows, self.x.shape[1])


# ---- executors: how one trainer operation reaches the kernels --------------------------------


class HostExecutor:
    def __init__(self, trainer: "Trainer"):
        self.t = trainer
        lib.dnn_set_threads(trainer.cfg.threads)
        self.compute_s = 0.0
        self.calls = 0

    def alloc(self, shape, dtype):
        return np.zeros(shape, dtype)

    def run_chunk(self, buf, rows, ahead=None, what=lib.DNN_TRAIN_CHUNK, aux=None):
        """Train (or evaluate) one chunk in one call. ahead: (buffer, rows) of the chunk that comes
        next, for executors that can send it while this one runs."""
        return self.run(what, 0, buf, 0, rows, aux)

    def stage(self, buf, rows):
        """Put a chunk on the card ahead of its call (only explicit mode with overlap does)."""

    def run(self, what, layer, buf, row0, rows, aux=None):
        t0 = time.perf_counter()
        r = run_local("cilkpp_dnn", what, layer, self.t.net.struct, buf.struct, aux, threads=self.t.cfg.threads)
        self.compute_s += time.perf_counter() - t0
        self.calls += 1
        return r

    def stats(self) -> dict:
        return {"calls": self.calls, "compute_s": self.compute_s, "transfer_s": 0.0, "transfer_real_s": 0.0,
                "transfer_model_s": 0.0, "wait_s": 0.0, "bytes_to_card": 0, "bytes_from_card": 0}

    def pull_weights(self):
        pass

    def close(self):
        pass


class ImplicitExecutor(HostExecutor):
    def __init__(self, trainer: "Trainer"):
        self.t = trainer
        cfg = trainer.cfg
        self.card = Card(threads=cfg.threads, cpus=cfg.cpus, link=cfg.link,
                         arena_bytes=trainer.arena_bytes_needed(), card_memory=cfg.card_memory,
                         coherence=cfg.coherence)

    def alloc(self, shape, dtype):
        return self.card.shared_zeros(shape, dtype)

    def run(self, what, layer, buf, row0, rows, aux=None):
        return self.card.call("cilkpp_dnn", what, layer, self.t.net.struct, buf.struct, aux)

    def stats(self) -> dict:
        return self.card.stats()

    def close(self):
        self.card.close()


class ExplicitExecutor(ImplicitExecutor):
    """The bunch taken apart: flat arrays cross, the card puts them back together."""

    def __init__(self, trainer: "Trainer"):
        self.t = trainer
        cfg = trainer.cfg
        self.resident = cfg.explicit_weights == "resident"
        # The arena is only the card's runtime scratch here: nothing of the network is shared.
        self.card = Card(threads=cfg.threads, cpus=cfg.cpus, link=cfg.link, arena_bytes=1 << 20,
                         card_memory=cfg.card_memory)
        self.on_card = False
        self.staged = None  # overlap: (buffer, rows) whose rows are on the card already

    def alloc(self, shape, dtype):
        return np.zeros(shape, dtype)

    def _network(self):
        return [self.t.net.blocks[k] for k in ("params", "grads", "moment", "acts", "errs")]

    def upload(self):
        """Resident policy: the network goes to the card once and stays (alloc_if, free_if(0))."""
        if self.resident and not self.on_card:
            arrays = [self.t.net.struct] + self._network()
            self.card.transfer([In(a, alloc_if=True, free_if=False) for a in arrays])
            self.on_card = True

    @staticmethod
    def _rows_in(buf, rows):
        """The chunk's rows and labels, kept on the card until the call that trains them."""
        return [In(buf.x[:rows], free_if=False), In(buf.y[:rows], free_if=False)]

    def stage(self, buf, rows):
        if self.staged != (buf, rows):
            self.card.transfer(self._rows_in(buf, rows))
            self.staged = (buf, rows)

    def run_chunk(self, buf, rows, ahead=None, what=lib.DNN_TRAIN_CHUNK, aux=None):
        """With overlap: the chunk was staged on the card (by stage, or by the previous call's
        transfer); its call uses it there and frees it, and the next chunk crosses on the DMA
        lane while this one trains — double buffering, as LEO code did with offload_transfer
        signal()/wait() around the offload."""
        if not self.t.cfg.overlap:
            return self.run(what, 0, buf, 0, rows, aux)
        self.stage(buf, rows)
        x, y = buf.x[:rows], buf.y[:rows]
        sig = self._post(what, 0, x, y, rows, aux, [NoCopy(x, free_if=True), NoCopy(y, free_if=True)])
        self.staged = None
        try:
            if ahead is not None:
                try:
                    self.card.wait(self.card.transfer(self._rows_in(*ahead), signal=True))
                except CardMemoryError as exc:
                    mib = (x.nbytes + y.nbytes) / 2**20
                    raise CardMemoryError(f"{exc} (--overlap keeps two chunks on the card, this one and the "
                                          f"next: {mib:.0f} MiB more than without it)") from None
                self.staged = ahead
        finally:
            result = self.card.wait(sig)
        return result

    def run(self, what, layer, buf, row0, rows, aux=None):
        x, y = buf.x[row0:row0 + rows], buf.y[row0:row0 + rows]
        if self.resident and self.t.cfg.granularity == "op" and what != lib.DNN_EVAL_CHUNK:
            last = what == lib.DNN_OP_UPDATE and layer == self.t.net.arch.nlayers - 1
            chunk_xf = ([In(x, free_if=False), In(y, free_if=False)] if what == lib.DNN_OP_FETCH
                        else [NoCopy(x, free_if=last), NoCopy(y, free_if=last)])
        else:
            chunk_xf = [In(x), In(y)]
        return self.card.wait(self._post(what, layer, x, y, rows, aux, chunk_xf))

    def _post(self, what, layer, x, y, rows, aux, chunk_xf):
        """Post one call of dnn_x: the network's transfers (by policy), the chunk's, the counts'."""
        net = self.t.net
        starts = what in (lib.DNN_TRAIN_CHUNK, lib.DNN_TRAIN_BUNCH, lib.DNN_OP_FETCH, lib.DNN_EVAL_CHUNK)
        if self.resident:
            self.upload()
            # The structure carries the hyper-parameters: it goes in when a chunk or bunch starts;
            # between the operations of one bunch the card's copy holds the bunch state.
            xf = [In(net.struct, alloc_if=False, free_if=False) if starts else NoCopy(net.struct)]
            xf += [NoCopy(a) for a in self._network()]
        else:  # copy: every array in and out on every call, as the original port did
            xf = [InOut(net.struct)] + [InOut(a) for a in self._network()]
        xf += chunk_xf
        if aux is not None:
            xf.append(InOut(aux))
        b = net.blocks
        return self.card.call_async("cilkpp_dnn_x", what, layer, net.struct, b["params"], b["grads"], b["moment"],
                                    b["acts"], b["errs"], x, y, rows, aux, transfers=xf)

    def pull_weights(self):
        """Bring resident weights and momentum back (evaluation on the host, checkpoints)."""
        if self.resident and self.on_card:
            b = self.t.net.blocks
            self.card.transfer([Out(b["params"], alloc_if=False, free_if=False),
                                Out(b["moment"], alloc_if=False, free_if=False)])


EXECUTORS = {"host": HostExecutor, "implicit": ImplicitExecutor, "explicit": ExplicitExecutor}


class Trainer:
    """Owns network, chunk buffers and card; trains chunk after chunk."""

    def __init__(self, cfg: Config, input_dim: int, num_classes: int):
        cfg.validate()
        if cfg.arch.sizes[0] != input_dim:
            raise DnnValueError(f"--arch {cfg.arch} takes {cfg.arch.sizes[0]} inputs but the data has "
                                f"{input_dim} per row: start the arch with {input_dim}")
        if cfg.arch.sizes[-1] != num_classes:
            raise DnnValueError(f"--arch {cfg.arch} ends with {cfg.arch.sizes[-1]} classes but the data "
                                f"has {num_classes}: end the arch with {num_classes}")
        self.cfg = cfg
        self.input_dim, self.num_classes = input_dim, num_classes
        self.exec = None
        need = self.arena_bytes_needed()
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        if need > physical:  # refuse before the kernel's OOM killer decides for us
            raise self._too_big(f"{need / 2**30:.1f} GiB needed, {physical / 2**30:.1f} GiB in this machine")
        try:
            self.exec = EXECUTORS[cfg.mode](self)
            self.net = Network(cfg.arch, cfg.bunch, self.exec.alloc)
            self.net.initialize(cfg.init_scheme, cfg.seed)
            self.net.set_hyper(cfg.lr, cfg.momentum, cfg.weight_decay)
            # Two chunk buffers: the reader fills one while the card trains on the other.
            self.buffers = [ChunkBuffer(cfg.chunk, input_dim, self.exec.alloc) for _ in range(2)]
            # Confusion counts for evaluation; past MAX_CONFUSION_CLASSES (the DNNTK shape has 8,991
            # classes: 647 MB of counts) evaluation gives loss and accuracy only.
            self.confusion = (self.exec.alloc((num_classes, num_classes), np.int64)
                              if num_classes <= MAX_CONFUSION_CLASSES else None)
        except BaseException as exc:
            self.close()
            if isinstance(exc, MemoryError) and not isinstance(exc, DnnError):  # NumPy could not allocate
                raise self._too_big(str(exc)) from None
            raise

    def _too_big(self, detail: str) -> ArenaFullError:
        c = self.cfg
        return ArenaFullError(f"the network {c.arch} with --bunch {c.bunch} and two chunks of {c.chunk} rows "
                              f"do not fit in memory ({detail}); use a smaller --arch, --bunch or --chunk")

    def arena_bytes_needed(self) -> int:
        """Network blocks, two chunk buffers, structures and confusion counts, with headroom."""
        net = sum(Network.block_bytes(self.cfg.arch, self.cfg.bunch).values())
        chunks = 2 * self.cfg.chunk * (self.input_dim * 4 + 4)
        per_block = 128 * 16  # allocator headers and alignment
        confusion = self.num_classes**2 * 8 if self.num_classes <= MAX_CONFUSION_CLASSES else 0
        return int(net + chunks + confusion + per_block + (1 << 20))

    # -- training ---------------------------------------------------------------------------
    def set_lr(self, lr: float) -> None:
        self.net.set_hyper(lr, self.cfg.momentum, self.cfg.weight_decay)

    @property
    def overlaps(self) -> bool:
        """Explicit mode sends the next chunk while one runs: train_chunk and evaluate_chunk want it
        (ahead)."""
        return self.cfg.mode == "explicit" and self.cfg.overlap

    def stage(self, buf: ChunkBuffer, rows: int) -> None:
        """Overlap: move buf's rows to the card now, so buf may be refilled before they train."""
        self.exec.stage(buf, rows)

    def train_chunk(self, buf: ChunkBuffer, rows: int, ahead: tuple | None = None) -> np.ndarray:
        """Train on the first `rows` rows of buf. Returns [loss_sum, correct, images, bunches].
        ahead: (buffer, rows) of the next chunk, already read (overlap only)."""
        total = np.zeros(4)
        run, L = self.exec.run, self.cfg.arch.nlayers
        buf.start(rows)
        g = self.cfg.granularity
        if g == "chunk":
            total += self.exec.run_chunk(buf, rows, ahead)
            return total
        for row0 in range(0, rows, self.cfg.bunch):
            n = min(self.cfg.bunch, rows - row0)
            if g == "bunch":
                total += run(lib.DNN_TRAIN_BUNCH, 0, buf, row0, n)
                continue
            total += run(lib.DNN_OP_FETCH, 0, buf, row0, n)
            for l in range(L):
                run(lib.DNN_OP_FORWARD, l, buf, row0, n)
            r = run(lib.DNN_OP_LOSS, 0, buf, row0, n)
            total[R_LOSS] += r[R_LOSS]
            total[R_CORRECT] += r[R_CORRECT]
            for l in range(L - 1, -1, -1):
                run(lib.DNN_OP_BACKWARD, l, buf, row0, n)
            for l in range(L):
                run(lib.DNN_OP_UPDATE, l, buf, row0, n)
        return total

    def evaluate_chunk(self, buf: ChunkBuffer, rows: int, ahead: tuple | None = None) -> np.ndarray:
        buf.start(rows)
        return np.asarray(self.exec.run_chunk(buf, rows, ahead, lib.DNN_EVAL_CHUNK, self.confusion))

    def stats(self) -> dict:
        return self.exec.stats()

    def card_pid(self) -> int | None:
        card = getattr(self.exec, "card", None)
        return card.pid if card is not None else None

    def sync_weights(self) -> None:
        """Make the host's view of the weights current (explicit resident keeps them on the card)."""
        self.exec.pull_weights()

    def close(self) -> None:
        if self.exec is not None:
            self.exec.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
