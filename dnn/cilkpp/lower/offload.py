"""Offload pragmas: ``#pragma offload`` blocks outlined into kernels, ``offload_transfer`` and
``offload_wait``, and the call sites that reach the runtime through ``__cilkpp_call``.

``#pragma offload`` blocks are outlined into a function + an OFF_KERNEL wrapper; pointers named
in in/out/inout/nocopy clauses travel as pointer arguments with off_xfer entries; every other
local variable the block uses (scalars, structs, fixed-size arrays) is copied into a *frame*
struct sent as one transfer (inout, so assignments come back; with signal() the scalars named in
out()/inout() reach their variables at wait(tag), the others stay as they were);
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
import re

from pycparser import c_ast

from .clauses import CLAUSE_NAMES
from .nodes import Env, Gen, Raw, decl_name_node, gen, type_text, walk, without_attributes

MAX_ARGS = 16  # OFF_MAX_ARGS of the runtime


def kernel_text(kname, pstr, body_lines):
    """An OFF_KERNEL that runs body_lines (the card learnt where the _Cilk_shared globals are at
    start-up: emit.py's bind kernel)."""
    lines = [f"OFF_KERNEL({kname}, \"{pstr}\")\n{{"]
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
            res = self.read_clauses(info, {"target", "wait", "stream", "if", "mandatory", "optional", "status"})
            if not res["wait"] and res["stream"] is None:
                raise self.err(info.coord, "#pragma offload_wait needs wait(tag) or stream(s)")
            waits = self._waits(res, info.coord)
            if res["stream"] is not None and not res["wait"]:  # every offload of the stream
                waits.append(f"__cilkpp_wait_stream({res['stream']}, \"{self.where(info.coord)}\");")
            if res["if"]:
                waits = [f"if ({res['if']}) {{"] + waits + ["}"]
            if res["status"]:  # a failed offload ended the program or was reported when it was made
                waits.append(f"((__cilkpp_status_t *)&({res['status']}))->result = __CILKPP_OFFLOAD_SUCCESS;")
            return Raw("{\n" + "\n".join(waits) + "\n}", info.coord, stmt=True)
        res = self.read_clauses(info, set(CLAUSE_NAMES))
        # a scalar of the function has nothing on the card to go to (Intel took it all the same)
        res["xfers"] = [x for x in res["xfers"] if _is_array(x["decl"]) or x["kind"] == "global"]
        if self._card_globals(res):  # the card's copy of a global is written by code on the card
            return self.offload_block(info, c_ast.Compound([], info.coord))
        return self.call_text(None, res, [], self.xfer_entries(res), info.coord)

    def _card_globals(self, res):
        """Clauses naming a global that has a card copy (not _Cilk_shared): their data moves into and
        out of that copy, not a buffer of its own."""
        return [x for x in res["xfers"] if x["kind"] == "global" and x["var"] not in self.shared_globals]

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
        status = f"(void *)&({res['status']})" if res["status"] else "NULL"
        lines.append(f"__cilkpp_call((long)({res['target']}), ({use}) != 0, {int(res['mandatory'])}, {kern}, "
                     f"{a}, {len(args)}, {x}, {len(xfers)}, {sig}, NULL, NULL, {status}, NULL, \"{self.where(coord)}\");")
        lines.extend(post)
        return Raw("{\n" + "\n".join(lines) + "\n}", coord, stmt=True)

    def offload_block(self, info, body):
        """#pragma offload + its statement: outlined (into self.pre), and a call site here."""
        res = self.read_clauses(info, set(CLAUSE_NAMES))
        coord = info.coord
        is_async = res["signal"] is not None
        kname = f"{self.kprefix}_l{coord.line}c{coord.column}"[:60]
        res["xfers"] += self.lexical_globals(kname, body, res, coord)
        named = {x["var"]: x for x in res["xfers"] if not x["member"]}
        members = [x for x in res["xfers"] if x["member"]]
        k = self.fresh("offload")
        # named by its place in the source, not by a counter: the host and the card translation
        # (which differ where the code tests __MIC__) must agree on every kernel's name
        while kname in self.kernels:
            kname += "x"
        self.kernels.append(kname)
        ptr_args, frame = self._split_captures(self._agreed_captures(kname, body), named)
        globs = self._card_globals(res)
        nargs = 2 + len(ptr_args) + 3 * len([x for x in globs if _is_array(x["decl"])]) + 2 * len(members)
        if nargs > MAX_ARGS:
            raise self.err(coord, f"this offload block needs {nargs} arguments (its pointers, the arrays it "
                           "moves into globals, pointer members); the runtime "
                           "passes at most 16 (OFF_MAX_ARGS) — group the arrays or use shared memory")
        offs = [(n, named[n]["start"]) for n, _ in ptr_args if n in named and named[n].get("start")]
        self._outline(k, kname, body, ptr_args, frame, globs, coord, offs, members)
        return self._call_site(k, kname, res, named, ptr_args, frame, globs, coord, is_async, members)

    def _agreed_captures(self, kname, body):
        """The variables the block uses, with those the other side's translation found (in scope
        here), in name order: both sides then lay the frame and the arguments out alike."""
        used = dict(self._captures(body))
        wanted = list(self.captures_by_kernel.get(kname, ()))
        for decl in list(used.values()):  # the sizes of variable-length array types travel too
            wanted += [n.name for d in _dims(decl.type) for n in walk(d) if isinstance(n, c_ast.ID)]
        for name in wanted:
            kind, decl = self.resolve(name)
            if name not in used and kind in ("local", "capture") and isinstance(decl, c_ast.Decl) \
                    and not isinstance(decl.type, c_ast.FuncDecl):
                used[name] = decl
        self.captures_by_kernel[kname] = sorted(set(self.captures_by_kernel.get(kname, ())) | set(used))
        return sorted(used.items())

    def _split_captures(self, used, named):
        """The variables a block uses -> (pointer arguments, frame members), [(name, decl)] each.
        Scalars named in clauses but not used still travel in the frame."""
        ptr_args, frame = [], []
        for name, decl in used:
            t = decl.type
            x = named.get(name)
            if isinstance(t, c_ast.PtrDecl) or (isinstance(t, c_ast.ArrayDecl) and x is not None):
                ptr_args.append((name, decl))
            else:
                frame.append((name, decl))
        for name, x in named.items():
            if not _is_array(x["decl"]):
                if name not in [f for f, _ in frame]:
                    frame.append((name, x["decl"]))
        return ptr_args, frame

    def _global_copies(self, globs):
        """(parameters, lines before the block, lines after it) that move the data of clauses naming
        card globals between the transfer buffers and the card's copies (a no-op in host mode,
        where buffer and global are one)."""
        params, before, after = [], [], []
        for x in globs:
            g, d = x["var"], x["dir"]
            if _is_array(x["decl"]):
                b, n, o = f"__cilkpp_gb_{g}", f"__cilkpp_gn_{g}", f"__cilkpp_go_{g}"
                params += [f"void *{b}", f"long {n}", f"long {o}"]  # o: where g[a:n] starts, in bytes
                at = f"((char *){g} + {o})"
                if isinstance(x["decl"].type, c_ast.PtrDecl):
                    before.append(f"    {g} = {b};")  # the card's pointer now names the card's data
                else:
                    if d in ("in", "inout"):
                        before.append(f"    if ({b} != (void *){at}) memcpy({at}, {b}, (size_t){n});")
                    if d in ("out", "inout"):
                        after.append(f"    if ({b} != (void *){at}) memcpy({b}, {at}, (size_t){n});")
            else:
                if d in ("in", "inout"):
                    before.append(f"    {g} = __cilkpp_f->{g};")
                if d in ("out", "inout"):
                    after.append(f"    __cilkpp_f->{g} = {g};")
        return params, before, after

    def _outline(self, k, kname, body, ptr_args, frame, globs, coord, offs=(), mptrs=()):
        """The frame struct, function k running the lowered block, and its kernel, into self.pre."""
        defs, params = self._local_types(), []
        if frame:
            members = []
            for name, decl in frame:
                t = copy.deepcopy(decl.type)
                td = decl_name_node(t)
                td.quals = [q for q in td.quals if q != "const"]
                members.append(type_text(t, name) + ";")
            defs.append(f"struct {k}_frame {{ {' '.join(members)} }};")
            params.append(f"struct {k}_frame *__cilkpp_f")
        # lower the block as the body of the outlined function: frame members are read through
        # the frame pointer, pointer arguments are its parameters, globals stay globals
        saved = (self.scopes, self.capture, self.capture_mode)
        self.scopes = [self.scopes[0], {name: decl for name, decl in ptr_args if not _whole_array(decl)}]
        gnames = {x["var"] for x in globs}
        self.capture = {name: (f"(__cilkpp_f->{name})", decl) for name, decl in frame if name not in gnames}
        self.capture_mode = True
        whole = {}  # array name -> the parameter pointing at the whole array
        for name, decl in ptr_args:
            t = copy.deepcopy(decl.type)
            pname = name
            if _whole_array(decl):
                # char msg[64] arrives as char (*)[64], used as (*p): sizeof msg stays 64
                t = c_ast.PtrDecl([], without_attributes(t))
                pname = whole[name] = f"__cilkpp_a_{name}"
                self.capture[name] = (f"(*{pname})", decl)
            elif isinstance(t, c_ast.ArrayDecl):
                t = c_ast.PtrDecl([], without_attributes(t.type))
            for a in _arrays(t):  # double (*a)[n]: n read through the frame, declared before
                if a.dim is not None:
                    a.dim = self.rx(a.dim, Env())
            params.append(type_text(t, pname))
        comp = body if isinstance(body, c_ast.Compound) else c_ast.Compound([body], body.coord)
        comp = self.block(comp)
        # a pointer member named in a clause (s.p, q->data) points at its card buffer while the
        # block runs, and at the host's data again after it (the frame goes back to the host)
        mlvals = [gen(self.rx(self._member_expr(x, coord), Env())) for x in mptrs]
        self.scopes, self.capture, self.capture_mode = saved
        gparams, before, after = self._global_copies(globs)
        params += gparams + [f"long __cilkpp_so_{n}" for n, _ in offs] + [f"void *__cilkpp_m{i}, long __cilkpp_mo{i}" for i in range(len(mptrs))]
        # p[a:n] in a clause: p arrived pointing at the card's p[a]
        before += [f"    {n} -= __cilkpp_so_{n};" if n not in whole else
                   f"    {whole[n]} = (__typeof__({whole[n]}))((char *){whole[n]} - __cilkpp_so_{n} * sizeof((*{whole[n]})[0]));"
                   for n, _ in offs]
        for i, lv in enumerate(mlvals):
            # s.p[a:n] in a clause: the card buffer holds s.p[a] onwards
            before.append(f"    __typeof__({lv}) __cilkpp_h{i} = {lv}; {lv} = (__typeof__({lv}))__cilkpp_m{i} - __cilkpp_mo{i};")
            after.insert(0, f"    {lv} = __cilkpp_h{i};")
        if before or after:
            comp = c_ast.Compound([Raw("\n".join(before), None, stmt=True), comp, Raw("\n".join(after), None, stmt=True)],
                                  comp.coord)
        self.pre.append(Raw("\n".join(defs) + f"\nstatic void {k}({', '.join(params) or 'void'})\n", coord))
        self.pre.append(Raw(Gen().visit(comp), None))
        pstr = ",".join((["__f:p"] if frame else []) + [f"{n}:p" for n, _ in ptr_args]
                        + [f"__gb_{x['var']}:p,__gn_{x['var']}:i,__go_{x['var']}:i" for x in globs if _is_array(x["decl"])]
                        + [f"__so_{n}:i" for n, _ in offs] + [f"__m{i}:p,__mo{i}:i" for i in range(len(mptrs))] + ["__dev:i"])
        npos = (1 if frame else 0) + len(ptr_args)
        args = [f"args[{i}].v.p" for i in range(npos)]
        nglob = len([x for x in globs if _is_array(x["decl"])])
        for i in range(nglob):
            args += [f"args[{npos + 3 * i}].v.p", f"(long)args[{npos + 3 * i + 1}].v.i", f"(long)args[{npos + 3 * i + 2}].v.i"]
        args += [f"(long)args[{npos + 3 * nglob + i}].v.i" for i in range(len(offs))]
        for i in range(len(mptrs)):
            at = npos + 3 * nglob + len(offs) + 2 * i
            args += [f"args[{at}].v.p", f"(long)args[{at + 1}].v.i"]
        # the last argument: the device number the offload named (_Offload_get_device_number),
        # and the card's thread count when omp_set_num_threads_target set one
        self.pre.append(Raw(kernel_text(kname, pstr, ["    __cilkpp_on_device(args[nargs - 1].v.i);",
                                                          f"    {k}({', '.join(args)});"]), None))

    def _local_types(self):
        """The types the enclosing function declares (typedefs, enums, structs) that the
        outlined block and its frame may name, repeated at file scope once each: the block
        leaves the function. A typedef whose size depends on a local variable stays behind."""
        out = []
        for scope in self.scopes[1:]:
            for decl in scope.values():
                if id(decl) in self.local_types_out:
                    continue
                if isinstance(decl, c_ast.Typedef):
                    if any(isinstance(n, c_ast.ID) and self.resolve(n.name)[0] in ("local", "capture")
                           and isinstance(self.resolve(n.name)[1], c_ast.Decl) for n in walk(decl.type)):
                        continue
                elif not (isinstance(decl, c_ast.Decl) and decl.name is None):
                    continue
                self.local_types_out.add(id(decl))
                out.append(Gen(lines=False).visit(decl) + ";")
        return out

    def _member_expr(self, x, coord):
        """The AST of a clause's pointer member (s.p, q->data), to lower where it is used."""
        return self.parse_expr([x["tok"]] + [_tok_like(x["tok"], t) for t in re.findall(r"->|\.|\w+", x["member"])],
                               coord)

    def _call_site(self, k, kname, res, named, ptr_args, frame, globs, coord, is_async, members=()):
        """The host side: fill the frame, call, copy back what may have changed."""
        pre, post, args, xfers = [], [], [], []
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
                elif is_async and x is not None and x["dir"] in ("out", "inout"):  # at wait(tag)
                    post.append(f"__cilkpp_copy_back((uintptr_t)({res['signal']}), "
                                f"__cilkpp_devnum((long)({res['target']})), &{src}, &{fv}.{name}, "
                                f"sizeof {fv}.{name}, \"{self.where(coord)}\");")
            args.append(f"off_ptr(&{fv})")
            fdir = "OFF_INOUT" if post else "OFF_IN"
            xfers.append(f"{{&{fv}, sizeof {fv}, {fdir} | OFF_ALLOC_IF | OFF_FREE_IF, 0, NULL}}")
        for name, decl in ptr_args:
            p = gen(self.rx(c_ast.ID(name, coord), Env()))
            start = named[name].get("start") if name in named else None
            args.append(f"off_ptr(({p}) + ({start}))" if start else f"off_ptr({p})")
        entries = self.xfer_entries(res)
        for x in globs:
            if _is_array(x["decl"]):  # scalars travel in the frame
                at = f"(({x['var']}) + ({x['start']}))" if x.get("start") else x["var"]
                args += [f"off_ptr({at})", f"off_i64((long)({x['nbytes']}))",
                         f"off_i64((long)((char *){at} - (char *){x['var']}))"]
        args += [f"off_i64((long)({named[n]['start']}))" for n, _ in ptr_args if n in named and named[n].get("start")]
        for x in members:
            at = x.get("start") or "0"
            args += [f"off_ptr({gen(self.rx(self._member_expr(x, coord), Env()))} + ({at}))", f"off_i64((long)({at}))"]
        args.append(f"off_i64(__cilkpp_device_arg((long)({res['target']})))")
        xfers.extend(entries)
        return self.call_text(kname, res, args, xfers, coord, pre, post)

    def _captures(self, body, kinds=("local", "capture")):
        """[(name, decl)]: variables of the enclosing function the block uses, in order (kinds:
        ("global",) for the file's globals it names)."""
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
                if kind in kinds and isinstance(decl, c_ast.Decl):
                    if isinstance(decl.type, c_ast.FuncDecl):
                        return
                    seen.add(nm)
                    used.append((nm, decl))
                return
            for _, ch in n.children():
                visit(ch)

        visit(body)
        return used


def _tok_like(tok, text):
    """A token of generated text placed at tok's position."""
    return type(tok)(text, "id" if re.match(r"\w", text) else "punct", tok.file, tok.line, tok.col)


def _whole_array(decl):
    """An array of known size (not a parameter's `float a[]`): the outlined block gets a pointer
    to all of it."""
    return isinstance(decl.type, c_ast.ArrayDecl) and decl.type.dim is not None


def _arrays(t):
    """The array declarators in type t, outermost first."""
    out = []
    while isinstance(t, (c_ast.ArrayDecl, c_ast.PtrDecl)):
        if isinstance(t, c_ast.ArrayDecl):
            out.append(t)
        t = t.type
    return out


def _dims(t):
    """The size expressions of the array declarators in type t."""
    return [a.dim for a in _arrays(t) if a.dim is not None]
