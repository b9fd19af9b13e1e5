"""What every step of the Cilk Plus front end shares: errors with source positions, tokens
(a line of C as (kind, text, column)), comments blanked without moving columns, and the records a
translation unit is made of (its sections, pragmas, keywords, each with its source position)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pycparser import c_ast
from pycparser.c_parser import Coord


class CilkppError(Exception):
    """A translation error; str() is ``file:line:col: error: message``."""

    def __init__(self, file, line, col, msg):
        self.file, self.line, self.col, self.msg = file, line, col, msg
        super().__init__(f"{file}:{line}:{col}: error: {msg}")


def cpp_flag(define):
    """A -D/-U option from a define kept as gcc's -D takes it (NAME or NAME=VALUE), or "-UNAME"."""
    return define if define.startswith("-U") else f"-D{define}"


def error_at(coord, msg):
    if coord is None:
        return CilkppError("<unknown>", 0, 0, msg)
    return CilkppError(coord.file, coord.line, coord.column or 1, msg)


# ---- tokens ------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<num>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*)
  | (?P<str>(?:u8|[uUL])?"(?:\\.|[^"\\\n])*")
  | (?P<chr>(?:[uUL])?'(?:\\.|[^'\\\n])*')
  | (?P<punct>\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|\#\#|[][(){}.,;:?~!<>=+\-*/%&|^\#\\@`])
    """,
    re.VERBOSE,
)


@dataclass
class Tok:
    text: str
    kind: str
    file: str = ""
    line: int = 0
    col: int = 0

    def coord(self):
        return Coord(self.file, self.line, self.col)


def tokenize_line(text):
    """(kind, text, col) for one line of C (comments already blanked)."""
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            out.append(("punct", text[pos], pos + 1))
            pos += 1
            continue
        kind = m.lastgroup
        if kind not in ("ws", "nl"):
            out.append((kind, m.group(), pos + 1))
        pos = m.end()
    return out


def blank_comments(src):
    """Comments become spaces (newlines kept), so lines and columns do not move."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            out.append(src[i : j + 1])
            i = j + 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in src[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


# ---- the translation unit -----------------------------------------------------------------------


@dataclass
class Section:
    coord: Coord
    whole: bool = False  # a[:]


@dataclass
class PragmaInfo:
    coord: Coord
    kind: str  # offload, offload_transfer, offload_wait, offload_attribute
    toks: list  # clause tokens (after macro expansion), with source positions


@dataclass
class Unit:
    filename: str
    ast: c_ast.FileAST
    includes: list  # (line, text)
    early_defines: list  # #define lines before the first #include (feature macros)
    sections: dict = field(default_factory=dict)  # id -> Section
    pragmas: dict = field(default_factory=dict)  # id -> PragmaInfo
    spawns: dict = field(default_factory=dict)  # id -> Coord
    offloads: dict = field(default_factory=dict)
    syncs: dict = field(default_factory=dict)
    cilk_for: set = field(default_factory=set)  # (file, line, col) of _Cilk_for
    shared_names: dict = field(default_factory=dict)  # top-level name -> Coord of _Cilk_shared
    typedefs: set = field(default_factory=set)
