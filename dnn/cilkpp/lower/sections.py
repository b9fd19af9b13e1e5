"""Array Notation, in expressions: loop nests for sections, and reductions.

A statement whose expressions hold array sections becomes a loop nest, one loop per rank, the
innermost under ``#pragma omp simd``. Section starts, lengths and strides are evaluated once,
before the nest. Lengths of the same rank must agree: when both are integer constants a mismatch
is a translation error, otherwise it is checked at run time when the C is compiled with
``-DCILKPP_DEBUG``. Scalars are broadcast. Reductions become GCC statement expressions with
``omp simd reduction(...)``; inside a section statement they are computed once, before the nest.
``__sec_reduce_max_ind`` / ``_min_ind`` return the 0-based position within the section of the
extreme element, the last one where several are equal (as GCC's Cilk Plus did), -1 for an empty
section; rank 1 only. The generic ``__sec_reduce(init, a, f)`` folds ``r = f(r, a[i])`` in
element order from ``init``; ``__sec_reduce_mutating(acc, a, f)`` calls ``f(&acc, a[i])`` in
element order. ``__sec_reduce_mul`` multiplies in element order for floating-point elements
(reordering changes the rounding of a product as much as of a sum; integers, where it does not,
are vectorised). Reductions are statement expressions; in the argument of a call to an
undeclared name (a macro such as ``assert``) their directives are written ``_Pragma(...)``, so
``assert(__sec_reduce_add(x[0:n]) == 3 * n)`` compiles.
The statements that hold sections (assignments, ifs, fusion, overlap) are in section_statements.py.
"""

from __future__ import annotations

import copy

from pycparser import c_ast

from .nodes import Env, Raw, call_args, const_int, gen, is_call, no_directives

REDUCERS = {
    "__sec_reduce_add": ("0", "+", "{r} += {e};"),
    "__sec_reduce_mul": ("1", "*", "{r} *= {e};"),
    "__sec_reduce_max": ("CILKPP_LOWEST({r})", "max", "{{ __typeof__({r}) __v = {e}; {r} = __v > {r} ? __v : {r}; }}"),
    "__sec_reduce_min": ("CILKPP_HIGHEST({r})", "min", "{{ __typeof__({r}) __v = {e}; {r} = __v < {r} ? __v : {r}; }}"),
    "__sec_reduce_all_zero": ("1", "&", "{r} &= ({e}) == 0;"),
    "__sec_reduce_all_nonzero": ("1", "&", "{r} &= ({e}) != 0;"),
    "__sec_reduce_any_zero": ("0", "|", "{r} |= ({e}) == 0;"),
    "__sec_reduce_any_nonzero": ("0", "|", "{r} |= ({e}) != 0;"),
    "__sec_reduce_max_ind": None,
    "__sec_reduce_min_ind": None,
}
GENERIC_REDUCERS = {"__sec_reduce", "__sec_reduce_mutating"}
UNSUPPORTED_CALLS = {}


class Sections:
    """Lowerer methods for sections in expressions (state: the Lowerer's unit `u` and scopes)."""

    def sec_of(self, node):
        """(sid, start, length, stride) if node is a section placeholder."""
        if is_call(node, "__cilkpp_sec"):
            a = call_args(node)
            return int(a[0].value), a[1], a[2], a[3]
        return None

    def chains(self, expr):
        """Every ArrayRef chain in expr holding sections: list of lists of (sid, aref, pos)."""
        found = []

        def visit(n):
            if n is None:
                return
            if isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID):
                nm = n.name.name
                if nm in REDUCERS or nm in GENERIC_REDUCERS or nm in ("__cilkpp_offload", "__cilkpp_spawn",
                                                                      "__cilkpp_sec"):
                    return
            if isinstance(n, c_ast.UnaryOp) and n.op == "sizeof":
                return
            if isinstance(n, c_ast.ArrayRef):
                # subscripts through members too: s[0:3].v[0:4] is one chain of rank 2, the
                # leftmost section its first dimension (pos: the place in its own subscript run)
                chain = []
                x = n
                while True:
                    refs = []
                    while isinstance(x, c_ast.ArrayRef):
                        refs.append(x)
                        x = x.name
                    refs.reverse()
                    part = []
                    for pos, r in enumerate(refs):
                        s = self.sec_of(r.subscript)
                        if s:
                            part.append((s[0], r, pos))
                        else:
                            visit(r.subscript)
                    chain = part + chain
                    if not (isinstance(x, c_ast.StructRef) and isinstance(x.name, c_ast.ArrayRef)):
                        break
                    x = x.name
                if chain:
                    found.append(chain)
                visit(x)
                return
            for _, ch in n.children():
                visit(ch)

        visit(expr)
        return found

    def rank(self, expr, coord):
        ch = self.chains(expr)
        ranks = {len(c) for c in ch}
        if len(ranks) > 1:
            a, b = ch[0], next(c for c in ch if len(c) != len(ch[0]))
            raise self.err(self.u.sections[b[0][0]].coord,
                           f"rank mismatch: this section expression has rank {len(b)}, but an earlier "
                           f"one in the same statement has rank {len(a)}")
        return (ranks.pop() if ranks else 0), ch

    def whole_length(self, chain_ref, pos, sid):
        base = chain_ref
        while isinstance(base, c_ast.ArrayRef):
            base = base.name
        coord = self.u.sections[sid].coord
        if isinstance(base, c_ast.ID):
            kind, decl = self.resolve(base.name)
            t = decl.type if isinstance(decl, c_ast.Decl) else None
            for _ in range(pos):
                t = t.type if isinstance(t, c_ast.ArrayDecl) else None
            if isinstance(t, c_ast.ArrayDecl) and t.dim is not None:
                return t.dim
        elif isinstance(base, c_ast.StructRef):  # s.v[:], p->m[i][:]: the member's type knows its size
            t = self._static_type(base)
            for _ in range(pos):
                t = t.type if isinstance(t, c_ast.ArrayDecl) else None
            if isinstance(t, c_ast.ArrayDecl) and t.dim is not None:
                return t.dim
            if isinstance(t, c_ast.PtrDecl):
                raise self.err(coord, "[:] on a pointer member: its length is unknown; write [start:length]")
            whole = base  # a type this file does not define (a header's): gcc knows it
            for _ in range(pos):
                whole = c_ast.ArrayRef(whole, c_ast.Constant("int", "0"), coord)
            return c_ast.FuncCall(c_ast.ID("__cilkpp_countof", coord), c_ast.ExprList([whole], coord), coord)
        raise self.err(coord, "[:] needs an array whose size is declared here; write [start:length]")

    def _static_type(self, e):
        """The declared type of an lvalue made of names, members and subscripts (s.v, p->m[i]),
        as far as this file's declarations tell; None where they do not."""
        if isinstance(e, c_ast.ID):
            decl = self.resolve(e.name)[1]
            return decl.type if isinstance(decl, c_ast.Decl) else None
        if isinstance(e, c_ast.ArrayRef):
            t = self._static_type(e.name)
            return t.type if isinstance(t, (c_ast.ArrayDecl, c_ast.PtrDecl)) else None
        if not isinstance(e, c_ast.StructRef):
            return None
        t = self._static_type(e.name)
        if e.type == "->":
            t = t.type if isinstance(t, (c_ast.PtrDecl, c_ast.ArrayDecl)) else None
        for _ in range(8):  # through typedef names to the struct
            if isinstance(t, c_ast.TypeDecl):
                t = t.type
            if isinstance(t, c_ast.IdentifierType) and len(t.names) == 1 and t.names[0] in self.typedefs:
                t = self.typedefs[t.names[0]]
                continue
            break
        if isinstance(t, (c_ast.Struct, c_ast.Union)) and t.decls is None:
            t = self.tags.get(t.name)
        if not isinstance(t, (c_ast.Struct, c_ast.Union)):
            return None
        return next((d.type for d in t.decls or [] if d.name == e.field.name), None)

    def nest(self, chains, rank, coord, env_outer):
        """Plan a loop nest: returns (pre_lines, env, idx vars, length texts)."""
        idx = [self.fresh("i") for _ in range(rank)]
        lens = [None] * rank
        pre = [f"long {', '.join(idx)};"] if rank else []
        env = Env(idx, {}, [])
        checks = []
        for chain in chains:
            for d, (sid, aref, pos) in enumerate(chain):
                s = self.sec_of(aref.subscript)
                _, start, length, stride = s
                sec = self.u.sections[sid]
                if sec.whole:
                    length = self.whole_length(aref, pos, sid)
                start_t = self.scalar_text(start, env_outer)
                len_t = self.scalar_text(length, env_outer)
                stride_t = self.scalar_text(stride, env_outer)
                if lens[d] is None:
                    ln = self.fresh("n")
                    lens[d] = (ln, length, sid)
                    pre.append(f"const long {ln} = (long)({len_t});")
                    checks.append(f"if ({ln} < 0) __cilkpp_len_fail(\"{self.where(sec.coord)}\", {ln}, 0);")
                else:
                    ln0, len0, sid0 = lens[d]
                    a, b = const_int(len0), const_int(length)
                    if a is not None and b is not None and a != b:
                        raise self.err(sec.coord, f"length mismatch in rank {d}: this section has length {b}, "
                                       f"the section at {self.where(self.u.sections[sid0].coord)} has {a}")
                    if not (a is not None and a == b) and gen(len0) != gen(length):
                        checks.append(f"if ((long)({len_t}) != {lens[d][0]}) __cilkpp_len_fail(\""
                                      f"{self.where(sec.coord)}\", (long)({len_t}), {lens[d][0]});")
                if const_int(start) is None and not isinstance(start, c_ast.ID):
                    sv = self.fresh("s")
                    pre.append(f"const long {sv} = (long)({start_t});")
                    start_t = sv
                if const_int(stride) is None and not isinstance(stride, c_ast.ID):
                    tv = self.fresh("k")
                    pre.append(f"const long {tv} = (long)({stride_t});")
                    stride_t = tv
                i = idx[d]
                term = i if const_int(stride) == 1 else f"{i} * ({stride_t})"
                env.sec_map[sid] = term if const_int(start) == 0 else f"({start_t}) + {term}"
        if checks:  # CILKPP_CHECKS: 1 under -DCILKPP_DEBUG (prelude); no directive, so macro-safe
            pre.append("if (CILKPP_CHECKS) {")
            pre.extend(checks)
            pre.append("}")
        return pre, env, idx, [l[0] for l in lens]

    @staticmethod
    def loops(idx, lens, body, pragma="#pragma omp simd"):
        head = []
        for d, (i, n) in enumerate(zip(idx, lens)):
            if d == len(idx) - 1 and pragma:
                head.append(pragma)
            head.append(f"for ({i} = 0; {i} < {n}; {i}++)")
        return "\n".join(head + [body])

    def scalar_text(self, expr, env):
        return gen(self.rx(copy.deepcopy(expr), Env(hoist=None) if env is None else Env(hoist=env.hoist)))

    def elem(self, expr, env):
        return gen(self.rx(copy.deepcopy(expr), env))


    def reduction(self, n, env):
        nm = n.name.name
        a = call_args(n)
        if len(a) != 1:
            raise self.err(n.coord, f"{nm} takes one array section argument")
        rank, chains = self.rank(a[0], n.coord)
        if rank == 0:
            raise self.err(n.coord, f"{nm} needs an array section argument (rank >= 1)")
        pre, inner, idx, lens = self.nest(chains, rank, n.coord, env)
        inner.once = True  # a rank-0 call in the section (next()[0:n]) runs once per reduction
        e = self.elem(a[0], inner)
        r = self.fresh("r")
        lines = list(pre) + inner.hoist
        if REDUCERS[nm] is None:
            if rank != 1:
                raise self.err(n.coord, f"{nm} is supported for rank 1 sections only")
            best = self.fresh("b")
            cmp = ">=" if nm.endswith("max_ind") else "<="
            lines.append(f"long {r} = -1; __typeof__(((void)0, {e})) {best} = 0;")
            lines.append(self.loops(idx, lens, f"{{ __typeof__({best}) __v = {e}; if ({r} < 0 || __v {cmp} {best}) "
                                    f"{{ {best} = __v; {r} = {idx[0]}; }} }}", pragma=None))
        else:
            init, op, step = REDUCERS[nm]
            ty = f"__typeof__(((void)0, {e}))" if op not in "&|" else "int"  # unqualified: e may be const
            lines.append(f"{ty} {r} = {init.format(r=r)};" if "{r}" in init else f"{ty} {r} = {init};")
            simd = f"#pragma omp simd reduction({op}:{r})"
            if nm == "__sec_reduce_mul":  # vectorised only where the order cannot change the result
                lines.append(f"if (!__builtin_types_compatible_p({ty}, float) && !__builtin_types_compatible_p("
                             f"{ty}, double) && !__builtin_types_compatible_p({ty}, long double))")
                lines.append("{\n" + self.loops(idx, lens, step.format(r=r, e=e), pragma=simd) + "\n} else")
                simd = None
            lines.append(self.loops(idx, lens, step.format(r=r, e=e), pragma=simd))
        return self._reduction_value(lines, r, n.coord, env)

    def _reduction_value(self, lines, r, coord, env):
        """A reduction's statement expression, or (inside a section statement) a temporary computed
        once before the nest."""
        text = "({\n" + "\n".join(lines) + f"\n{r};\n}})"
        if self.macro_args:
            text = no_directives(text)
        if env is not None and env.hoist is not None and env.idx:
            t = self.fresh("t")
            env.hoist.append(f"__auto_type {t} = {text};")
            return Raw(t, coord)
        return Raw(text, coord)

    def generic_reduction(self, n, env):
        """__sec_reduce(init, a, f): r = f(r, a[i]) from r = init, in element order.
        __sec_reduce_mutating(acc, a, f): f(&acc, a[i]) in element order (a void expression); the
        accumulator may be given by its address too, as GCC's form has it (`&acc`)."""
        nm = n.name.name
        a = call_args(n)
        if len(a) != 3:
            raise self.err(n.coord, f"{nm} takes three arguments: ({'init' if nm == '__sec_reduce' else 'accumulator'}, "
                           "section, function)")
        rank, chains = self.rank(a[1], n.coord)
        if rank == 0:
            raise self.err(n.coord, f"{nm} needs an array section as its second argument")
        for x in (a[0], a[2]):
            self.no_sections(x, f"the first or last argument of {nm}")
        pre, inner, idx, lens = self.nest(chains, rank, n.coord, env)
        inner.once = True
        e = self.elem(a[1], inner)
        fn = self.scalar_text(a[2], env)
        first = self.scalar_text(a[0], env)
        r = self.fresh("r")
        lines = list(pre) + inner.hoist
        if nm == "__sec_reduce":
            lines.append(f"__typeof__({fn}({first}, {e})) {r} = ({first});")
            lines.append(self.loops(idx, lens, f"{r} = {fn}({r}, {e});", pragma=None))
        else:
            given = first if isinstance(a[0], c_ast.UnaryOp) and a[0].op == "&" else f"&({first})"
            lines.append(f"__typeof__({given}) {r} = {given};")
            lines.append(self.loops(idx, lens, f"{fn}({r}, {e});", pragma=None))
            lines.append(f"(void){r};")
            text = "({\n" + "\n".join(lines) + "\n})"
            return Raw(no_directives(text) if self.macro_args else text, n.coord)
        return self._reduction_value(lines, r, n.coord, env)


    def dims(self, t):
        while isinstance(t, (c_ast.ArrayDecl, c_ast.PtrDecl)):
            if isinstance(t, c_ast.ArrayDecl) and t.dim is not None:
                self.no_sections(t.dim, "an array size")
            t = t.type

    def no_sections(self, expr, what):
        for ch in self.chains(expr):
            raise self.err(self.u.sections[ch[0][0]].coord,
                           f"array section in {what}: only expression statements, if conditions and "
                           "reduction arguments take sections")
