"""Offload clauses: reading the clauses of ``#pragma offload`` / ``offload_transfer`` /
``offload_wait`` (target, in/out/inout/nocopy with length/alloc_if/free_if/into/align, signal,
wait, if, mandatory, optional, status, stream) and the off_xfer entries of the arrays they name.

Clause sections ``p[a:n]`` move elements a .. a+n-1 (the card's p points where p[a] lands);
``alloc(p[a:n])`` with in() or nocopy() allocates and moves that range (a superset of the
section named: elements outside it are undefined on the card anyway); with out() or inout() the
card holds that range and only the section named comes back (moving the whole range back would
overwrite host elements the card never wrote): two entries, the buffer and the part of it.

``into()`` keys the card buffer by the card-side variable (in(a : into(b)): b; out(b : into(c)):
b) and names the host side apart (a, c), so the block sees b as if the clause had named it.
"""

from __future__ import annotations

from pycparser import c_ast, c_parser
from pycparserext.ext_c_parser import GnuCParser

from ..source import Tok
from .nodes import Env, decl_name_node, gen

CLAUSE_NAMES = ("in", "out", "inout", "nocopy", "target", "signal", "wait", "if", "mandatory", "optional",
                "status", "stream")
_DIRECTIONS = {"in": "OFF_IN", "out": "OFF_OUT", "inout": "OFF_INOUT", "nocopy": "OFF_NOCOPY"}


class Clauses:
    """Lowerer methods that read offload clauses (expressions in them are lowered with rx)."""

    def parse_expr(self, toks, coord):
        text = " ".join(t.text for t in toks)
        if not text.strip():
            raise self.err(coord, "empty expression in a clause")
        pre = "".join(f"typedef int {n};\n" for n in sorted(set(self.u.typedefs) | set(self.typedefs)))
        try:
            ast = GnuCParser().parse(pre + f"void __cilkpp_x(void) {{ ({text}); }}\n", "<clause>")
        except c_parser.ParseError as e:
            raise self.err(toks[0].coord(), f"cannot read the expression '{text}': {e}")
        return ast.ext[-1].body.block_items[0]

    def clause_expr(self, toks, coord):
        """C text of the expression in toks, lowered like any expression of the function."""
        return gen(self.rx(self.parse_expr(toks, coord), Env()))

    def clauses(self, info):
        """[(name, Tok, inner token list or None)]"""
        toks, out, i = info.toks, [], 0
        while i < len(toks):
            t = toks[i]
            if t.text == ",":
                i += 1
                continue
            if t.kind != "id":
                raise self.err(t.coord(), f"unexpected '{t.text}' in #pragma {info.kind}")
            if i + 1 < len(toks) and toks[i + 1].text == "(":
                k = _close(toks, i + 1)
                if k >= len(toks):
                    raise self.err(toks[i + 1].coord(), "'(' is never closed")
                out.append((t.text, t, toks[i + 2 : k]))
                i = k + 1
            else:
                out.append((t.text, t, None))
                i += 1
        return out

    def split(self, toks, sep):
        parts, cur, d = [], [], 0
        for t in toks:
            if t.text in "([{":
                d += 1
            elif t.text in ")]}":
                d -= 1
            if d == 0 and t.text == sep:
                parts.append(cur)
                cur = []
            else:
                cur.append(t)
        parts.append(cur)
        return parts

    def read_clauses(self, info, allowed):
        """The clauses of an offload pragma, checked."""
        res = {"target": "-1", "xfers": [], "signal": None, "wait": [], "if": None, "mandatory": False,
               "status": None, "stream": None}
        saw_target = False
        for name, tok, inner in self.clauses(info):
            if name not in allowed:
                if name in CLAUSE_NAMES:
                    raise self.err(tok.coord(), f"clause '{name}' does not go with #pragma {info.kind}")
                raise self.err(tok.coord(), f"unsupported clause '{name}' in #pragma {info.kind}")
            if name == "target":
                saw_target = True
                if not inner or inner[0].text != "mic":
                    raise self.err(tok.coord(), "target(mic) or target(mic:n) expected")
                if len(inner) > 1:
                    if inner[1].text != ":" or len(inner) < 3:
                        raise self.err(inner[1].coord(), "target(mic:n) expected")
                    res["target"] = self.clause_expr(inner[2:], tok.coord())
            elif name == "mandatory":
                res["mandatory"] = True
            elif name == "optional":
                res["mandatory"] = False  # without a card the block runs on the host (the default here)
            elif name == "status":
                if not inner:
                    raise self.err(tok.coord(), "status(s) names an _Offload_status variable")
                res["status"] = self.clause_expr(inner, tok.coord())
            elif name in ("signal", "if", "stream"):
                if not inner:
                    raise self.err(tok.coord(), f"{name}(...) needs an expression")
                res[name] = self.clause_expr(inner, tok.coord())
            elif name == "wait":
                for p in self.split(inner or [], ","):
                    res["wait"].append(self.clause_expr(p, tok.coord()))
            else:  # in out inout nocopy
                if not inner:
                    raise self.err(tok.coord(), f"{name}(...) names the variables to transfer")
                colon = self.split(inner, ":")
                vars_part = colon[0]
                mods = {}
                mod_toks = [t for p in colon[1:] for t in p]
                if len(colon) > 2:
                    raise self.err(tok.coord(), f"{name}(vars : modifiers): one ':' expected")
                k = 0
                while k < len(mod_toks):
                    m = mod_toks[k]
                    if m.kind != "id" or k + 1 >= len(mod_toks) or mod_toks[k + 1].text != "(":
                        raise self.err(m.coord(), f"modifier expected (length, alloc_if, free_if, into, align), got '{m.text}'")
                    e = _close(mod_toks, k + 1)
                    body = mod_toks[k + 2 : e]
                    if m.text not in ("length", "alloc_if", "free_if", "into", "align", "alloc"):
                        raise self.err(m.coord(), f"unsupported modifier '{m.text}' (supported: length, alloc_if, "
                                       "free_if, into, align, alloc)")
                    if m.text == "into" and name not in ("in", "out"):
                        raise self.err(m.coord(), "into() goes with in() or out() only")
                    mods[m.text] = (m, body)
                    k = e + 1
                for item in self.split(vars_part, ","):
                    if not item:
                        raise self.err(tok.coord(), f"empty variable in {name}()")
                    # with into(), alloc() describes the card side (the into target), not this one
                    x = self._variable(name, item, {k: v for k, v in mods.items()
                                                    if k != "alloc" or "into" not in mods})
                    if "into" in mods:
                        x = self._into(name, x, mods)
                    res["xfers"].append(x)
        if res["stream"] is not None and not saw_target:  # the stream names its card
            res["target"] = f"__cilkpp_stream_device({res['stream']})"
        elif not saw_target and "target" in allowed:
            raise self.err(info.coord, f"#pragma {info.kind} needs target(mic)")
        return res

    def _variable(self, name, item, mods, into_target=False):
        """One variable of an in/out/inout/nocopy clause (p, p[a:n], s.p, q->data) with its
        modifiers: the transfer it names, before into() is applied (into_target: it is the card
        side of an into(), whose alloc() holds the section the data goes to)."""
        v = item[0]
        if v.kind != "id":
            raise self.err(v.coord(), f"a variable name expected in {name}(), got '{v.text}'")
        member = ""  # s.p, p->data: a pointer member, moved like a pointer
        k = 1
        while k + 1 < len(item) and item[k].text in (".", "->") and item[k + 1].kind == "id":
            member += item[k].text + item[k + 1].text
            k += 2
        start, length = self._section(name, v, item[k:], mods.get("length"))
        part = None
        if "alloc" in mods:  # alloc(p[a:n]): the range the card holds
            if name in ("out", "inout") or into_target:  # only the section named moves
                part = (self.clause_expr(start, v.coord()) if start else "0",
                        self.clause_expr(length[1], length[0].coord()) if length else None)
            start, length = self._section(name, v, mods["alloc"][1][1:], None)
        kind, decl = self.resolve(v.text)
        if kind is None or not isinstance(decl, c_ast.Decl):
            raise self.err(v.coord(), f"'{v.text}' in {name}() is not a variable in scope")
        # nocopy(p) without a length names the buffer an earlier offload left on the card: it is
        # used as it is, and kept (alloc_if(0) free_if(0) unless said otherwise)
        kept = "0" if name == "nocopy" and length is None and isinstance(decl.type, c_ast.PtrDecl) else "1"
        return {
            "dir": name, "var": v.text, "tok": v, "decl": decl, "kind": kind,
            "length": self.clause_expr(length[1], length[0].coord()) if length else None,
            "alloc_if": (self.clause_expr(mods["alloc_if"][1], mods["alloc_if"][0].coord())
                         if "alloc_if" in mods else kept),
            "free_if": (self.clause_expr(mods["free_if"][1], mods["free_if"][0].coord())
                        if "free_if" in mods else kept),
            "start": self.clause_expr(start, v.coord()) if start else None,
            "member": member, "part": part, "host_side": None,
        }

    def lexical_globals(self, kname, body, res, coord):
        """Intel's rule for the globals an offload block names itself with no clause: copied to the
        card's copy before the block and back after it, as inout() would (not _Cilk_shared ones,
        which are shared; not const ones, the card has them; not pointers, whose card copy may
        name a buffer kept there; not arrays of unknown size). The host and the card translation
        agree on the list, as on the block's local variables (kname: the block's kernel)."""
        named = {x["var"] for x in res["xfers"]}
        key = f"{kname} globals"
        wanted = dict(self._captures(body, kinds=("global",)))
        for name in self.captures_by_kernel.get(key, ()):
            kind, decl = self.resolve(name)
            if kind == "global" and isinstance(decl, c_ast.Decl):
                wanted.setdefault(name, decl)
        out = []
        for name, decl in sorted(wanted.items()):
            t = decl.type
            if (name in named or name in self.shared_globals or isinstance(t, (c_ast.PtrDecl, c_ast.FuncDecl))
                    or (isinstance(t, c_ast.ArrayDecl) and t.dim is None) or "const" in decl_name_node(t).quals
                    or "const" in decl.quals):
                continue
            tok = Tok(name, "id", coord.file, coord.line, coord.column)
            out.append({"dir": "inout", "var": name, "tok": tok, "decl": decl, "kind": "global",
                        "length": None, "alloc_if": "1", "free_if": "1", "start": None, "member": "",
                        "part": None, "host_side": None})
        self.captures_by_kernel[key] = sorted(set(self.captures_by_kernel.get(key, ())) | set(wanted))
        return out

    def _section(self, name, v, sec, length):
        """(start tokens or None, (tok, length tokens) or None) of p[a:n] (sec: its tokens)."""
        if not sec:
            return None, length
        if sec[0].text == "[":  # a[i:n][0:m]...: rows i .. i+n-1 move whole
            sec = sec[: _close(sec, 0, "[", "]") + 1]
        txt = [t.text for t in sec]
        parts = self.split(sec[1:-1], ":") if txt[0] == "[" and txt[-1] == "]" else None
        if not parts or len(parts) != 2 or not parts[0] or not parts[1]:
            raise self.err(sec[0].coord(), f"{name}(): a variable or p[start:length] expected")
        start = None if " ".join(t.text for t in parts[0]) == "0" else parts[0]
        return start, (sec[0], parts[1])

    def _into(self, name, x, mods):
        """in(a : into(b)) and out(b : into(c)): the transfer is described by its card side (b, the
        variable the block uses) and carries its host side (a, c) apart."""
        m, body = mods["into"]
        if not body or body[0].kind != "id":
            raise self.err(m.coord(), "into() names one variable (or its section p[a:n])")
        other = self._variable(name, body, {k: v for k, v in mods.items() if k in ("alloc_if", "free_if", "alloc")},
                               into_target=True)
        host, card = (x, other) if name == "in" else (other, x)
        card["length"] = card["length"] or host["length"]
        card["host_side"] = host
        return card

    def xfer_entries(self, res):
        """C initialisers of off_xfer entries for the pointer/array clauses."""
        out = []
        held = {x["var"] for x in res["xfers"] if x["part"]}  # card buffers alloc() makes here
        for x in res["xfers"]:
            t = x["decl"].type
            if not isinstance(t, (c_ast.PtrDecl, c_ast.ArrayDecl)) and not x["member"]:
                continue  # scalars travel in the frame
            v = gen(self.rx(c_ast.ID(x["var"], x["tok"].coord()), Env())) + x["member"]
            if x["member"] and x["length"] is None:
                raise self.err(x["tok"].coord(), f"{x['dir']}({x['var']}{x['member']}): a pointer member needs "
                               "length(n) or a section")
            if x.get("start"):
                v = f"(({v}) + ({x['start']}))"
            if x["length"] is not None:
                nbytes = f"(size_t)({x['length']}) * sizeof(*({v}))"
            elif isinstance(t, c_ast.ArrayDecl):
                nbytes = f"sizeof({v})"
            elif x["dir"] == "nocopy" and not x["member"]:
                nbytes = "0"  # the buffer kept for p, whatever its size
            elif _points_to_void(t):
                raise self.err(x["tok"].coord(), f"{x['dir']}({x['var']}): a void pointer needs length(n)")
            else:  # Intel's rule: a pointer without length() points to one element
                nbytes = f"sizeof(*({v}))"
            host, key = v, "NULL"
            h = x["host_side"]
            if h is not None and not x["part"]:  # into(): the data comes from, or lands in, another host variable
                host, key = self._address(h), v
                if x["length"] is None and isinstance(h["decl"].type, c_ast.ArrayDecl) and not h["member"]:
                    nbytes = f"sizeof({host})"  # the smaller array of the two bounds the copy
            x["nbytes"] = nbytes
            life = f"(({x['alloc_if']}) ? OFF_ALLOC_IF : 0) | (({x['free_if']}) ? OFF_FREE_IF : 0)"
            if h is not None and not x["part"] and x["var"] in held:
                life = "0"  # into() a part of the buffer another clause's alloc() makes for this call
            direction = _DIRECTIONS[x["dir"]]
            if x["part"]:  # out(p[a:n] : alloc(p[b:m])): the card holds p[b:m], p[a:n] comes back
                direction = "OFF_IN" if x["dir"] == "inout" else "OFF_NOCOPY"
                # (in(a : alloc(p[b:m]) into(p[c:k])): the card holds p[b:m], a lands in p[c:k])
            out.append(f"{{(const void *)({host}), {nbytes}, {direction} | {life}, 0, (const void *)({key})}}")
            if x["part"]:
                base = gen(self.rx(c_ast.ID(x["var"], x["tok"].coord()), Env())) + x["member"]
                at, n = x["part"]
                n = n if n is not None else "1"
                p = f"(({base}) + ({at}))"
                part_dir = "OFF_IN" if x["dir"] == "in" else "OFF_OUT"
                part_host, part_key = (self._address(h), p) if h is not None else (p, "NULL")
                out.append(f"{{(const void *){part_host}, (size_t)({n}) * sizeof(*{p}), {part_dir}, 0, "
                           f"(const void *)({part_key})}}")
        return out

    def _address(self, x):
        """C text of the first host address a transfer entry names."""
        v = gen(self.rx(c_ast.ID(x["var"], x["tok"].coord()), Env())) + x["member"]
        return f"(({v}) + ({x['start']}))" if x.get("start") else v


def _points_to_void(t):
    """t is `void *` (or `const void *`): no element size to move one of."""
    inner = t.type
    return (isinstance(t, c_ast.PtrDecl) and isinstance(inner, c_ast.TypeDecl)
            and isinstance(inner.type, c_ast.IdentifierType) and inner.type.names == ["void"])


def _close(toks, k, opening="(", closing=")"):
    """Index of the bracket closing toks[k] (len(toks) when never closed)."""
    d = 0
    while k < len(toks):
        d += toks[k].text == opening
        d -= toks[k].text == closing
        if d == 0:
            return k
        k += 1
    return k

