"""dnn: train neural networks in offload mode on an emulated coprocessor card."""

from .errors import (  # noqa: F401
    ArenaFullError,
    CardDiedError,
    CardMemoryError,
    CardStartError,
    DataError,
    DnnError,
    DnnValueError,
    HostMemoryError,
    KernelError,
)

__version__ = "0.1.0"
