"""What to type after a training run: the commands that use what it left behind.

`python -m dnn.train --checkpoint CK.h5 --next-steps` ends with them, and so does `make demo`:
evaluate the checkpoint, look at a few predictions, export it for use without dnn, and compare
the transfer modes. The commands are printed as they must be typed in the same folder, so a test
can run them as printed (tests/test_newcomer.py does).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path


def next_steps(checkpoint: str, data_given: str | None, data_used: str) -> str:
    """The commands, one per line with what each does.

    data_given: --data as the user gave it (None: the default dataset, which every command finds
    by itself); data_used: the file trained on, passed to export for its class names."""
    ck = Path(checkpoint)
    folder = ck.parent
    data = f" --data {_shown(data_given)}" if data_given else ""
    steps = [
        (f"python -m dnn.evaluate --checkpoint {_shown(ck)}{data} --confusion-png {_shown(folder / 'confusion.png')}",
         "loss, accuracy, precision and recall per class, confusion matrix"),
        (f"python -m dnn.evaluate --checkpoint {_shown(ck)}{data} --predict 5",
         "the likeliest classes of the first 5 test images"),
        (f"python -m dnn.export --checkpoint {_shown(ck)} --data {_shown(data_used)} --out "
         f"{_shown(folder / 'model.npz')}", "the weights as plain NumPy arrays"),
        (f"python -m dnn.compare --quick{data}", "every transfer mode on the same data, explained"),
    ]
    return "\n".join(["next:"] + [line for cmd, what in steps for line in (f"  # {what}", f"  {cmd}")])


def _shown(path) -> str:
    """A path as short as it can be typed from here: relative when below the current folder."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            pass
    return shlex.quote(os.fspath(p))
