"""dnn.arrays — a NumPy-like library on dnn's card, after pyMIC2.

    from dnn.arrays import Device
    with Device(threads=2) as card:
        x = card.bind(np.random.rand(512, 512).astype(np.float32))   # explicit: card memory
        w = card.shared(np.ones((512, 10), np.float32))               # implicit: shared arena
        y = np.maximum(x @ w, 0).sum(axis=0)                          # three kernels on the card
        print(y.get(), card.stream.counters())

Arrays of float32, float64, int64 and bool; the operations of pyMIC2's Table 1 (and the few
more a softmax MLP needs), NumPy's dtypes, broadcasting, axis and out=; kernels in Cilk Plus
(native/arrays). Calls are queued on a stream and run asynchronously, in order.
"""

from .array import OffloadArray
from .device import TRANSFER_POLICIES, Device
from .stream import Record, Stream

__all__ = ["Device", "OffloadArray", "Record", "Stream", "TRANSFER_POLICIES"]
