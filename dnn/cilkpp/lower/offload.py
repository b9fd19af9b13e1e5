"""Offload pragmas: ``#pragma offload`` blocks outlined into kernels, ``offload_transfer`` and
``offload_wait``, and the call sites that reach the runtime through ``__cilkpp_call``.

``#pragma offload`` blocks are outlined into a function + an OFF_KERNEL wrapper; pointers named
in in/out/inout/nocopy clauses travel as pointer arguments with off_xfer entries; every other
local variable the block uses (scalars, structs, fixed-size arrays) is copied into a *frame*
struct sent as one transfer (inout, so assignments come back; in-only for asynchronous calls);
other pointers are passed as pointer arguments (the runtime checks they lie in the shared arena).
In host code, a clause naming a NULL pointer of length 0 moves nothing (an optional array).
``offload_transfer ... signal()`` goes on the card's DMA lane, so it crosses while an offload
runs (double buffering); the runtime keeps one request in flight per lane, and the generated
code finishes an older one before posting on a busy lane, so any number of signals may pend.
Limits: at most 16 pointer arguments per offload (OFF_MAX_ARGS; the frame takes one slot);
``mic:n`` always names the one card. The clauses themselves are read in clauses.py.
"""

from __future__ import annotations

import copy

from pycparser import c_ast

from .clauses import CLAUSE_NAMES
from .nodes import Env, Gen, Raw, decl_name_node, gen, type_text

MAX_ARGS = 16  # OFF_MAX_ARGS of the runtime


def kernel_text(kname, pstr, globals_, body_lines):
    """An OFF_KERNEL that binds the shared globals (when the file has any) and runs body_lines."""
    lines = [f"OFF_KERNEL({kname}, \"{pstr}\")\n{{"]
    if globals_:
        lines.append("    __cilkpp_bind_globals(args[0].v.p);")
    lines.extend(body_lines)
    lines.append("    __cilkpp_card_flush();\n    return OFF_OK;\n}")
    return "\n".join(lines) + "\n"


def _is_array(decl):
    return isinstance(decl.type, (c_ast.PtrDecl, c_ast.ArrayDecl))


class Offload:
    """Lowerer methods for the offload pragmas (state: the Lowerer's `pre`, `kernels`, and the
    `scopes` / `capture` / `capture_mode` it switches while lowering an outlined block)."""

    def offload_other(self, info):
        """offload_wait and offload_transfer (offload_attribute is read at file scope)."""
        if info.kind == "offload_attribute":
            raise self.err(info.coord, "#pragma offload_attribute goes at file scope")
        if info.kind == "offload_wait":
            res = self.read_clauses(info, {"target", "wait"})
            if not res["wait"]:
                raise self.err(info.coord, "#pragma offload_wait needs wait(tag)")
            return Raw("{\n" + "\n".join(self._waits(res, info.coord)) + "\n}", info.coord, stmt=True)
        res = self.read_clauses(info, set(CLAUSE_NAMES))
        for xx in res["xfers"]:
            if not _is_array(xx["decl"]):
                raise self.err(xx["tok"].coord(), "offload_transfer moves arrays and pointers only; "
                               f"'{xx['var']}' is a scalar")
        return self.call_text(None, res, [], self.xfer_entries(res), info.coord)

    def _waits(self, res, coord):
        where = self.where(coord)
        return [f"__cilkpp_wait((uintptr_t)({w}), \"{where}\");" for w in res["wait"]]

    def call_text(self, kernel, res, args, xfers, coord, pre=(), post=()):
        """The call site: arguments and transfers, the waits, the call, then `post`."""
        lines = list(pre)
        a = self.fresh("args")
        x = self.fresh("xf")
        lines.append(f"off_arg {a}[{max(1, len(args))}] = {{{', '.join(args) or 'OFF_ARG_NONE'}}};")
        lines.append(f"off_xfer {x}[{max(1, len(xfers))}] = {{{', '.join(xfers) or 'OFF_XFER_NONE'}}};")
        lines.extend(self._waits(res, coord))
        use = res["if"] or "1"
        sig = f"(uintptr_t)({res['signal']})" if res["signal"] else "0"
        kern = f"\"{kernel}\"" if kernel else "NULL"
        lines.append(f"__cilkpp_call((long)({res['target']}), ({use}) != 0, {int(res['mandatory'])}, {kern}, "
                     f"{a}, {len(args)}, {x}, {len(xfers)}, {sig}, NULL, NULL, \"{self.where(coord)}\");")
        lines.extend(post)
        return Raw("{\n" + "\n".join(lines) + "\n}", coord, stmt=True)

    def offload_block(self, info, body):
        """#pragma offload + its statement: outlined (into self.pre), and a call site here."""
        res = self.read_clauses(info, set(CLAUSE_NAMES))
        coord = info.coord
        is_async = res["signal"] is not None
        named = {x["var"]: x for x in res["xfers"]}
        ptr_args, frame = self._split_captures(self._captures(body), named, is_async)
        if 1 + len(ptr_args) + (1 if self.shared_globals else 0) > MAX_ARGS:
            raise self.err(coord, f"this offload block needs {len(ptr_args)} pointer arguments; the runtime "
                           "passes at most 16 (OFF_MAX_ARGS) — group the arrays or use shared memory")
        k = self.fresh("offload")
        kname = f"{self.kprefix}_{k[9:]}_l{coord.line}"[:60]
        self.kernels.append(kname)
        self._outline(k, kname, body, ptr_args, frame, coord)
        return self._call_site(k, kname, res, named, ptr_args, frame, coord, is_async)

    def _split_captures(self, used, named, is_async):
        """The variables a block uses -> (pointer arguments, frame members), [(name, decl)] each.
        Scalars named in clauses but not used still travel in the frame."""
        ptr_args, frame = [], []
        for name, decl in used:
            t = decl.type
            x = named.get(name)
            if isinstance(t, c_ast.PtrDecl) or (isinstance(t, c_ast.ArrayDecl) and x is not None
                                                and x["length"] is not None):
                ptr_args.append((name, decl))
            else:
                frame.append((name, decl))
        for name, x in named.items():
            if not _is_array(x["decl"]):
                if name not in [f for f, _ in frame]:
                    frame.append((name, x["decl"]))
                if is_async and x["dir"] in ("out", "inout"):
                    raise self.err(x["tok"].coord(), f"{x['dir']}({name}): a scalar cannot come back from an "
                                   "asynchronous offload (signal); use a pointer with out()")
        return ptr_args, frame

    def _outline(self, k, kname, body, ptr_args, frame, coord):
        """The frame struct, function k running the lowered block, and its kernel, into self.pre."""
        defs, params = [], []
        if frame:
            members = []
            for name, decl in frame:
                t = copy.deepcopy(decl.type)
                td = decl_name_node(t)
                td.quals = [q for q in td.quals if q != "const"]
                members.append(type_text(t, name) + ";")
            defs.append(f"struct {k}_frame {{ {' '.join(members)} }};")
            params.append(f"struct {k}_frame *__cilkpp_f")
        for name, decl in ptr_args:
            t = decl.type
            if isinstance(t, c_ast.ArrayDecl):
                t = c_ast.PtrDecl([], copy.deepcopy(t.type))
            params.append(type_text(t, name))
        # lower the block as the body of the outlined function: frame members are read through
        # the frame pointer, pointer arguments are its parameters, globals stay globals
        saved = (self.scopes, self.capture, self.capture_mode)
        self.scopes = [self.scopes[0], {name: decl for name, decl in ptr_args}]
        self.capture = {name: (f"(__cilkpp_f->{name})", decl) for name, decl in frame}
        self.capture_mode = True
        comp = body if isinstance(body, c_ast.Compound) else c_ast.Compound([body], body.coord)
        comp = self.block(comp)
        self.scopes, self.capture, self.capture_mode = saved
        self.pre.append(Raw("\n".join(defs) + f"\nstatic void {k}({', '.join(params) or 'void'})\n", coord))
        self.pre.append(Raw(Gen().visit(comp), None))
        gl = 1 if self.shared_globals else 0
        pstr = ",".join((["__g:p"] if gl else []) + (["__f:p"] if frame else []) + [f"{n}:p" for n, _ in ptr_args])
        args = [f"args[{i + gl}].v.p" for i in range((1 if frame else 0) + len(ptr_args))]
        self.pre.append(Raw(kernel_text(kname, pstr, gl, [f"    {k}({', '.join(args)});"]), None))

    def _call_site(self, k, kname, res, named, ptr_args, frame, coord, is_async):
        """The host side: fill the frame, call, copy back what may have changed."""
        pre, post, args, xfers = [], [], [], []
        if self.shared_globals:
            args.append("off_ptr(__cilkpp_gtab)")
        if frame:
            fv = self.fresh("frame")
            pre.append(f"{'static ' if is_async else ''}struct {k}_frame {fv};")
            for name, decl in frame:
                src = gen(self.rx(c_ast.ID(name, coord), Env()))
                x = named.get(name)
                if x is not None and x["dir"] == "out":  # out(): nothing goes in (the value may be unset)
                    pre.append(f"memset(&{fv}.{name}, 0, sizeof {fv}.{name});")
                else:
                    pre.append(f"memcpy(&{fv}.{name}, &{src}, sizeof {fv}.{name});")
                if not is_async and (x is None or x["dir"] in ("out", "inout")):
                    post.append(f"memcpy(&{src}, &{fv}.{name}, sizeof {fv}.{name});")
            args.append(f"off_ptr(&{fv})")
            fdir = "OFF_INOUT" if post else "OFF_IN"
            xfers.append(f"{{&{fv}, sizeof {fv}, {fdir} | OFF_ALLOC_IF | OFF_FREE_IF, 0, NULL}}")
        for name, decl in ptr_args:
            args.append(f"off_ptr({gen(self.rx(c_ast.ID(name, coord), Env()))})")
        xfers.extend(self.xfer_entries(res))
        return self.call_text(kname, res, args, xfers, coord, pre, post)

    def _captures(self, body):
        """[(name, decl)]: variables of the enclosing function the block uses, in order."""
        used = []
        scopes = [{}]
        seen = set()

        def inner_has(name):
            return any(name in s for s in scopes)

        def visit(n):
            if n is None:
                return
            if isinstance(n, (c_ast.Compound, c_ast.For)):
                scopes.append({})
                for _, ch in n.children():
                    visit(ch)
                scopes.pop()
                return
            if isinstance(n, c_ast.Decl):
                visit(n.type)
                visit(n.init)
                if n.name:
                    scopes[-1][n.name] = n
                return
            if isinstance(n, c_ast.StructRef):
                visit(n.name)
                return
            if isinstance(n, c_ast.NamedInitializer):
                visit(n.expr)
                return
            if isinstance(n, c_ast.ID):
                nm = n.name
                if inner_has(nm) or nm in seen:
                    return
                kind, decl = self.resolve(nm)
                if kind in ("local", "capture") and isinstance(decl, c_ast.Decl):
                    if isinstance(decl.type, c_ast.FuncDecl):
                        return
                    seen.add(nm)
                    used.append((nm, decl))
                return
            for _, ch in n.children():
                visit(ch)

        visit(body)
        return used
