"""Array Notation, in statements: section assignments, section ifs, loop fusion, overlap.

``if`` with a section condition becomes an ``if`` inside the nest; its branches may hold any
statements (declarations, loops, calls), run for each element whose condition holds, except
those that leave the nest (return, break, continue, goto, labels).
Overlap: when the right side reads the array the left side writes (same base expression) through
a different section (or as a scalar), the right side is first evaluated into a temporary and then
assigned; exact overlap (the same section text) and different arrays are done in place. Different
names that alias are not detected (the specification leaves that undefined).
Consecutive section assignments are fused into one nest only when that cannot change a result
(see ``fusible_run``): the trainer's fused loops (softmax, momentum SGD) stay fused.
"""

from __future__ import annotations

import copy

from pycparser import c_ast

from .nodes import Env, Raw, gen, is_call, walk
from .sections import REDUCERS

PURE = {"expf", "exp", "logf", "log", "sqrtf", "sqrt", "fabsf", "fabs", "tanhf", "tanh", "sinf", "sin",
        "cosf", "cos", "powf", "pow", "fmaxf", "fmax", "fminf", "fmin", "floorf", "floor", "ceilf", "ceil",
        "copysignf", "copysign", "__sec_implicit_index", "__cilkpp_sec"}




class SectionStatements:
    """Lowerer methods for statements holding sections (they plan nests with Sections)."""

    def fusible_run(self, items, i):
        """Consecutive section assignments that may share one loop nest (loop fusion).

        Fused only when it cannot change a result: same rank and the same length expressions,
        no reductions (they would be computed before the nest), no temporaries, no calls other
        than pure math functions, and every array written in the run is accessed, in every
        statement of the run, through exactly the section that writes it (element i of one
        statement then only depends on element i of the others)."""
        def ok(st):
            if not isinstance(st, c_ast.Assignment):
                return None
            r, ch = self.rank(st.lvalue, st.coord)
            if r == 0 or self.rank(st.rvalue, st.coord)[0] not in (0, r) or self.overlaps(st.lvalue, st.rvalue):
                return None
            for n in walk(st):
                if isinstance(n, c_ast.FuncCall) and not (isinstance(n.name, c_ast.ID) and n.name.name in PURE):
                    return None
                if isinstance(n, c_ast.UnaryOp) and n.op in ("++", "--", "p++", "p--"):
                    return None
                if isinstance(n, c_ast.Assignment) and n is not st:
                    return None
            lens = []
            for sid, aref, pos in ch[0]:
                sec = self.u.sections[sid]
                if sec.whole:
                    return None
                lens.append(_norm_text(self.sec_of(aref.subscript)[2]))
            return r, lens

        first = ok(items[i])
        if first is None:
            return [items[i]]
        run = [items[i]]
        for st in items[i + 1:]:
            if ok(st) != first:
                break
            cand = run + [st]
            written = {_base_text(x.lvalue): _norm_text(x.lvalue) for x in cand}
            if None in written:
                break
            clash = False
            for x in cand:
                for n in walk(x):
                    if isinstance(n, c_ast.ArrayRef) and not isinstance(getattr(n, "_parent_ref", None), int):
                        b = _base_text(n)
                        if b in written and _outer_ref(x, n) and _norm_text(n) != written[b]:
                            clash = True
            if clash:
                break
            run = cand
        return run

    def fused(self, run):
        chains = []
        for st in run:
            chains.extend(self.rank(st.lvalue, st.coord)[1] + self.rank(st.rvalue, st.coord)[1])
        r = len(chains[0])
        pre, env, idx, lens = self.nest(chains, r, run[0].coord, Env())
        body = " ".join(f"{self.elem(st.lvalue, env)} {st.op} ({self.elem(st.rvalue, env)});" for st in run)
        return Raw("{\n" + "\n".join(pre + env.hoist + [self.loops(idx, lens, "{ " + body + " }")]) + "\n}",
                   run[0].coord, stmt=True)

    def array_stmt(self, s, rank, chains):
        coord = s.coord
        if isinstance(s, c_ast.Assignment):
            lr, lch = self.rank(s.lvalue, coord)
            rr, rch = self.rank(s.rvalue, coord)
            if lr == 0:
                raise self.err(coord, f"rank mismatch: the left side is a scalar but the right side has rank {rr}")
            if rr not in (0, lr):
                raise self.err(self.u.sections[rch[0][0][0]].coord,
                               f"rank mismatch: the left side has rank {lr}, the right side rank {rr}")
            pre, env, idx, lens = self.nest(lch + rch, lr, coord, Env())
            env.once = True
            lhs = self.elem(s.lvalue, env)
            rhs = self.elem(s.rvalue, env)
            body_pre = pre + env.hoist
            if self.overlaps(s.lvalue, s.rvalue):
                tmp = self.fresh("tmp")
                flat = idx[0]
                size = lens[0]
                for i, n in zip(idx[1:], lens[1:]):
                    flat = f"({flat}) * {n} + {i}"
                    size = f"{size} * {n}"
                lines = body_pre + [
                    f"__typeof__(({rhs})) *{tmp} = malloc(sizeof(*{tmp}) * (size_t)({size}) + 1);",
                    f"if (!{tmp}) __cilkpp_fatal(\"{self.where(coord)}\", \"out of memory for a section temporary\");",
                    self.loops(idx, lens, f"{tmp}[{flat}] = ({rhs});"),
                    self.loops(idx, lens, f"{lhs} {s.op} {tmp}[{flat}];"),
                    f"free({tmp});",
                ]
            else:
                lines = body_pre + [self.loops(idx, lens, f"{lhs} {s.op} ({rhs});")]
            return Raw("{\n" + "\n".join(lines) + "\n}", coord, stmt=True)
        pre, env, idx, lens = self.nest(chains, rank, coord, Env())
        e = self.elem(s, env)
        return Raw("{\n" + "\n".join(pre + env.hoist + [self.loops(idx, lens, e + ";")]) + "\n}", coord, stmt=True)

    def overlaps(self, lhs, rhs):
        lb = _base_text(lhs)
        if lb is None:
            return False
        lt = _norm_text(lhs)
        found = []

        def visit(n):
            if isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID) and n.name.name in REDUCERS:
                return  # computed before the nest
            if isinstance(n, c_ast.ArrayRef):
                if _base_text(n) == lb and _norm_text(n) != lt:
                    found.append(n)
                x = n
                while isinstance(x, c_ast.ArrayRef):
                    visit(x.subscript)
                    x = x.name
                return
            for _, ch in n.children():
                visit(ch)

        visit(rhs)
        return bool(found)

    def array_switch(self, s):
        """`switch (a[:])`: the switch runs once per element, its cases on that element."""
        r, chains = self.rank(s.cond, s.coord)
        for n in walk(s.stmt):
            if isinstance(n, (c_ast.Return, c_ast.Goto, c_ast.Continue)):
                raise self.err(n.coord, f"{type(n).__name__.lower()} is not allowed in a switch on an array "
                               "section (the switch runs once per element)")
        body_rank, body_chains = self.rank(s.stmt, s.coord)
        if body_rank not in (0, r):
            raise self.err(s.coord, f"rank mismatch: statements of rank {body_rank} in a switch on rank {r}")
        pre, env, idx, lens = self.nest(chains + body_chains, r, s.coord, Env())
        body = gen(self.rx(copy.deepcopy(s), env))
        return Raw("{\n" + "\n".join(pre + env.hoist + [self.loops(idx, lens, body, pragma=None)]) + "\n}",
                   s.coord, stmt=True)

    def array_if(self, s):
        coord = s.coord
        r, chains = self.rank(s.cond, coord)
        stmts = []

        def collect(x):
            if isinstance(x, c_ast.Compound):
                for y in x.block_items or []:
                    collect(y)
            elif isinstance(x, c_ast.If):
                rr, ch = self.rank(x.cond, x.coord)
                if rr not in (0, r):
                    raise self.err(x.coord, f"rank mismatch: condition of rank {rr} under a condition of rank {r}")
                chains.extend(ch)
                collect(x.iftrue)
                if x.iffalse is not None:
                    collect(x.iffalse)
            elif x is None or isinstance(x, c_ast.EmptyStatement):
                pass
            elif isinstance(x, (c_ast.Return, c_ast.Goto, c_ast.Break, c_ast.Continue, c_ast.Label)):
                raise self.err(x.coord, f"{type(x).__name__.lower()} is not allowed under an array-section "
                               "condition (the statement runs once per element)")
            else:
                rr, ch = self.rank(x, x.coord)
                if rr not in (0, r):
                    raise self.err(x.coord, f"rank mismatch: statement of rank {rr} under a condition of rank {r}")
                chains.extend(ch)
                stmts.append(x)

        collect(s.iftrue)
        if s.iffalse is not None:
            collect(s.iffalse)
        pre, env, idx, lens = self.nest(chains, r, coord, Env())

        def render(x):
            if isinstance(x, c_ast.Compound):
                return "{ " + " ".join(render(y) for y in x.block_items or []) + " }"
            if isinstance(x, c_ast.If):
                t = f"if ({self.elem(x.cond, env)}) {render(x.iftrue)}"
                if x.iffalse is not None:
                    t += f" else {render(x.iffalse)}"
                return t
            if x is None or isinstance(x, c_ast.EmptyStatement):
                return ";"
            if isinstance(x, c_ast.Decl):
                d = copy.deepcopy(x)
                if d.init is not None:
                    d.init = self.rx(d.init, env)
                return gen(d) + ";"
            if isinstance(x, (c_ast.Compound, c_ast.For, c_ast.While, c_ast.DoWhile, c_ast.Switch)):
                return gen(self.rx(copy.deepcopy(x), env))
            return self.elem(x, env) + ";"

        body = render(s)
        return Raw("{\n" + "\n".join(pre + env.hoist + [self.loops(idx, lens, body)]) + "\n}", coord, stmt=True)


def _outer_ref(root, ref):
    """True if ref is the outermost ArrayRef of its chain (not the .name of another ArrayRef)."""
    for n in walk(root):
        if isinstance(n, c_ast.ArrayRef) and n.name is ref:
            return False
    return True


def _norm_text(n):
    """C text of n with section ids blanked, so equal sections compare equal."""
    n = copy.deepcopy(n)
    for x in walk(n):
        if is_call(x, "__cilkpp_sec"):
            x.args.exprs[0] = c_ast.Constant("int", "0")
    return gen(n)


def _base_text(n):
    while isinstance(n, c_ast.ArrayRef):
        n = n.name
    if isinstance(n, (c_ast.ID, c_ast.StructRef)):
        return gen(n)
    return None
