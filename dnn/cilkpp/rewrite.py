"""Token rewriting: Cilk Plus syntax into placeholders pycparser accepts (see front.py, step 4):
sections, _Cilk_spawn / _Cilk_offload / _Cilk_sync / _Cilk_for and their cilk_* names, offload
pragmas, attributes (target(mic) and vector dropped, __declspec spelled as GNU attributes),
va_arg's type argument. Each construct's source position goes into the unit's side tables."""

from __future__ import annotations

import re

from .source import PragmaInfo, Section, Tok, error_at


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


def _generic(toks, i, out, unit):
    """C11 _Generic(x, T: e, default: e), which the parser cannot read: each association becomes
    __cilkpp_assoc((T *)0, e) (the type carried as va_arg's is) or __cilkpp_default(e), and the
    prelude's macros spell it back. Returns the index after it."""
    t, e = toks[i], _match(toks, i + 1)
    parts = _split_top(toks, i + 2, e)
    if len(parts) < 2:
        raise error_at(t.coord(), "_Generic(expression, type: value, ...) expected")
    out.put(_syn("__cilkpp_generic", t))
    out.put(toks[i + 1])
    _rewrite_range(toks, parts[0][0], parts[0][1], out, unit)
    for a, z in parts[1:]:
        c = _top_colon(toks, a, z)
        if c is None or c == a:
            raise error_at(toks[a].coord() if a < z else t.coord(), "_Generic: 'type: expression' expected")
        out.put(_syn(",", toks[a]))
        if c == a + 1 and toks[a].text == "default":
            out.put(_syn("__cilkpp_default", toks[a]))
            out.put(_syn("(", toks[a]))
        else:
            for x in ("__cilkpp_assoc", "(", "("):
                out.put(_syn(x, toks[a]))
            for x in toks[a:c]:
                out.put(x)
            for x in ("*", ")", "0", ","):
                out.put(_syn(x, toks[c]))
        _rewrite_range(toks, c + 1, z, out, unit)
        out.put(_syn(")", toks[z - 1]))
    out.put(toks[e])
    return e + 1


def _top_colon(toks, a, b):
    """Index of the first ':' of toks[a:b] at bracket depth 0, or None."""
    d = 0
    for k in range(a, b):
        x = toks[k].text
        d += x in "([{"
        d -= x in ")]}"
        if d == 0 and x == ":":
            return k
    return None


def _opens_code(toks, i, a):
    """The '{' at toks[i] opens a block of statements (after ')' or 'else' or another block's
    start), not a struct, union or enum body or an initialiser."""
    prev = toks[i - 1].text if i > a else ""
    return prev in (")", "else", "do", "{", "}", ";", ":")


_TYPE_WORDS = {"int", "char", "float", "double", "long", "short", "signed", "unsigned", "_Bool", "void",
               "static", "const", "volatile", "register"}


def _declares_shared_local(toks, i, b, unit):
    """`_Cilk_shared int x ...;`, `T *_Cilk_shared p;`: the variable itself would be shared (a
    pointer to shared data, `_Cilk_shared T *p`, is fine)."""
    k = i + 1
    if i > 0 and toks[i - 1].text == "*":  # T *_Cilk_shared p: the pointer itself
        return k + 1 < b and toks[k].kind == "id" and toks[k + 1].text in ("=", ";", ",", "[")
    seen_type = False
    while k < b and (toks[k].text in _TYPE_WORDS or toks[k].text in unit.typedefs):
        seen_type = True
        k += 1
    if k < b and toks[k].text in ("struct", "union", "enum") and k + 1 < b and toks[k + 1].kind == "id":
        seen_type, k = True, k + 2
    return (seen_type and k + 1 < b and toks[k].kind == "id" and toks[k].text not in unit.typedefs
            and toks[k + 1].text in ("=", ";", ",", "["))


def _declared_names(toks, k, b):
    """The names a file-scope declaration starting at toks[k] declares (`_Cilk_shared float x[N],
    y[N];` declares both): per declarator, the first identifier followed by ( ; = [ , outside
    brackets, or the name in `(*name)` (a function pointer); a function's name ends the search
    (its parameters are not declared here)."""
    names, looking, depth, in_init = [], True, 0, False

    def after(k, n):  # the n-th token after toks[k], _Cilk_shared left out (T (*_Cilk_shared fp)(...))
        while n and k < b:
            k += 1
            n -= toks[k].text != "_Cilk_shared" if k < b else 0
        return toks[k] if k < b else None

    while k < b:
        x = toks[k].text
        if depth == 0 and (x == ";" or (x == "{" and not in_init)):  # the end, or a function's body
            break
        nxt = [after(k, n) for n in (1, 2, 3)]
        if depth == 0 and x in ",=":
            looking, in_init = x == ",", x == "="
        elif looking and depth == 0 and x == "(" and None not in nxt and nxt[0].text == "*" \
                and nxt[1].kind == "id" and nxt[2].text in (")", "["):
            names.append(nxt[1].text)  # T (*fp)(args), T (*table[n])(args): a pointer
            looking = False
        elif looking and depth == 0 and toks[k].kind == "id" and x != "_Cilk_shared" and nxt[0] is not None \
                and nxt[0].text in "(;=[," and not (nxt[0].text == "(" and nxt[1] is not None and nxt[1].text == "*"):
            names.append(x)
            looking = False
            if nxt[0].text == "(":
                break
        depth += x in "([{"
        depth -= x in ")]}"
        k += 1
    return names


def rewrite_tokens(toks, unit):
    out = _Out()
    _rewrite_range(toks, 0, len(toks), out, unit, top=True)
    return out


def _rewrite_range(toks, a, b, out, unit, top=False):
    i = a
    last_line = None
    brace = 0
    code = []  # per open brace: does it open code (a function body, a block), not a struct or an initialiser
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
            code.append(_opens_code(toks, i, a))
        elif tx == "}":
            brace -= 1
            code = code[:-1]
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
                for name in _declared_names(toks, i + 1, b):
                    unit.shared_names.setdefault(name, t.coord())
            elif code and code[-1] and _declares_shared_local(toks, i, b, unit):
                raise error_at(t.coord(), "_Cilk_shared on a variable local to a function is not allowed: "
                               "declare it at file scope, or allocate it with _Offload_shared_malloc")
            elif code and not code[-1] and toks[i - 1].text != "*" and _declares_shared_local(toks, i, b, unit):
                # a struct body: Intel refused a shared field (a pointer to shared data is fine)
                raise error_at(t.coord(), "_Cilk_shared on a field of a structure is not allowed: mark the "
                               "variable of the structure _Cilk_shared, or point at shared data "
                               "(_Cilk_shared T *p)")
            i += 1
            continue
        if tx == "_Simd":
            # Intel's SIMD loop keyword (`_Simd _Reduction(+:s) for (...)`, `_Cilk_for _Simd (...)`):
            # a hint that the iterations may run in vector lanes; the loop runs as written, which
            # the SIMD loop's semantics allow
            i += 1
            while i + 1 < b and toks[i].text in ("_Safelen", "_Reduction") and toks[i + 1].text == "(":
                i = _match(toks, i + 1) + 1
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
        if tx == "_Generic" and i + 1 < b and toks[i + 1].text == "(":
            i = _generic(toks, i, out, unit)
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
