"""Training in host, implicit and explicit modes, at chunk, bunch or op granularity.

One `Trainer` owns the network, the chunk buffers and (except in host mode) the card, through the
executor of its mode (dnn/executors.py: how one operation reaches the kernels). The granularity
only decides how many calls a chunk takes: one for the chunk, one per bunch, or one per operation
of a bunch in the order the C trainer gives (dnn_bunch_op). The same operations run in the same
order on the same data, so with one card thread every mode ends with bit-identical weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ArenaFullError, DnnError, DnnValueError, HostMemoryError
from .cards import ParallelCards
from .cards import check_config as check_cards
from .executors import EXECUTORS, bunch_ops
from .machine import memory_limit
from .network import Arch, Network
from .offload import ffi, lib
from .workers import Team

MODES = ("host", "implicit", "explicit")
POLICIES = ("copy", "resident")
GRANULARITIES = ("chunk", "bunch", "op")
COHERENCES = ("shared", "myo", "myo-on-demand", "myo-on-acquire")
MAX_CONFUSION_CLASSES = 1024

# The optimiser's defaults follow the update's size. A bunch of 100 averages its gradients, so a
# rate of 0.05 with momentum 0.9 trains; one image per update (CHAOS, bunch 1) takes 100 times as
# many steps, each as noisy as one image, and with those settings a CNN does not learn (test accuracy
# 0.105: chance). CHAOS, after Ciresan's code, steps by the learning rate times one image's gradient
# with no momentum term; 0.01 is the rate that trains every network here one image at a time.
BUNCH_LR, BUNCH_MOMENTUM = 0.05, 0.9
IMAGE_LR, IMAGE_MOMENTUM = 0.01, 0.0
BUNCH = 100  # rows per update when neither the bunch nor workers are given


@dataclass
class Config:
    """A training run's settings. bunch, lr and momentum left None take their defaults here, the
    one place these rules live (the CLI passes what it was not given as None): the bunch is one
    image with workers and BUNCH otherwise; lr and momentum follow the bunch (BUNCH_LR and
    BUNCH_MOMENTUM for a bunch, IMAGE_LR and IMAGE_MOMENTUM one image at a time)."""

    arch: Arch
    mode: str = "implicit"
    explicit_weights: str = "resident"
    granularity: str = "chunk"
    bunch: int | None = None
    chunk: int = 10000
    threads: int = 1
    cpus: str | None = None
    link: str = "none"
    seed: int = 0
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float = 0.0
    init: str = "auto"
    card_memory: int = 0
    coherence: str = "shared"  # implicit mode: "shared" or "myo" / "myo-on-demand" / "myo-on-acquire"
    overlap: bool = False  # explicit mode, chunk granularity: the next chunk crosses while this one trains
    cards: int = 1  # data parallelism: each bunch split over this many cards (dnn.cards)
    distributed: bool = False  # one rank of an MPI job (dnn.distributed)
    sync: str = "bunch"  # distributed: allreduce the gradients per bunch, or average weights per chunk
    card_timeout: float = 10.0  # seconds without a heartbeat before a live card counts as dead
    workers: int = 0  # CHAOS (dnn/workers.py): this many workers train image by image; 0 = bunches
    update_every: int = 1  # CHAOS: images a worker trains between its additions into the shared weights
    shift: int = 0  # training images placed into the input move by up to this many pixels in x and y

    def __post_init__(self) -> None:
        if self.bunch is None:
            self.bunch = 1 if self.workers else BUNCH
        per_image = self.bunch == 1
        if self.lr is None:
            self.lr = IMAGE_LR if per_image else BUNCH_LR
        if self.momentum is None:
            self.momentum = IMAGE_MOMENTUM if per_image else BUNCH_MOMENTUM

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
        if not 0 <= self.workers <= lib.DNN_MAX_WORKERS:
            raise DnnValueError(f"--workers takes 1 to {lib.DNN_MAX_WORKERS} workers, got {self.workers}")
        if self.workers and (self.bunch != 1 or self.granularity != "chunk"):
            raise DnnValueError("--workers trains one image at a time, a chunk per call: it needs --bunch 1 and "
                                "--granularity chunk")
        if self.update_every < 1 or (self.update_every > 1 and not self.workers):
            raise DnnValueError(f"--update-every {self.update_every}: a number of images of at least 1, and more "
                                "than 1 only with --workers (how often a worker adds into the shared weights)")
        if self.lr <= 0 or self.momentum < 0 or self.weight_decay < 0:
            raise DnnValueError("--lr must be positive, --momentum and --weight-decay not negative")
        check_cards(self)
        check_shift(self)

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
        chaos = f"/chaos-{self.workers}w" if self.workers else ""
        if self.distributed:
            return f"{m}/{self.cards}-card-ranks/sync-{self.sync}{chaos}"
        if self.cards > 1:
            return f"{m}/{self.cards}-cards{chaos}"
        if chaos:
            return f"{m}{chaos}"
        return f"{m}/{self.granularity}"


def check_shift(cfg: Config) -> None:
    """--shift moves each training image as it is placed into the network's input: it needs a
    network that places the data's images, and leaves some of every image inside."""
    if cfg.shift == 0:
        return
    placed = cfg.arch.placed
    if cfg.shift < 0 or (placed and cfg.shift >= min(placed)):
        raise DnnValueError(f"--shift {cfg.shift}: give the largest offset in pixels, from 0 (no shift) to "
                            f"{min(placed) - 1 if placed else 'the image size - 1'}")
    if not placed:
        raise DnnValueError(f"--shift moves the data's images as they are placed into a larger input (28x28 into "
                            f"29x29): the network {cfg.arch} does not place them; use a convolutional --arch with "
                            "a 29x29 input on 28x28 images")
    if cfg.distributed:
        raise DnnValueError("--shift with --distributed is not supported: a rank's rows are not consecutive images "
                            "of the dataset, which the shift counts by")


class ChunkBuffer:
    """One chunk's worth of inputs and labels, plus the dnn_chunk structure over them. `first`: the
    dataset index of its row 0 (the training images' random shift counts by it)."""

    def __init__(self, rows: int, cols: int, alloc):
        self.first = 0
        self.x = alloc((rows, cols), np.float32)
        self.y = alloc(rows, np.int32)
        self.struct = alloc(ffi.sizeof("dnn_chunk"), np.uint8)
        self.chunk = ffi.cast("dnn_chunk *", self.struct.ctypes.data)

    def start(self, rows: int) -> None:
        """Make the first `rows` rows the chunk to train on, from its beginning."""
        lib.dnn_chunk_set(self.chunk, ffi.cast("float *", self.x.ctypes.data),
                          ffi.cast("int32_t *", self.y.ctypes.data), rows, self.x.shape[1])


def arena_bytes(cfg: Config, input_dim: int, num_classes: int) -> int:
    """What implicit mode puts in the arena: network blocks, two chunk buffers, structures,
    confusion counts and the workers' state, with headroom."""
    net = sum(Network.block_bytes(cfg.arch, cfg.bunch, cfg.threads).values())
    chunks = 2 * cfg.chunk * (input_dim * 4 + 4)
    per_block = 128 * 16  # allocator headers and alignment
    confusion = num_classes**2 * 8 if num_classes <= MAX_CONFUSION_CLASSES else 0
    team = Team.nbytes(Network.plan(cfg.arch, cfg.bunch, cfg.threads)[0], cfg.workers) if cfg.workers else 0
    return int(net + chunks + confusion + team + per_block + (1 << 20))


class Trainer:
    """Owns network, chunk buffers and card; trains chunk after chunk."""

    def __init__(self, cfg: Config, input_dim: int, num_classes: int, ranks=None):
        """ranks: a dnn.distributed.Ranks when this process is one rank of an MPI job."""
        cfg.validate()
        if cfg.arch.inputs != input_dim:
            raise DnnValueError(f"--arch {cfg.arch} takes {cfg.arch.inputs} inputs but the data has "
                                f"{input_dim} per row: start the arch with {input_dim}")
        if cfg.arch.sizes[-1] != num_classes:
            raise DnnValueError(f"--arch {cfg.arch} ends with {cfg.arch.sizes[-1]} classes but the data "
                                f"has {num_classes}: end the arch with {num_classes}")
        self.cfg = cfg
        self.input_dim, self.num_classes = input_dim, num_classes
        self.epoch = 0  # the training images' shift is drawn per epoch
        self.executor = None
        need = arena_bytes(cfg, input_dim, num_classes)
        have, what = memory_limit()
        if need > have:  # refuse before the kernel's OOM killer (or a failed mmap) decides for us
            raise self._too_big(f"{need / 2**30:.1f} GiB needed and {what} {have / 2**30:.1f} GiB")
        try:
            self.executor = (ParallelCards(cfg, need, ranks) if cfg.cards > 1 or ranks is not None
                             else EXECUTORS[cfg.mode](cfg, need))
            self.net = Network(cfg.arch, cfg.bunch, self.executor.alloc, cfg.threads)
            self.net.initialize(cfg.init_scheme, cfg.seed)
            self.net.set_hyper(cfg.lr, cfg.momentum, cfg.weight_decay)
            self.team = Team(self.net, cfg.workers, self.executor.alloc, cfg.update_every) if cfg.workers else None
            # Two chunk buffers: the reader fills one while the card trains on the other.
            self.buffers = [ChunkBuffer(cfg.chunk, input_dim, self.executor.alloc) for _ in range(2)]
            # Confusion counts for evaluation; past MAX_CONFUSION_CLASSES (the DNNTK shape has 8,991
            # classes: 647 MB of counts) evaluation gives loss and accuracy only.
            self.confusion = (self.executor.alloc((num_classes, num_classes), np.int64)
                              if num_classes <= MAX_CONFUSION_CLASSES else None)
        except BaseException as exc:
            self.close()
            if isinstance(exc, MemoryError) and not isinstance(exc, DnnError):  # NumPy could not allocate
                raise self._too_big(str(exc)) from None
            raise

    def _too_big(self, detail: str) -> MemoryError:
        c = self.cfg
        error = ArenaFullError if c.mode == "implicit" else HostMemoryError  # only implicit mode has an arena
        return error(f"the network {c.arch} with --bunch {c.bunch} and two chunks of {c.chunk} rows "
                     f"do not fit in memory ({detail}); use a smaller --arch, --bunch or --chunk")

    # -- training ---------------------------------------------------------------------------
    def set_lr(self, lr: float) -> None:
        self.net.set_hyper(lr, self.cfg.momentum, self.cfg.weight_decay)

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next training calls belong to (the training images' shift is drawn per epoch)."""
        self.epoch = int(epoch)

    @property
    def overlaps(self) -> bool:
        """Explicit mode sends the next chunk while one runs: train_chunk and evaluate_chunk want it
        (ahead)."""
        return self.cfg.mode == "explicit" and self.cfg.overlap

    def stage(self, buf: ChunkBuffer, rows: int) -> None:
        """Overlap: move buf's rows to the card now, so buf may be refilled before they train."""
        self.executor.stage(buf, rows)

    def run_op(self, what: int, layer: int, buf: ChunkBuffer, row0: int, rows: int) -> list[float]:
        """One call of the kernel: `what` (a DNN_OP_*, DNN_TRAIN_BUNCH) on rows row0.. of buf."""
        return self.executor.run(what, layer, self.net, buf, row0, rows)

    def train_chunk(self, buf: ChunkBuffer, rows: int, ahead: tuple | None = None) -> np.ndarray:
        """Train on the first `rows` rows of buf. Returns the kernels' results summed, indexed by
        lib.DNN_R_* (loss sum, correct, images, bunches). ahead: (buffer, rows) of the next chunk,
        already read (overlap only)."""
        total = np.zeros(lib.DNN_R_COUNT)
        buf.start(rows)
        self.net.set_shift(self.cfg.shift, self.cfg.seed, self.epoch)
        g = self.cfg.granularity
        if isinstance(self.executor, ParallelCards):  # the cards meet once per bunch (per chunk with workers)
            return total + self.executor.train_chunk(self.net, buf, rows, self.team)
        if g == "chunk":
            crew = self.team.crew("train") if self.team else None
            total += self.executor.run_chunk(lib.DNN_TRAIN_CHUNK, self.net, buf, rows, ahead, crew=crew)
            return total
        for row0 in range(0, rows, self.cfg.bunch):
            n = min(self.cfg.bunch, rows - row0)
            calls = [(lib.DNN_TRAIN_BUNCH, 0)] if g == "bunch" else bunch_ops(self.cfg.arch.nlayers)
            for what, layer in calls:
                total += self.run_op(what, layer, buf, row0, n)
        return total

    def evaluate_chunk(self, buf: ChunkBuffer, rows: int, ahead: tuple | None = None) -> np.ndarray:
        buf.start(rows)
        self.net.set_shift(0, self.cfg.seed, self.epoch)  # test images are never shifted
        crew = self.team.crew("eval") if self.team else None
        return np.asarray(self.executor.run_chunk(lib.DNN_EVAL_CHUNK, self.net, buf, rows, ahead, self.confusion,
                                                  crew=crew))

    def stats(self) -> dict:
        return self.executor.stats()

    def worker_images(self, kind: str) -> list[list[int]]:
        """CHAOS: the images each worker took for training ("train") or evaluation ("eval"), card by
        card (evaluation runs on card 0's workers only)."""
        teams = self.executor.teams if isinstance(self.executor, ParallelCards) else []
        return [t.images_taken(kind) for t in teams or [self.team]]

    def card_pid(self) -> int | None:
        return self.executor.card_pid()

    def pull(self, *blocks: str) -> None:
        """Bring these blocks of the network back to the host (explicit resident keeps them on the
        card): evaluation reads "acts", checkpoints "params" and "moment"."""
        self.executor.pull(self.net, blocks)

    def sync_weights(self) -> None:
        """Make the host's view of the weights and momentum current."""
        self.pull("params", "moment")

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
