"""Where an offload array's bytes live: a card buffer (explicit) or the shared arena (implicit).

* CardBuffer — pyMIC's style: card-private memory filled over the explicit channel. The card
  runtime keys each buffer by a host address, so every card buffer has a host mirror of the
  same size: its key, and where update_host() lands. Kernel arguments pass the mirror's
  address and the card turns it into the buffer's.
* SharedBuffer — Cilk shared memory: one block of the arena, the same bytes at the same
  address on both sides; nothing is ever copied, update_host/update_device do nothing.

A CardBuffer is freed on the card by the next call after its last array is gone (a free_if
clause riding on that call), never from a finalizer: a finalizer may run in the middle of a
call.
"""

from __future__ import annotations

import numpy as np

from ..offload import ffi


class SharedBuffer:
    explicit = False

    def __init__(self, device, nbytes: int):
        self.view = device.card.shared_empty((max(nbytes, 1),), np.uint8)  # freed with the view
        self.nbytes = nbytes
        self.address = self.view.ctypes.data

    def host_bytes(self) -> np.ndarray:
        """The bytes as the host sees them (here: the very bytes the card uses)."""
        return self.view


class CardBuffer:
    explicit = True

    def __init__(self, device, nbytes: int, mirror: np.ndarray | None = None):
        self.device = device
        # the key, and the host's copy: a fresh block, or the bytes of the array bound
        self.mirror = mirror if mirror is not None else np.empty(max(nbytes, 1), np.uint8)
        self.nbytes = nbytes
        self.address = self.mirror.ctypes.data
        self.on_card = False     # set once the call that allocates it has been posted
        self.host_current = False  # the mirror holds what the card holds

    def host_bytes(self) -> np.ndarray:
        return self.mirror

    def __del__(self):
        if self.on_card:
            self.device.release(self.mirror)


def pointer(address: int):
    """A kernel argument for a host address (the card maps it into its buffer or the arena)."""
    return ffi.cast("void *", address)
