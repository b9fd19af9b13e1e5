"""Cilk keywords: _Cilk_spawn, _Cilk_sync, _Cilk_for, on OpenMP tasks.

``_Cilk_spawn`` -> an OpenMP task (arguments evaluated in the parent), ``_Cilk_sync`` ->
``taskwait``, ``_Cilk_for`` -> ``omp parallel for`` when reached outside a parallel region (a
kernel's flat loops: no task overhead) and ``taskloop`` inside one. A function that spawns is
split: its body runs inside ``omp parallel`` + ``omp single`` when it is entered outside a
parallel region, so tasks have a team; it syncs before every return (Cilk's implicit sync).
"""

from __future__ import annotations

import copy
import re

from pycparser import c_ast

from .nodes import Env, Raw, call_args, gen, is_call, line_directive, params, rename_decl, return_decl

_TASKWAIT = "#pragma omp taskwait"


class Keywords:
    """Lowerer methods for the Cilk keywords (state: the Lowerer's `spawns`, set per function)."""

    def spawn(self, sp, lhs, coord):
        """`f(x);` or `lhs = f(x);` spawned: a task that calls f on arguments evaluated here."""
        self.spawns = True
        call = call_args(sp)[1]
        if not is_call(call):
            raise self.err(coord, "_Cilk_spawn must call a function by name")
        lines, names = [], []
        for a in call_args(call):
            self.no_sections(a, "a spawned call")
            t = self.fresh("a")
            lines.append(f"__auto_type {t} = ({gen(self.rx(a, Env()))});")
            names.append(t)
        fp = list(names)
        target = ""
        if lhs is not None:
            d = self.fresh("d")
            lines.append(f"__auto_type {d} = &({gen(self.rx(lhs, Env()))});")
            fp.append(d)
            target = f"*{d} = "
        fpc = f" firstprivate({', '.join(fp)})" if fp else ""
        lines.append(f"#pragma omp task default(shared){fpc}")
        lines.append(f"{target}{gen(self.rx(call.name, Env()))}({', '.join(names)});")
        return [Raw("{\n" + "\n".join(lines) + "\n}", coord, stmt=True)]

    def sync(self, s):
        return [Raw("{\n" + _TASKWAIT + "\n}", s.coord, stmt=True)]

    def synced_return(self, ret):
        """A return from a function that spawns waits for its tasks first."""
        if self.spawns:
            return [c_ast.Compound([Raw(_TASKWAIT, ret.coord, stmt=True), ret], ret.coord)]
        return [ret]

    def cilk_for(self, s):
        """The lowered loop s as a _Cilk_for. Outside a parallel region: a worksharing loop over
        a new team (cheapest for the flat loops of a kernel); inside one (a spawned task, another
        _Cilk_for): tasks."""
        inside = c_ast.FuncCall(c_ast.ID("omp_in_parallel", s.coord), c_ast.ExprList([]), s.coord)
        tasks = c_ast.Compound([c_ast.Pragma("omp taskloop default(shared)", s.coord), s], s.coord)
        team = c_ast.Compound([c_ast.Pragma("omp parallel for schedule(static) default(shared)", s.coord),
                               copy.deepcopy(s)], s.coord)
        return c_ast.If(inside, tasks, team, s.coord)

    def split_parallel(self, fd):
        """A function that spawns, fd -> [its prototype, static body, fd that enters a parallel
        region (one thread runs the body, the team runs its tasks) unless already inside one]."""
        name = fd.decl.name
        args = params(fd.decl.type)
        if args is None:
            raise self.err(fd.decl.coord, f"'{name}' spawns or uses _Cilk_for: variadic functions are not supported")
        proto = gen(copy.deepcopy(fd.decl))
        body_name = f"__cilkpp_par_{name}"
        rename_decl(fd.decl, body_name)
        fd.decl.storage = ["static"] + [s for s in fd.decl.storage if s not in ("static", "extern")]
        fd.body.block_items = (fd.body.block_items or []) + [Raw(_TASKWAIT, None, stmt=True)]
        call = f"{body_name}({', '.join(n for n, _ in args)})"
        rtype = gen(fd.decl.type.type)
        if re.fullmatch(r"(static\s+)?void", rtype.strip()) is not None:
            body = (f"{{\n    if (omp_in_parallel()) {{ {call}; return; }}\n"
                    f"#pragma omp parallel\n#pragma omp single\n    {call};\n}}\n")
        else:
            body = (f"{{\n    if (omp_in_parallel()) return {call};\n    {gen(return_decl(fd.decl, '__r'))};\n"
                    f"#pragma omp parallel\n#pragma omp single\n    __r = {call};\n    return __r;\n}}\n")
        return [Raw(line_directive(fd.coord) + proto + ";\n", None), fd,
                Raw(line_directive(fd.coord) + proto + "\n" + body, None)]
