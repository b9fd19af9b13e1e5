"""The walk over a function's statements and expressions, which hands each Cilk Plus construct
to the part that lowers it: sections (sections.py, section_statements.py), Cilk keywords
(keywords.py), offload (offload.py, shared.py). Everything else is kept as it is, with names
resolved through the scopes (a captured variable or a _Cilk_shared global is renamed)."""

from __future__ import annotations

import os

from pycparser import c_ast

from ..front import error_at
from .nodes import Env, Raw, call_args, const_int, is_call, rebuild
from .sections import REDUCERS, UNSUPPORTED_CALLS


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
            if nm in REDUCERS:
                return self.reduction(n, env)
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
            if nm == "__cilkpp_spawn":
                raise self.err(self.u.spawns[int(call_args(n)[0].value)],
                               "_Cilk_spawn must start a statement: `f(x);` or `v = _Cilk_spawn f(x);`")
            if nm == "__cilkpp_sync":
                raise self.err(self.u.syncs[int(call_args(n)[0].value)], "_Cilk_sync is a statement")
        return rebuild(n, lambda c: self.rx(c, env))

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
                if info.kind == "offload":
                    if i + 1 >= len(items):
                        raise self.err(info.coord, "#pragma offload must be followed by a statement")
                    out.append(self.offload_block(info, items[i + 1]))
                    i += 2
                    continue
                out.append(self.offload_other(info))
                i += 1
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
            self.scopes.append({})
            par = (s.coord.line, s.coord.column) in self.u.cilk_for
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
            return [self.cilk_for(s) if par else s]
        if isinstance(s, (c_ast.While, c_ast.DoWhile)):
            self.no_sections(s.cond, "a loop condition")
            s.cond = self.rx(s.cond, Env())
            s.stmt = self.as_stmt(self.stmt(s.stmt), s.coord)
            return [s]
        if isinstance(s, c_ast.Switch):
            self.no_sections(s.cond, "a switch")
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
        if isinstance(s, c_ast.Assignment) and s.op == "=" and is_call(s.rvalue, "__cilkpp_spawn"):
            return self.spawn(s.rvalue, s.lvalue, s.coord)
        if is_call(s, "__cilkpp_sync"):
            return self.sync(s)
        r, chains = self.rank(s, s.coord)
        if r:
            return [self.array_stmt(s, r, chains)]
        return [self.rx(s, Env())]

