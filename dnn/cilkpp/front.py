"""Front end of the Cilk Plus translator: from .cilk text to a pycparser AST.

How the text reaches a C99 parser (pycparser), step by step:

1. Comments are blanked (columns kept). ``#include`` lines are taken out and remembered: they
   are re-emitted verbatim at the top of the generated C, and the typedef names they declare are
   learned by running ``gcc -E`` on the include lines alone (real headers, real include path) and
   scanning the typedefs. The parser only needs to know *which* identifiers are type names, so
   each becomes ``typedef int NAME;`` in a prelude that is dropped again after parsing. Macros from
   system headers are not expanded (``INFINITY``, ``NULL``, ``stdout`` stay identifiers and the C
   compiler expands them in the output); only ``bool`` -> ``_Bool`` and the GNU spellings of
   ``inline`` / ``restrict`` are defined, because the parser cannot read them otherwise.
2. Every ``#pragma offload...`` directive (continuation lines joined) becomes a placeholder call
   ``__cilkpp_pragma(ID, ...)`` so that the user's own macros are expanded inside its clauses.
3. ``gcc -E`` runs on the result: the user's ``#define`` / ``#if`` are applied (macros such as
   COPY_FLOAT_ARRAY_IN expand). Its line markers give each token its source line; columns are
   recovered by aligning each output line with the tokens of the source line (exact outside macro
   expansions; inside one, a token is placed at the macro's name).
4. Tokens are rewritten so that pycparser accepts them: ``a[s:n:k]`` -> ``a[__cilkpp_sec(ID, s, n,
   k)]`` (the subscript is replaced, so ranks stay visible in the AST), ``_Cilk_spawn f(x)`` ->
   ``__cilkpp_spawn(ID, f(x))``, ``_Cilk_offload[_to(n)] f(x)`` -> ``__cilkpp_offload(ID, n,
   f(x))``, ``_Cilk_sync`` -> ``__cilkpp_sync(ID)``, ``_Cilk_for`` -> ``for`` (position noted),
   ``_Cilk_shared`` and ``__attribute__((target(mic)))`` removed (positions noted), and the
   pragma placeholders back into ``#pragma cilkpp ID`` lines. IDs index side tables that keep the
   exact source position of each construct.
5. pycparser parses the rewritten text; every AST coordinate is mapped back to ``file:line:col``
   of the .cilk source.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field

from pycparser import c_ast, c_parser
from pycparser.c_parser import Coord
from pycparserext.ext_c_parser import FuncDeclExt, GnuCParser

from .gnu import FuncDeclAttrs


class CilkppError(Exception):
    """A translation error; str() is ``file:line:col: error: message``."""

    def __init__(self, file, line, col, msg):
        self.file, self.line, self.col, self.msg = file, line, col, msg
        super().__init__(f"{file}:{line}:{col}: error: {msg}")


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


# ---- typedef names of the included headers ------------------------------------------------------

ARITH_TYPEDEFS = {
    "size_t", "ssize_t", "ptrdiff_t", "intptr_t", "uintptr_t", "intmax_t", "uintmax_t", "off_t",
    "time_t", "clock_t", "pid_t", "wchar_t", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t",
    "uint16_t", "uint32_t", "uint64_t", "int_fast8_t", "int_fast16_t", "int_fast32_t",
    "int_fast64_t", "uint_fast8_t", "uint_fast16_t", "uint_fast32_t", "uint_fast64_t",
    "int_least8_t", "int_least16_t", "int_least32_t", "int_least64_t", "uint_least8_t",
    "uint_least16_t", "uint_least32_t", "uint_least64_t", "float_t", "double_t", "useconds_t",
}
FLOAT_TYPEDEFS = {"float_t", "double_t"}

_GNU_DEFINES = ["-Dbool=_Bool", "-D__inline=inline", "-D__inline__=inline", "-D__restrict=restrict",
                "-D__restrict__=restrict", "-D__const=const", "-D__thread=_Thread_local", "-D__INTEL_OFFLOAD=1", "-D__cilk=200",
                "-D__CILKPP__=1"]


def _strip_groups(toks, opener, closer):
    out, depth = [], 0
    for t in toks:
        if t == opener:
            depth += 1
        elif t == closer and depth:
            depth -= 1
        elif not depth:
            out.append(t)
    return out


def scan_typedef_names(text):
    """Typedef names declared in preprocessed C text (a heuristic scan, not a parse)."""
    toks = [t for k, t, _ in tokenize_line(text.replace("\n", " ")) if k != "str"]
    names = set()
    i, depth = 0, 0
    while i < len(toks):
        t = toks[i]
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
        elif t == "typedef" and depth == 0:
            j, d = i + 1, 0
            while j < len(toks) and not (toks[j] == ";" and d == 0):
                if toks[j] in "([{":
                    d += 1
                elif toks[j] in ")]}":
                    d -= 1
                j += 1
            decl = toks[i + 1 : j]
            i = j
            # drop __attribute__((...)) / __asm__(...) groups and struct bodies
            cleaned, k = [], 0
            while k < len(decl):
                if decl[k] in ("__attribute__", "__asm__", "__asm", "__extension__", "__declspec"):
                    if decl[k] == "__extension__":
                        k += 1
                        continue
                    k += 1
                    if k < len(decl) and decl[k] == "(":
                        d = 0
                        while k < len(decl):
                            d += decl[k] == "("
                            d -= decl[k] == ")"
                            k += 1
                            if d == 0:
                                break
                    continue
                cleaned.append(decl[k])
                k += 1
            cleaned = _strip_groups(cleaned, "{", "}")
            chunks, cur, d = [], [], 0
            for t2 in cleaned:
                if t2 == "(":
                    d += 1
                elif t2 == ")":
                    d -= 1
                if t2 == "," and d == 0:
                    chunks.append(cur)
                    cur = []
                else:
                    cur.append(t2)
            chunks.append(cur)
            for ch in chunks:
                name = None
                for a in range(len(ch) - 2):
                    if ch[a] == "(" and ch[a + 1] in ("*", "^") and re.match(r"[A-Za-z_]\w*$", ch[a + 2]):
                        name = ch[a + 2]
                        break
                if name is None:
                    d = 0
                    for t2 in ch:
                        if t2 in "([":
                            if d == 0 and name:
                                break
                            d += 1
                        elif t2 in ")]":
                            d -= 1
                        elif d == 0 and re.match(r"[A-Za-z_]\w*$", t2):
                            name = t2
                if name:
                    names.add(name)
            continue
        i += 1
    return names


def header_typedefs(includes, include_dirs, coord_of, defines=()):
    """Typedef names of the headers named by the #include lines (gcc -E on them alone)."""
    if not includes:
        return set()
    with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as f:
        f.write("\n".join(text for _, text in includes) + "\n")
        tmp = f.name
    try:
        cmd = (["gcc", "-E", "-P", "-std=gnu11", "-fopenmp"] + [f"-D{d}" for d in defines]
               + [f"-I{d}" for d in list(include_dirs) + [os.path.join(_PROJECT, "include")]] + [tmp])
        r = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.unlink(tmp)
    if r.returncode != 0:
        m = re.search(r":(\d+):\d+: (?:fatal )?error: (.*)", r.stderr)
        line = int(m.group(1)) if m else 1
        where = coord_of(includes[min(line, len(includes)) - 1][0])
        raise error_at(where, "cannot read the included header: " + (m.group(2) if m else r.stderr.strip()))
    return scan_typedef_names(r.stdout)


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


def _type_macros(includes):
    """Macros of included headers that name a type keyword (the parser must see the keyword)."""
    if any(re.search(r"[<\"]complex\.h[>\"]", text) for _, text in includes):
        return ["-Dcomplex=_Complex"]
    return []


def _directive(line):
    m = re.match(r"\s*#\s*(\w+)", line)
    return m.group(1) if m else None


_QUOTED = re.compile(r'\s*#\s*include\s*"([^"]+)"')
_PROJECT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "native"))


def splice_quoted_includes(src, filename, include_dirs, depth=0):
    """The source's lines with each ``#include "x"`` of a user file (found beside the including
    file or in include_dirs, and not one of dnn's own headers) replaced by x's lines, so the
    translator sees the Cilk Plus in headers and included .c files; and, per line, the (file,
    line) it came from. Include guards still work: gcc -E reads the spliced text."""
    lines = blank_comments(src.replace("\r\n", "\n")).split("\n")
    out, origin = [], []
    here = os.path.dirname(os.path.abspath(filename)) if filename else os.getcwd()
    for n, ln in enumerate(lines):
        m = _QUOTED.match(ln)
        path = None
        if m and depth < 16:
            for d in [here] + list(include_dirs):
                p = os.path.join(d, m.group(1))
                if os.path.isfile(p):
                    path = p
                    break
        if path and not os.path.realpath(path).startswith(_PROJECT + os.sep):
            # named as gcc names it: beside the including file's name, or as found
            shown = os.path.normpath(os.path.join(os.path.dirname(filename), m.group(1))) if os.path.dirname(
                os.path.abspath(path)) == here else path
            with open(path) as f:
                sub, sub_origin = splice_quoted_includes(f.read(), shown, include_dirs, depth + 1)
            if sub and sub[-1] == "":
                sub, sub_origin = sub[:-1], sub_origin[:-1]
            out.extend(sub)
            origin.extend(sub_origin)
        else:
            out.append(ln)
            origin.append((filename, n + 1))
    return out, origin


def read_unit(source, filename, include_dirs=(), defines=()):
    """Parse a .cilk source into a Unit (AST with source coordinates + side tables). defines:
    NAME or NAME=VALUE, as gcc's -D (the card side's translation defines __MIC__)."""
    lines, origin = splice_quoted_includes(source, filename, include_dirs)
    includes, early_defines = [], []
    pragma_raw = {}  # id -> (line, col, kind)
    pragma_pos = {}  # line -> (column where the clauses start in the placeholder, [(line, col)])
    out_lines = list(lines)
    i = 0
    seen_include = False
    while i < len(lines):
        ln = lines[i]
        d = _directive(ln)
        # continuation lines of any directive
        j = i
        while lines[j].endswith("\\") and j + 1 < len(lines):
            j += 1
        if d == "include":
            includes.append((i + 1, ln.strip()))
            seen_include = True
            for k in range(i, j + 1):
                out_lines[k] = ""
        elif d == "define" and not seen_include:
            early_defines.append("\n".join(lines[i : j + 1]))
        elif d == "pragma":
            joined = " ".join(lines[k].rstrip("\\") for k in range(i, j + 1))
            m = re.match(r"(\s*#\s*pragma\s+)(offload(?:_transfer|_wait|_attribute)?|cilk\s+grainsize)\b(.*)$", joined)
            if m:
                pid = len(pragma_raw) + 1
                col = ln.index("#") + 1
                # source position of every character of the joined directive
                posmap = []
                for k in range(i, j + 1):
                    seg = lines[k].rstrip("\\")
                    posmap.extend((k + 1, c + 1) for c in range(len(seg)))
                    posmap.append((k + 1, len(seg) + 1))
                head = " " * (col - 1) + f"__cilkpp_pragma({pid}, "
                pragma_raw[pid] = (i + 1, col, "grainsize" if m.group(2).startswith("cilk") else m.group(2))
                pragma_pos[i + 1] = (len(head) + 1, posmap[m.start(3):])
                out_lines[i] = head + f"{m.group(3)})"
                for k in range(i + 1, j + 1):
                    out_lines[k] = ""
        i = j + 1

    coord_of = lambda line: Coord(*origin[line - 1], 1)  # noqa: E731
    base_dir = os.path.dirname(os.path.abspath(filename)) if filename else os.getcwd()
    typedefs = header_typedefs(includes, [base_dir] + list(include_dirs), coord_of, defines)

    # source tokens per line, for column recovery
    src_toks = {n + 1: tokenize_line(l) for n, l in enumerate(out_lines)}

    text = "\n".join(out_lines) + "\n"
    r = subprocess.run(["gcc", "-E", "-std=gnu11", "-x", "c"] + _GNU_DEFINES + _type_macros(includes) + [f"-D{d}" for d in defines] + ["-"],
                       input=text,
                       capture_output=True, text=True)
    if r.returncode != 0:
        m = re.search(r"<stdin>:(\d+):(\d+): (?:fatal )?error: (.*)", r.stderr)
        if m:
            raise CilkppError(*origin[min(int(m.group(1)), len(origin)) - 1], int(m.group(2)), m.group(3))
        raise CilkppError(filename, 1, 1, "preprocessor: " + r.stderr.strip())

    # tokens with positions
    toks = []
    cur_line, cur_file = 1, "<stdin>"
    for oline in r.stdout.split("\n"):
        m = re.match(r'#\s*(\d+)\s+"([^"]*)"', oline)
        if m:
            cur_line, cur_file = int(m.group(1)), m.group(2)
            continue
        if oline.startswith("#"):  # a #pragma the preprocessor passed through
            if cur_file == "<stdin>":
                st = src_toks.get(cur_line, [])
                toks.append(Tok(oline.strip(), "pragma", *_at(origin, cur_line), st[0][2] if st else 1))
            cur_line += 1
            continue
        if cur_file != "<stdin>":
            cur_line += 1
            continue
        lt = tokenize_line(oline)
        st = src_toks.get(cur_line, [])
        j = 0
        last_col = st[0][2] if st else 1
        for kind, t, _c in lt:
            if j < len(st) and st[j][1] == t:
                col = st[j][2]
                j += 1
            elif j < len(st) and st[j][0] == "id":
                # inside a macro expansion: skip the invocation once the output catches up
                col = st[j][2]
                k = j + 1
                if k < len(st) and st[k][1] == "(":
                    dd = 0
                    while k < len(st):
                        dd += st[k][1] == "("
                        dd -= st[k][1] == ")"
                        k += 1
                        if dd == 0:
                            break
                nxt = st[k][1] if k < len(st) else None
                # the token after the invocation ends the expansion; placed lazily
                if nxt is not None and t == nxt:
                    col = st[k][2]
                    j = k + 1
            else:
                col = last_col
            last_col = col
            line = cur_line
            if cur_line in pragma_pos:
                start, pmap = pragma_pos[cur_line]
                if 0 <= col - start < len(pmap):
                    line, col = pmap[col - start]
            toks.append(Tok(t, kind, *_at(origin, line), col))
        cur_line += 1

    unit = Unit(filename, None, includes, early_defines, typedefs=typedefs)
    for pid, (line, col, kind) in pragma_raw.items():
        unit.pragmas[pid] = PragmaInfo(Coord(*_at(origin, line), col), kind, [])
    rewritten = _rewrite(toks, unit)
    unit.ast = _parse(rewritten, unit)
    return unit


def _at(origin, line):
    """(file, line) of a line of the spliced text."""
    return origin[min(max(line, 1), len(origin)) - 1]


# ---- token rewriting ----------------------------------------------------------------------------


def _match(toks, i):
    """Index of the bracket closing toks[i]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    o, c = toks[i].text, pairs[toks[i].text]
    d = 0
    for k in range(i, len(toks)):
        if toks[k].text == o:
            d += 1
        elif toks[k].text == c:
            d -= 1
            if d == 0:
                return k
    raise error_at(toks[i].coord(), f"'{o}' is never closed")


_CILK_ALIASES = {"cilk_spawn": "_Cilk_spawn", "cilk_sync": "_Cilk_sync", "cilk_for": "_Cilk_for"}


def _split_top(toks, a, b):
    """[(start, end)] of the comma-separated parts of toks[a:b] at bracket depth 0."""
    parts, d, s = [], 0, a
    for k in range(a, b):
        x = toks[k].text
        if x in "([{":
            d += 1
        elif x in ")]}":
            d -= 1
        elif x == "," and d == 0:
            parts.append((s, k))
            s = k + 1
    parts.append((s, b))
    return parts


def _syn(text, like):
    return Tok(text, "id" if re.match(r"\w", text) else "punct", like.file, like.line, like.col)


class _Out:
    """Rewritten text with, per output line, the source position of each token."""

    def __init__(self):
        self.lines = [[]]

    def put(self, tok):
        self.lines[-1].append(tok)

    def newline(self):
        if self.lines[-1]:
            self.lines.append([])


def _rewrite(toks, unit):
    out = _Out()
    _rewrite_range(toks, 0, len(toks), out, unit, top=True)
    return out


def _rewrite_range(toks, a, b, out, unit, top=False):
    i = a
    last_line = None
    brace = 0
    while i < b:
        t = toks[i]
        if top and last_line is not None and t.line != last_line:
            out.newline()
        last_line = t.line
        if t.kind == "pragma":
            out.newline()
            out.put(t)
            out.newline()
            i += 1
            continue
        tx = t.text
        if tx == "{":
            brace += 1
        elif tx == "}":
            brace -= 1
        if tx == "__cilkpp_pragma" and i + 1 < b and toks[i + 1].text == "(":
            e = _match(toks, i + 1)
            pid = int(toks[i + 2].text)
            info = unit.pragmas[pid]
            info.toks = toks[i + 4 : e]
            out.newline()
            out.put(Tok(f"#pragma cilkpp {pid}", "pragma", t.file, t.line, t.col))
            out.newline()
            i = e + 1
            continue
        if tx == "_Cilk_shared":
            if brace == 0:
                # the declared name: first identifier followed by ( ; = [ ,
                for k in range(i + 1, min(b, i + 40)):
                    if toks[k].kind == "id" and k + 1 < b and toks[k + 1].text in "(;=[,":
                        unit.shared_names.setdefault(toks[k].text, t.coord())
                        break
            i += 1
            continue
        if tx in ("__attribute__", "__declspec") and i + 1 < b and toks[i + 1].text == "(":
            e = _match(toks, i + 1)
            inner = " ".join(x.text for x in toks[i + 2 : e])
            if re.fullmatch(r"\(?\s*target\s*\(\s*mic\s*\)\s*\)?", inner):
                i = e + 1  # every function is compiled for host and card alike
                continue
            if re.fullmatch(r"\(?\s*vector\b.*", inner):
                i = e + 1  # an elemental function (vector): an ordinary one here, called per element
                continue
            m = re.search(r"\btarget\s*\(\s*([A-Za-z_]\w*)\s*\)", inner)
            if m:  # target(<name>): an offload target; gcc's own target attribute takes strings
                raise error_at(t.coord(), f"unsupported attribute {tx}({inner}): the only offload target is "
                               "target(mic)")
            if tx == "__declspec":  # __declspec(align(64)), (noinline): gcc spells them as attributes
                spelled = {"align": "aligned", "noinline": "noinline", "noreturn": "noreturn",
                           "thread": None, "restrict": None, "noalias": None}
                m = re.fullmatch(r"(\w+)\s*(\(.*\))?", inner)
                if not m or m.group(1) not in spelled:
                    raise error_at(t.coord(), f"unsupported attribute __declspec({inner})")
                if spelled[m.group(1)]:  # __attribute__((aligned (64))): the name, then its arguments
                    for x in ("__attribute__", "(", "(", spelled[m.group(1)]):
                        out.put(_syn(x, t))
                    for x in toks[i + 3 : e]:
                        out.put(x)
                    out.put(_syn(")", t))
                    out.put(_syn(")", t))
                i = e + 1
                continue
            # any other GNU attribute (noinline, aligned, packed, ...) goes to gcc as it is
        if tx in ("va_arg", "__builtin_va_arg") and i + 1 < b and toks[i + 1].text == "(":
            # va_arg(ap, T) names a type where C wants an expression: (T *)0 carries it through
            # the parser, and the prelude's __cilkpp_va_arg takes it back to a type
            e = _match(toks, i + 1)
            parts = _split_top(toks, i + 2, e)
            if len(parts) == 2:
                out.put(_syn("__cilkpp_va_arg", t))
                out.put(toks[i + 1])
                _rewrite_range(toks, parts[0][0], parts[0][1], out, unit)
                for s_ in (",", "(", *[x.text for x in toks[parts[1][0]:parts[1][1]]], "*", ")", "0", ")"):
                    out.put(_syn(s_, toks[parts[1][0]]))
                i = e + 1
                continue
        if tx in _CILK_ALIASES:  # <cilk/cilk.h>'s names for the keywords
            t = Tok(_CILK_ALIASES[tx], t.kind, t.file, t.line, t.col)
            toks[i] = t
            tx = t.text
        if tx == "_Cilk_for":
            unit.cilk_for.add((t.file, t.line, t.col))
            out.put(_syn("for", t))
            i += 1
            continue
        if tx == "_Cilk_sync":
            sid = len(unit.syncs) + 1
            unit.syncs[sid] = t.coord()
            for s in ("__cilkpp_sync", "(", str(sid), ")"):
                out.put(_syn(s, t))
            i += 1
            continue
        if tx in ("_Cilk_spawn", "_Cilk_offload", "_Cilk_offload_to"):
            k = i + 1
            target = [_syn("-1", t)]
            if tx == "_Cilk_offload_to":
                if k >= b or toks[k].text != "(":
                    raise error_at(t.coord(), "_Cilk_offload_to needs a target number: _Cilk_offload_to(n) f(...)")
                e = _match(toks, k)
                target = toks[k + 1 : e]
                k = e + 1
            if tx != "_Cilk_spawn" and k < b and toks[k].text == "_Cilk_for":
                # `_Cilk_offload _Cilk_for (...)`: the loop runs on the card, as under #pragma offload
                pid = len(unit.pragmas) + 1
                unit.pragmas[pid] = PragmaInfo(t.coord(), "offload", [_syn(x, t) for x in ("target", "(", "mic", ":")]
                                               + list(target) + [_syn(")", t)])
                out.newline()
                out.put(Tok(f"#pragma cilkpp {pid}", "pragma", t.file, t.line, t.col))
                out.newline()
                i = k
                continue
            # the callee: tokens up to the '(' of the call (a spawned offload: past its keyword)
            c0 = k
            if tx == "_Cilk_spawn" and k < b and toks[k].text in ("_Cilk_offload", "_Cilk_offload_to"):
                k += 1
                if toks[k - 1].text == "_Cilk_offload_to" and k < b and toks[k].text == "(":
                    k = _match(toks, k) + 1
            elif tx == "_Cilk_spawn" and k < b and toks[k].text == "(":  # (*fp)(x): through a pointer
                k = _match(toks, k) + 1
            while k < b and toks[k].text != "(" and toks[k].text not in ";{}":
                k += 1
            if k >= b or toks[k].text != "(" or k == c0:
                raise error_at(t.coord(), f"{tx} must be followed by a function call")
            e = _match(toks, k)
            if tx == "_Cilk_spawn":
                sid = len(unit.spawns) + 1
                unit.spawns[sid] = t.coord()
                head = ["__cilkpp_spawn", "(", str(sid), ","]
            else:
                sid = len(unit.offloads) + 1
                unit.offloads[sid] = t.coord()
                head = ["__cilkpp_offload", "(", str(sid), ","]
            for s in head:
                out.put(_syn(s, t))
            if tx != "_Cilk_spawn":
                for x in target:
                    out.put(x)
                out.put(_syn(",", t))
            _rewrite_range(toks, c0, e + 1, out, unit)
            out.put(_syn(")", toks[e]))
            i = e + 1
            continue
        if tx == "[":
            e = _match(toks, i)
            # a ':' at depth 0 not taken by a '?' makes this an array section
            parts, cur, d, q = [], [], 0, 0
            for k in range(i + 1, e):
                x = toks[k].text
                if x in "([{":
                    d += 1
                elif x in ")]}":
                    d -= 1
                if d == 0 and x == "?":
                    q += 1
                if d == 0 and x == ":":
                    if q:
                        q -= 1
                    else:
                        parts.append((cur, k))
                        cur = []
                        continue
                cur.append(k)
            if parts:
                parts.append((cur, e))
                sid = len(unit.sections) + 1
                whole = len(parts) == 2 and not parts[0][0] and not parts[1][0]
                unit.sections[sid] = Section(t.coord(), whole)
                if not whole:
                    if len(parts) > 3:
                        raise error_at(t.coord(), "an array section has at most three parts: [start:length:stride]")
                    for idxs, at in parts:
                        if not idxs:
                            raise error_at(toks[at].coord(), "empty part in an array section; write "
                                           "[start:length], [start:length:stride] or [:]")
                out.put(t)
                for s in ("__cilkpp_sec", "(", str(sid), ","):
                    out.put(_syn(s, t))
                if whole:
                    for s in ("0", ",", "0", ",", "1"):
                        out.put(_syn(s, t))
                else:
                    for n, (idxs, at) in enumerate(parts):
                        if n:
                            out.put(_syn(",", toks[idxs[0]]))
                        _rewrite_range(toks, idxs[0], idxs[-1] + 1, out, unit)
                    if len(parts) == 2:
                        out.put(_syn(",", toks[e]))
                        out.put(_syn("1", toks[e]))
                out.put(_syn(")", toks[e]))
                out.put(toks[e])
                i = e + 1
                continue
        out.put(t)
        i += 1


# ---- parsing ------------------------------------------------------------------------------------


def _parse(out, unit):
    prelude = [f"typedef int {n};" for n in sorted(unit.typedefs)]
    text_lines, maps = [], []
    for line in out.lines:
        s, m = "", []
        for t in line:
            if s:
                s += " "
            m.append((len(s) + 1, t))
            s += t.text
        text_lines.append(s)
        maps.append(m)
    text = "\n".join(prelude + text_lines) + "\n"
    npre = len(prelude)

    def remap(coord):
        if coord is None or coord.line <= npre:
            return coord
        m = maps[coord.line - npre - 1] if coord.line - npre - 1 < len(maps) else []
        best = None
        for c, t in m:
            if c <= (coord.column or 1):
                best = t
        if best is None and m:
            best = m[0][1]
        if best is None:
            return Coord(unit.filename, 1, 1)
        return Coord(best.file, best.line, best.col)

    parser = GnuCParser()  # GNU C: __asm__, attributes, typeof, statement expressions
    try:
        ast = parser.parse(text, "<cilkpp>")
    except c_parser.ParseError as e:
        msg = str(e)
        m = re.match(r"[^:]*:(\d+):(\d+): (.*)", msg)
        if m:
            c = remap(Coord("<cilkpp>", int(m.group(1)), int(m.group(2))))
            detail = m.group(3)
            detail = detail.replace("__cilkpp_sec", "array section").replace("__cilkpp_pragma", "#pragma")
            raise error_at(c, f"syntax error ({detail})")
        try:  # pycparser gives no position for some errors: use the token it stopped at
            tok = parser._peek()
            c = remap(parser._tok_coord(tok))
            detail = msg.split(": ", 1)[-1] + (f" before '{tok.value}'" if tok is not None else "")
        except Exception:  # noqa: BLE001 - private API; fall back to the file alone
            raise CilkppError(unit.filename, 1, 1, "syntax error: " + msg) from None
        raise error_at(c, f"syntax error ({detail})")
    ast.ext = ast.ext[npre:]

    def walk(n):
        if getattr(n, "coord", None) is not None:
            n.coord = remap(n.coord)
        _plain_func_decls(n)
        for _, ch in n.children():
            walk(ch)

    walk(ast)
    return ast


def _plain_func_decls(n):
    """The GNU parser's FuncDeclExt children of n become FuncDecl (FuncDeclAttrs when they carry
    attributes or an asm label), so the lowering sees function types as pycparser makes them."""
    def plain(f):
        if not isinstance(f, FuncDeclExt):
            return f
        attrs = f.attributes if f.attributes is not None and f.attributes.exprs else None
        if attrs is None and f.asm is None:
            return c_ast.FuncDecl(f.args, f.type, f.coord)
        return FuncDeclAttrs(f.args, f.type, f.coord, attrs, f.asm)

    for name in set(getattr(type(n), "__slots__", ())) | set(getattr(n, "__dict__", {})):
        if name in ("coord", "__weakref__"):
            continue
        v = getattr(n, name, None)
        if isinstance(v, FuncDeclExt):
            setattr(n, name, plain(v))
        elif isinstance(v, list):
            v[:] = [plain(x) for x in v]
