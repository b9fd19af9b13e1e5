"""The walk over a function's statements and expressions, which hands each Cilk Plus construct
to the part that lowers it: sections (sections.py, section_statements.py), Cilk keywords
(keywords.py), offload (offload.py, shared.py). Everything else is kept as it is, with names
resolved through the scopes (a captured variable or a _Cilk_shared global is renamed)."""

from __future__ import annotations

import os
import re

from pycparser import c_ast

from ..front import error_at
from .nodes import Env, Raw, call_args, const_int, gen, is_call, rebuild, walk
from .section_statements import PURE
from .sections import GENERIC_REDUCERS, REDUCERS, UNSUPPORTED_CALLS


class Walk:
    """Lowerer methods that walk statements and expressions (state: the Lowerer's scopes)."""

    def fresh(self, what):
        self.n += 1
        return f"__cilkpp_{what}{self.n}"

    def where(self, coord):
        return f"{os.path.basename(coord.file)}:{coord.line}:{coord.column or 1}"

    def err(self, coord, msg):
        return error_at(coord, msg)

    def declare(self, decl):
        if isinstance(decl, c_ast.Decl) and decl.name is None and _defines_tag(decl.type):
            # `enum { A, B };` / `struct s {...};` in a function: kept (under a key no name can
            # be) for an offload block outlined from it, whose frame may need the type
            self.scopes[-1][f"<type {id(decl)}>"] = decl
        if isinstance(decl, c_ast.Decl) and decl.name:
            self.scopes[-1][decl.name] = decl
        elif isinstance(decl, c_ast.Typedef):
            self.typedefs[decl.name] = decl.type
            self.scopes[-1][decl.name] = decl

    def resolve(self, name):
        """(kind, decl): kind is 'local', 'capture', 'global' or None."""
        for lvl in range(len(self.scopes) - 1, 0, -1):
            if name in self.scopes[lvl]:
                return "local", self.scopes[lvl][name]
        if name in self.capture:
            return "capture", self.capture[name][1]
        if name in self.scopes[0]:
            return "global", self.scopes[0][name]
        return None, None

    def rx(self, n, env):
        """Rewrite an expression: sections by env (an Env of the current nest), reductions,
        offload calls, renamed variables."""
        if n is None:
            return None
        if isinstance(n, c_ast.ID):
            kind, decl = self.resolve(n.name)
            if kind == "capture":
                return Raw(self.capture[n.name][0], n.coord)
            if kind == "global" and n.name in self.shared_globals:
                return Raw(f"(*__cilkpp_g_{n.name})", n.coord)
            return n
        if isinstance(n, c_ast.StructRef):
            n.name = self.rx(n.name, env)
            return n
        if isinstance(n, c_ast.NamedInitializer):
            n.expr = self.rx(n.expr, env)
            return n
        if isinstance(n, (c_ast.Typename, c_ast.Decl)):
            return n
        if isinstance(n, c_ast.ArrayRef):
            s = self.sec_of(n.subscript)
            if s:
                if s[0] not in env.sec_map:
                    raise self.err(self.u.sections[s[0]].coord,
                                   "array section where a scalar is required (only statements, "
                                   "section conditions and reductions take sections)")
                n.name = self.rx(n.name, env)
                n.subscript = Raw(env.sec_map[s[0]])
                return n
        if isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID):
            nm = n.name.name
            if env.once and env.idx and env.hoist is not None and self._scalar_call(n):
                # a rank-0 call in a section statement runs once per statement, not per element
                t = self.fresh("c")
                env.hoist.append(f"__auto_type {t} = ({gen(self.rx(n, Env(hoist=env.hoist)))});")
                return Raw(t, n.coord)
            if nm in REDUCERS:
                return self.reduction(n, env)
            if nm in GENERIC_REDUCERS:
                return self.generic_reduction(n, env)
            if nm in UNSUPPORTED_CALLS:
                raise self.err(n.coord, f"{UNSUPPORTED_CALLS[nm]} is not supported; use the named reductions")
            if nm == "__sec_implicit_index":
                a = call_args(n)
                k = const_int(a[0]) if len(a) == 1 else None
                if k is None:
                    raise self.err(n.coord, "__sec_implicit_index takes one integer constant (the rank)")
                if k < 0 or k >= len(env.idx):
                    raise self.err(n.coord, f"__sec_implicit_index({k}) outside a section expression of "
                                   f"rank > {k}")
                return Raw(f"({env.idx[k]})", n.coord)
            if nm == "__cilkpp_offload":
                return self.offload_call(n, env)
            if self.resolve(nm)[0] is None and not nm.startswith("__"):
                # perhaps a macro (assert): what its arguments become must do without directives
                self.macro_args += 1
                try:
                    return rebuild(n, lambda c: self.rx(c, env))
                finally:
                    self.macro_args -= 1
            if nm == "__cilkpp_spawn":
                raise self.err(self.u.spawns[int(call_args(n)[0].value)],
                               "_Cilk_spawn must start a statement: `f(x);` or `v = _Cilk_spawn f(x);`")
            if nm == "__cilkpp_sync":
                raise self.err(self.u.syncs[int(call_args(n)[0].value)], "_Cilk_sync is a statement")
        if isinstance(n, c_ast.FuncCall) and self._through_pointer(n.name):
            n = rebuild(n, lambda c: self.rx(c, env))
            n.name = Raw(f"__cilkpp_fn({gen(n.name)})", n.coord)
            return n
        return rebuild(n, lambda c: self.rx(c, env))

    def _through_pointer(self, callee):
        """A call's callee is a function pointer (a variable, a table entry, a member), not a
        function's name."""
        if isinstance(callee, c_ast.ID):
            kind, decl = self.resolve(callee.name)
            return kind is not None and isinstance(decl, c_ast.Decl) and not isinstance(decl.type, c_ast.FuncDecl)
        return not isinstance(callee, Raw)

    def _scalar_call(self, n):
        """A call of rank 0 that is not a pure math function (it may have side effects)."""
        nm = n.name.name
        if nm in PURE or nm in REDUCERS or nm in GENERIC_REDUCERS or nm.startswith("__cilkpp_"):
            return False
        if self.chains(n):
            return False
        return not any(is_call(x, "__sec_implicit_index") for x in walk(n))

    def block(self, comp):
        """Lower a compound statement in place: an offload pragma takes the statement after it,
        consecutive section assignments that may share one loop nest are fused."""
        self.scopes.append({})
        items = comp.block_items or []
        out = []
        i = 0
        while i < len(items):
            it = items[i]
            if isinstance(it, c_ast.Pragma) and it.string.startswith("cilkpp "):
                pid = int(it.string.split()[1])
                info = self.u.pragmas[pid]
                if info.kind == "grainsize":
                    out.extend(self._grainsize_loop(info, items[i + 1] if i + 1 < len(items) else None))
                    i += 2
                    continue
                if info.kind == "offload":
                    # the statement may itself carry pragmas (#pragma omp parallel for): they
                    # are offloaded with it
                    k = i + 1
                    while k < len(items) and isinstance(items[k], c_ast.Pragma) and not items[k].string.startswith("cilkpp "):
                        k += 1
                    if k >= len(items) or isinstance(items[k], (c_ast.Decl, c_ast.DeclList, c_ast.Typedef)):
                        raise self.err(info.coord, "#pragma offload must be followed by a statement"
                                       + (", not a declaration" if k < len(items) else ""))
                    body = items[k] if k == i + 1 else c_ast.Compound(items[i + 1 : k + 1], items[i + 1].coord)
                    out.append(self.offload_block(info, body))
                    i = k + 1
                    continue
                out.append(self.offload_other(info))
                i += 1
                continue
            if isinstance(it, c_ast.Pragma) and re.match(r"(cilk\s+)?simd\b", it.string):
                nxt = items[i + 1] if i + 1 < len(items) else None
                if isinstance(nxt, c_ast.For) and (nxt.coord.file, nxt.coord.line, nxt.coord.column) in self.u.cilk_for:
                    # `#pragma simd` + _Cilk_for: vector lanes within the parallel loop's chunks,
                    # a hint the parallel loop alone keeps the meaning of; but its reductions
                    # are the parallel loop's too (dropped, the threads would race on them)
                    self.loop_reductions = " ".join(re.findall(r"\breduction\s*\([^)]*\)", it.string))
                    i += 1
                    continue
                it = c_ast.Pragma(_omp_simd(it.string), it.coord)  # Cilk Plus's SIMD loop is OpenMP's
            if isinstance(it, c_ast.Pragma) and it.string.startswith("omp"):
                k = self._omp_over_shared(items, i, out)
                if k:
                    i = k
                    continue
            run = self.fusible_run(items, i)
            if len(run) > 1:
                out.append(self.fused(run))
                i += len(run)
                continue
            out.extend(self.stmt(it))
            i += 1
        self.scopes.pop()
        comp.block_items = out
        return comp

    def _grainsize_loop(self, info, loop):
        """`#pragma cilk grainsize = G` (macros expanded) + a _Cilk_for: chunks of G iterations."""
        toks = info.toks
        if len(toks) < 2 or toks[0].text != "=":
            raise self.err(info.coord, "#pragma cilk grainsize = expression expected")
        if not (isinstance(loop, c_ast.For) and (loop.coord.file, loop.coord.line, loop.coord.column) in self.u.cilk_for):
            raise self.err(info.coord, "#pragma cilk grainsize must be followed by a _Cilk_for loop")
        self.grainsize = self.clause_expr(toks[1:], info.coord)
        return self.stmt(loop)

    def _omp_over_shared(self, items, i, out):
        """`#pragma omp ... reduction(+:g)` naming scalar _Cilk_shared globals, or variables an
        offload block reads through its frame: the statement runs on local copies of them under
        their own names (an OpenMP clause needs a variable, not what the name was rewritten to),
        copied back after it. Returns the index after the statement, or 0 when it names none."""
        access = {}
        for g, d in self.shared_globals.items():
            if self.resolve(g)[0] == "global" and not isinstance(d.type, c_ast.ArrayDecl):
                access[g] = f"*__cilkpp_g_{g}"
        for g, (text, d) in self.capture.items():
            if self.resolve(g)[0] == "capture" and not isinstance(d.type, c_ast.ArrayDecl):
                access[g] = text
        k = i
        while k < len(items) and isinstance(items[k], c_ast.Pragma):
            k += 1
        if k >= len(items):
            return 0
        # the clauses of OpenMP constructs nested in this one count too: `omp parallel` around
        # `omp task shared(s)` copies s once around the region, not around each task (whose
        # copy would be gone, and copied back, before the task ran)
        clauses = " ".join([items[i].string] + [n.string for n in walk(items[k])
                                               if isinstance(n, c_ast.Pragma) and n.string.startswith("omp")])
        names = [g for g in access if re.search(rf"\b{re.escape(g)}\b", clauses)]
        if not names:
            return 0
        self.scopes.append({g: self.resolve(g)[1] for g in names})
        body = self.stmt(items[k])
        self.scopes.pop()
        coord = items[i].coord
        copy_in = Raw("\n".join(f"__typeof__({access[g]}) {g} = {access[g]};" for g in names), coord, stmt=True)
        copy_out = Raw("\n".join(f"{access[g]} = {g};" for g in names), coord, stmt=True)
        out.append(c_ast.Compound([copy_in] + list(items[i:k]) + body + [copy_out], coord))
        return k + 1

    def as_stmt(self, lst, coord):
        if len(lst) == 1:
            return lst[0]
        return c_ast.Compound(lst, coord)

    def stmt(self, s):
        """One statement -> the list of statements it lowers to."""
        if s is None:
            return [s]
        if isinstance(s, c_ast.Compound):
            return [self.block(s)]
        if isinstance(s, c_ast.Decl):
            if s.init is not None and is_call(s.init, "__cilkpp_spawn"):
                init = s.init
                s.init = None
                _drop_const(s)  # the spawned call assigns it later
                self.declare(s)
                return [s] + self.spawn(init, c_ast.ID(s.name, s.coord), s.coord)
            if s.init is not None:
                self.no_sections(s.init, "an initialiser")
                s.init = self.rx(s.init, Env())
            self.declare(s)
            self.dims(s.type)
            return [s]
        if isinstance(s, (c_ast.Typedef, c_ast.DeclList)):
            if isinstance(s, c_ast.DeclList):
                for d in s.decls:
                    self.stmt(d)
            else:
                self.declare(s)
            return [s]
        if isinstance(s, c_ast.If):
            r, _ = self.rank(s.cond, s.coord)
            if r:
                return [self.array_if(s)]
            s.cond = self.rx(s.cond, Env())
            s.iftrue = self.as_stmt(self.stmt(s.iftrue), s.coord)
            if s.iffalse is not None:
                s.iffalse = self.as_stmt(self.stmt(s.iffalse), s.coord)
            return [s]
        if isinstance(s, c_ast.For):
            grain, self.grainsize = self.grainsize, None  # this loop's, not a nested one's
            reductions, self.loop_reductions = self.loop_reductions, ""
            self.scopes.append({})
            par = (s.coord.file, s.coord.line, s.coord.column) in self.u.cilk_for
            if isinstance(s.init, c_ast.DeclList):
                for d in s.init.decls:
                    self.stmt(d)
            elif s.init is not None:
                self.no_sections(s.init, "a for loop")
                s.init = self.rx(s.init, Env())
            for a in ("cond", "next"):
                if getattr(s, a) is not None:
                    self.no_sections(getattr(s, a), "a for loop")
                    setattr(s, a, self.rx(getattr(s, a), Env()))
            s.stmt = self.as_stmt(self.stmt(s.stmt), s.coord)
            self.scopes.pop()
            if not par:
                return [s]
            self.loop_reductions = reductions
            try:
                return [self.cilk_for(s, grain)]
            finally:
                self.loop_reductions = ""
        if isinstance(s, (c_ast.While, c_ast.DoWhile)):
            self.no_sections(s.cond, "a loop condition")
            s.cond = self.rx(s.cond, Env())
            s.stmt = self.as_stmt(self.stmt(s.stmt), s.coord)
            return [s]
        if isinstance(s, c_ast.Switch):
            if self.rank(s.cond, s.coord)[0]:
                return [self.array_switch(s)]
            s.cond = self.rx(s.cond, Env())
            s.stmt = self.as_stmt(self.stmt(s.stmt), s.coord)
            return [s]
        if isinstance(s, (c_ast.Case, c_ast.Default)):
            if isinstance(s, c_ast.Case):
                s.expr = self.rx(s.expr, Env())
            out = []
            for x in s.stmts or []:
                out.extend(self.stmt(x))
            s.stmts = out
            return [s]
        if isinstance(s, c_ast.Label):
            s.stmt = self.as_stmt(self.stmt(s.stmt), s.coord)
            return [s]
        if isinstance(s, c_ast.Return):
            if self.capture_mode:
                raise self.err(s.coord, "return inside a #pragma offload block is not supported")
            if s.expr is not None:
                self.no_sections(s.expr, "a return value")
                s.expr = self.rx(s.expr, Env())
            return self.synced_return(s)
        if isinstance(s, c_ast.Pragma):
            return [s]
        if isinstance(s, (c_ast.Break, c_ast.Continue, c_ast.Goto, c_ast.EmptyStatement)):
            return [s]
        # expression statements
        if is_call(s, "__cilkpp_spawn"):
            return self.spawn(s, None, s.coord)
        if isinstance(s, c_ast.Assignment) and is_call(s.rvalue, "__cilkpp_spawn"):
            return self.spawn(s.rvalue, s.lvalue, s.coord, s.op)
        if is_call(s, "__cilkpp_sync"):
            return self.sync(s)
        r, chains = self.rank(s, s.coord)
        if r:
            return [self.array_stmt(s, r, chains)]
        e = self.rx(s, Env())
        if isinstance(e, Raw) and not e.stmt:  # `_Cilk_offload f();`: generated text keeps its ';'
            return [Raw(e.text + ";", e.coord, stmt=True)]
        return [e]


def _defines_tag(t):
    """t defines an enum's constants or a struct's / union's members."""
    return (isinstance(t, c_ast.Enum) and t.values is not None) or \
        (isinstance(t, (c_ast.Struct, c_ast.Union)) and t.decls is not None)


def _omp_simd(text):
    """`#pragma simd [clauses]` (Cilk Plus) as `omp simd`: vectorlength(n[, m...]) is simdlen(n);
    vectorlengthfor(type) (a width chosen from a type), firstprivate (which omp simd has not: each
    lane's copy starts from the value before the loop, which a single vectorised loop reads
    anyway) and the assert / vecremainder hints go."""
    clauses = re.sub(r"^(cilk\s+)?simd\b", "", text.strip())
    clauses = re.sub(r"\bvectorlengthfor\s*\([^)]*\)", "", clauses)
    clauses = re.sub(r"\bfirstprivate\s*\([^)]*\)", "", clauses)
    clauses = re.sub(r"\bvectorlength\s*\(\s*([^,)]*)[^)]*\)", r"simdlen(\1)", clauses)
    clauses = re.sub(r"\b(assert|noassert|vecremainder|novecremainder)\b", "", clauses)
    return "omp simd" + clauses


def _drop_const(decl):
    """`const T v = _Cilk_spawn f();` declares v without the const its later assignment needs."""
    t = decl.type
    if isinstance(t, c_ast.TypeDecl):  # const int v: the variable's own const
        decl.quals = [q for q in decl.quals if q != "const"]
        t.quals = [q for q in t.quals if q != "const"]
    elif isinstance(t, c_ast.PtrDecl):  # int *const p (const int *p keeps what it points to)
        t.quals = [q for q in t.quals if q != "const"]
