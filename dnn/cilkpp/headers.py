"""The headers a source includes: the typedef names of system headers (the parser must know
which identifiers are types), the macros that name type keywords, and the user's own headers
and included .c files, spliced into the source so the Cilk Plus in them is translated."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

from .source import blank_comments, cpp_flag, error_at, tokenize_line


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
        cmd = (["gcc", "-E", "-P", "-std=gnu11", "-fopenmp"] + [cpp_flag(d) for d in defines]
               + [f"-I{d}" for d in list(include_dirs) + [os.path.join(PROJECT_NATIVE, "include")]] + [tmp])
        r = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.unlink(tmp)
    if r.returncode != 0:
        m = re.search(r":(\d+):\d+: (?:fatal )?error: (.*)", r.stderr)
        line = int(m.group(1)) if m else 1
        where = coord_of(includes[min(line, len(includes)) - 1][0])
        raise error_at(where, "cannot read the included header: " + (m.group(2) if m else r.stderr.strip()))
    return scan_typedef_names(r.stdout)


def type_macros(includes):
    """Macros of included headers that name a type keyword (the parser must see the keyword)."""
    if any(re.search(r"[<\"]complex\.h[>\"]", text) for _, text in includes):
        return ["-Dcomplex=_Complex"]
    return []


_QUOTED = re.compile(r'\s*#\s*include\s*"([^"]+)"')
# <cilk/reducer*.h>: macros that declare reducers in the program's text, so they are read with it
_CILK_REDUCERS = re.compile(r'\s*#\s*include\s*<(cilk/reducer\w*\.h)>')
PROJECT_NATIVE = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "native"))


def splice_quoted_includes(src, filename, include_dirs, depth=0):
    """The source's lines with each ``#include "x"`` of a user file (found beside the including
    file or in include_dirs, and not one of dnn's own headers) replaced by x's lines, so the
    translator sees the Cilk Plus in headers and included .c files; and, per line, the (file,
    line) it came from. Include guards still work: gcc -E reads the spliced text."""
    lines = blank_comments(src.replace("\r\n", "\n")).split("\n")
    out, origin = [], []
    here = os.path.dirname(os.path.abspath(filename)) if filename else os.getcwd()
    for n, ln in enumerate(lines):
        m = _QUOTED.match(ln) or _CILK_REDUCERS.match(ln)
        path = None
        if m and depth < 16:
            for d in [here] + list(include_dirs) + [os.path.join(PROJECT_NATIVE, "include")]:
                p = os.path.join(d, m.group(1))
                if os.path.isfile(p):
                    path = p
                    break
        if path and (not os.path.realpath(path).startswith(PROJECT_NATIVE + os.sep) or _CILK_REDUCERS.match(ln)):
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
