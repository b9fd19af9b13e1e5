"""dnn.cilkpp — translate the Cilk Plus offload subset (.cilk) into C on dnn's offload runtime.

    python -m dnn.cilkpp IN.cilk -o OUT.c [-I DIR]
    translate(source, filename) -> str

The generated file compiles twice with the same flags: as the host program (links the host
runtime; its ``main`` opens the card named by ``$DNN_CARD_EXE`` or, without it, runs every offload
in the host process on a local arena), and with ``-DDNN_CARD_BUILD`` into a card executable
(native/offload/card.c + the card runtime + this file, so the card's kernel registry holds the
program's kernels). ``-DCILKPP_DEBUG`` adds run-time checks of section lengths.
See front.py (how the text is parsed), lower/ (what each construct becomes) and emit.py (the
file around it); build.py compiles translated programs.
"""

from __future__ import annotations

import os
import re

from .emit import emit
from .front import CilkppError, read_unit
from .lower import Lowerer, find_shared

__all__ = ["translate", "CilkppError"]


def translate(source, filename="<cilk>", include_dirs=(), defines=(), captures=None):
    """Translate .cilk source text into C; raises CilkppError with file:line:col. defines: NAME
    or NAME=VALUE, applied to the source as gcc's -D would. captures (a dict, optional): what each
    #pragma offload block carries to the card, by kernel name; read (a name in it that the block
    does not use travels all the same, so the host and the card translations, which differ where
    the code tests __MIC__, agree on every block's frame) and then filled in."""
    unit = read_unit(source, filename, include_dirs, defines)
    shared = find_shared(unit)
    lowerer = Lowerer(unit, shared, kernel_prefix(filename), captures if captures is not None else {})
    program = lowerer.lower()
    return emit(unit, program)


def kernel_prefix(filename):
    """cilkpp_<file stem>: the name of the kernels private to one translated file."""
    stem = os.path.splitext(os.path.basename(filename or "cilk"))[0]
    stem = re.sub(r"\W", "_", stem)[:24]
    return f"cilkpp_{stem}"
