"""Front end of the Cilk Plus translator: from .cilk text to a pycparser AST.

How the text reaches a C99 parser (pycparser), step by step:

The steps live in source.py (tokens, errors, the unit's records), headers.py (step 1, and the
user's own ``#include "file"``, spliced into the source first so the Cilk Plus in headers and
included .c files is translated, errors naming their lines) and rewrite.py (step 4); this file
runs them (read_unit) and parses (step 5) with pycparserext's GNU C parser.

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

from pycparser import c_ast, c_parser
from pycparser.c_parser import Coord
from pycparserext.ext_c_parser import FuncDeclExt, GnuCParser

from .gnu import FuncDeclAttrs
from .headers import ARITH_TYPEDEFS, FLOAT_TYPEDEFS  # noqa: F401  (the lowering reads them from here)
from .headers import header_typedefs, splice_quoted_includes, type_macros
from .rewrite import rewrite_tokens
from .source import CilkppError, PragmaInfo, Tok, Unit, cpp_flag, error_at, tokenize_line  # noqa: F401

_GNU_DEFINES = ["-Dbool=_Bool", "-D__inline=inline", "-D__inline__=inline", "-D__restrict=restrict",
                "-D__restrict__=restrict", "-D__const=const", "-D__thread=_Thread_local", "-D__INTEL_OFFLOAD=1", "-D__cilk=200",
                "-D__CILKPP__=1", "-DTARGET_ATTRIBUTE=__attribute__((target(mic)))",  # <offload.h>'s
                # Intel's sized integer types, which its compiler took on Linux too
                "-D__int64=long long", "-D__int32=int", "-D__int16=short", "-D__int8=char"]


# <cilk/cilk_stub.h> makes the program serial C; its macros are the header's, applied here since
# the translator reads the keywords before any header's macros expand
_STUB_DEFINES = ["-D_Cilk_spawn=", "-D_Cilk_sync=", "-D_Cilk_for=for",
                 "-Dcilk_spawn=", "-Dcilk_sync=", "-Dcilk_for=for"]


def _stub_defines(includes):
    return _STUB_DEFINES if any(re.search(r"[<\"/]cilk_stub\.h[>\"]", text) for _, text in includes) else []


def _directive(line):
    m = re.match(r"\s*#\s*(\w+)", line)
    return m.group(1) if m else None


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

    # a line marker first: __FILE__ in the user's code names the file, not the preprocessor's stdin
    main_name = filename or "<stdin>"
    text = f'# 1 "{_c_string(main_name)}"\n' + "\n".join(out_lines) + "\n"
    cpp = ["gcc", "-E", "-std=gnu11", "-x", "c"] + _GNU_DEFINES + type_macros(includes) + _stub_defines(includes)
    r = subprocess.run(cpp + [cpp_flag(d) for d in defines] + ["-"],
                       input=text,
                       capture_output=True, text=True)
    if r.returncode != 0:
        m = re.search(re.escape(main_name) + r":(\d+):(\d+): (?:fatal )?error: (.*)", r.stderr)
        if m:
            raise CilkppError(*origin[min(int(m.group(1)), len(origin)) - 1], int(m.group(2)), m.group(3))
        raise CilkppError(filename, 1, 1, "preprocessor: " + r.stderr.strip())

    # tokens with positions
    toks = []
    cur_line, cur_file = 1, main_name
    for oline in r.stdout.split("\n"):
        m = re.match(r'#\s*(\d+)\s+"([^"]*)"', oline)
        if m:
            cur_line, cur_file = int(m.group(1)), m.group(2)
            continue
        if oline.startswith("#"):  # a #pragma the preprocessor passed through
            if cur_file == main_name:
                st = src_toks.get(cur_line, [])
                toks.append(Tok(oline.strip(), "pragma", *_at(origin, cur_line), st[0][2] if st else 1))
            cur_line += 1
            continue
        if cur_file != main_name:
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
    rewritten = rewrite_tokens(toks, unit)
    unit.ast = _parse(rewritten, unit)
    return unit


def _c_string(text):
    """text inside a C string literal (a line marker's file name)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _at(origin, line):
    """(file, line) of a line of the spliced text."""
    return origin[min(max(line, 1), len(origin)) - 1]


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
