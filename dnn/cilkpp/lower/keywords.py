"""Cilk keywords: _Cilk_spawn, _Cilk_sync, _Cilk_for, on OpenMP tasks.

``_Cilk_spawn`` -> an OpenMP task (arguments evaluated in the parent), ``_Cilk_sync`` ->
``taskwait``, ``_Cilk_for`` -> ``omp parallel for`` when reached outside a parallel region (a
kernel's flat loops: no task overhead) and ``taskloop`` inside one, a plain loop on a thread whose
OpenMP thread count is 1. A function that spawns is
split: its body runs inside ``omp parallel`` + ``omp single`` when it is entered outside a
parallel region, so tasks have a team; it syncs before every return (Cilk's implicit sync).

Spawn-heavy recursion (fib) stays cheap: a spawn becomes a task only while fewer than
``__cilkpp_spawn_limit`` tasks (4 per thread; none with one thread) are unfinished, otherwise a
plain call (what a Cilk worker does with a spawn nobody steals); a sync waits only if this frame
made a task; and
the body of a spawning function calls the bodies of spawning functions directly (it already
runs in the team), so the serial path costs one load and two branches more than plain C.
"""

from __future__ import annotations

import copy
import re

from pycparser import c_ast

from .cilk_for_rules import check_cilk_for
from .nodes import Env, Raw, call_args, const_int, gen, is_call, line_directive, params, rename_decl, return_decl, walk

_TASKWAIT = "#pragma omp taskwait\n__cilkpp_settle();"
# a sync in a function that spawns: only when this frame made a task since the last one
_FRAME_SYNC = "if (__cilkpp_spawned) {\n#pragma omp taskwait\n__cilkpp_spawned = 0;\n__cilkpp_settle();\n}"


class Keywords:
    """Lowerer methods for the Cilk keywords (state: the Lowerer's `spawns`, set per function)."""

    def spawn(self, sp, lhs, coord, op="="):
        """`f(x);` or `lhs = f(x);` spawned (or `lhs += f(x);`, any assignment operator: the
        specification's spawn is the right operand of an assignment): a task that calls f on
        arguments evaluated here, and assigns its result there."""
        self.spawns = True
        call = call_args(sp)[1]
        if not isinstance(call, c_ast.FuncCall):
            raise self.err(coord, "_Cilk_spawn must call a function")
        if is_call(call, "__cilkpp_offload"):
            return self._spawn_offload(call, lhs, coord, op)
        lines, names = [], []
        for a in call_args(call):
            self.no_sections(a, "a spawned call")
            t = self.fresh("a")
            lines.append(f"__auto_type {t} = ({gen(self.rx(a, Env()))});")
            names.append(t)
        fp = list(names)
        target, inline, task_pre = "", None, []
        callee = gen(self.rx(call.name, Env()))
        if not self._names_a_function(call.name):
            # a pointer (fp, table[k], s->fn, (*fp)): evaluated here, before the spawn, as the
            # arguments are; the parent may change it while the child waits to start
            t = self.fresh("f")
            lines.append(f"__auto_type {t} = ({callee});")
            fp.append(t)
            callee = t
        args = f"{callee}({', '.join(names)});"
        if lhs is not None:
            lv = self.rx(lhs, Env())
            d = self.fresh("d")
            if isinstance(lv, c_ast.ID):  # the plain call assigns it; only the task needs its address
                task_pre = [f"__auto_type {d} = &({lv.name});"]
                inline = f"{lv.name} {op} {args}"
            else:
                lines.append(f"__auto_type {d} = &({gen(lv)});")
            fp.append(d)
            target = f"*{d} {op} "
        return [self._task(lines, fp, f"{target}{args}", coord, callee, inline, task_pre)]

    def _names_a_function(self, e):
        """e is the name of a function (not of a variable holding a pointer to one)."""
        if not isinstance(e, c_ast.ID):
            return False
        _, decl = self.resolve(e.name)
        return decl is None or (isinstance(decl, c_ast.Decl) and isinstance(decl.type, c_ast.FuncDecl))

    def _task(self, lines, fp, call, coord, callee=None, inline=None, task_pre=()):
        """The spawn of `call` (after `lines` evaluated its arguments into the names fp): a task
        while few wait to start, else the call itself (`inline` when it differs). Its text is
        finished by split_parallel (callee: a direct call of a spawning function's body)."""
        fpc = f" firstprivate({', '.join(fp)})" if fp else ""
        lines = lines + [
            "if (__atomic_load_n(&__cilkpp_pending, __ATOMIC_RELAXED) < __cilkpp_spawn_limit) {",
            *task_pre,
            "__cilkpp_spawned = 1;",
            "__atomic_add_fetch(&__cilkpp_pending, 1, __ATOMIC_RELAXED);",
            f"#pragma omp task default(shared){fpc}",
            f"{{ {call} __atomic_sub_fetch(&__cilkpp_pending, 1, __ATOMIC_RELAXED); }}",
            f"}} else {{ {inline or call} }}"]
        r = Raw("{\n" + "\n".join(lines) + "\n}", coord, stmt=True)
        if callee is not None:
            self.spawn_calls.append((r, callee))
        return r

    def _spawn_offload(self, off, lhs, coord, op):
        """`_Cilk_spawn _Cilk_offload[_to(t)] f(x)`: a task that offloads f, with the target and the
        arguments evaluated here (the offloads of several tasks reach the card one at a time)."""
        oid, target, call = call_args(off)
        if not is_call(call):
            raise self.err(coord, "_Cilk_offload must call a function by name")
        lines, temps = [], []
        for a in [target] + list(call_args(call)):
            self.no_sections(a, "a spawned call")
            t = self.fresh("a")
            lines.append(f"__auto_type {t} = ({gen(self.rx(a, Env()))});")
            temps.append(c_ast.ID(t, coord))
        fp = [t.name for t in temps]
        inner = c_ast.FuncCall(call.name, c_ast.ExprList(temps[1:]), call.coord)
        text = gen(self.offload_call(c_ast.FuncCall(off.name, c_ast.ExprList([oid, temps[0], inner]), off.coord), Env()))
        target_text = ""
        if lhs is not None:
            d = self.fresh("d")
            lines.append(f"__auto_type {d} = &({gen(self.rx(lhs, Env()))});")
            fp.append(d)
            target_text = f"*{d} {op} "
        self.spawns = True
        return [self._task(lines, fp, f"{target_text}{text};", coord)]

    def _sync_point(self, coord):
        """A taskwait; split_parallel makes it conditional when the function turns out to spawn."""
        r = Raw(_TASKWAIT, coord, stmt=True)
        self.sync_points.append(r)
        return r

    def sync(self, s):
        return [c_ast.Compound([self._sync_point(s.coord)], s.coord)]

    def synced_return(self, ret):
        """A return from a function that spawns waits for its tasks first."""
        if self.spawns:
            return [c_ast.Compound([self._sync_point(ret.coord), ret], ret.coord)]
        return [ret]

    def cilk_for(self, s, g=None, g_positive=False):
        """The lowered loop s as a _Cilk_for. Outside a parallel region: a worksharing loop over
        a new team (cheapest for the flat loops of a kernel); inside one (a spawned task, another
        _Cilk_for): tasks. A thread whose OpenMP thread count is 1 (omp_set_num_threads(1), as a
        CHAOS worker sets it) runs the loop itself, in order, as Cilk's serial elision would: no
        team to start, and no tasks for a team's other threads to take (they are workers busy with
        their own images, and a team's task queue has one lock)."""
        check_cilk_for(s, self.err)
        # the specification's grainsize 0 (or less) means the default; OpenMP's must be positive
        literal = re.fullmatch(r"\(*\s*(-?)\s*([0-9]+)[uUlL]*\s*\)*", g or "")
        if literal is not None and (literal.group(1) or int(literal.group(2)) == 0):
            g = None
        elif g is not None and literal is None and not g_positive:  # known at run time only
            v = self.fresh("grain")
            return c_ast.Compound([Raw(f"const long {v} = ({g});", s.coord, stmt=True),
                                   c_ast.If(c_ast.BinaryOp(">", c_ast.ID(v, s.coord), c_ast.Constant("int", "0", s.coord)),
                                            self.cilk_for(copy.deepcopy(s), v, True), self.cilk_for(s), s.coord)], s.coord)
        way = self._not_equal_direction(s, g)
        if way is not None:
            return way
        self._iteration_frame(s)
        once = self._header_once(s)
        inside = c_ast.FuncCall(c_ast.ID("omp_in_parallel", s.coord), c_ast.ExprList([]), s.coord)
        alone = c_ast.BinaryOp("==", c_ast.FuncCall(c_ast.ID("omp_get_max_threads", s.coord), c_ast.ExprList([]),
                                                    s.coord), c_ast.Constant("int", "1", s.coord), s.coord)
        # g: #pragma cilk grainsize = g, chunks of g iterations
        red = f" {self.loop_reductions}" if self.loop_reductions else ""  # a `#pragma simd`'s before the loop
        tasks = c_ast.Compound([c_ast.Pragma("omp taskloop default(shared)" + (f" grainsize({g})" if g else "") + red,
                                             s.coord), s], s.coord)
        sched = f"dynamic, {g}" if g else "static"
        team = c_ast.Compound([c_ast.Pragma(f"omp parallel for schedule({sched}) default(shared){red}", s.coord),
                               copy.deepcopy(s)], s.coord)
        # then reducers' views merge (<cilk/reducer.h>)
        serial = c_ast.Compound([copy.deepcopy(s)], s.coord)
        parallel = c_ast.If(inside, tasks, team, s.coord)
        # views merge after the loop only when no other _Cilk_for is running (this one nested in
        # another's body would merge views the outer loop's other iterations are still updating);
        # counted only while a reducer exists, so loops of programs without one (a CHAOS
        # worker's many small loops) share no counter between threads
        flag = self.fresh("red")
        return c_ast.Compound(once + [
            Raw(f"const int {flag} = __cilkpp_reducers != 0; "
                f"if ({flag}) __atomic_add_fetch(&__cilkpp_loops, 1, __ATOMIC_RELAXED);", s.coord, stmt=True),
            c_ast.If(alone, serial, parallel, s.coord),
            Raw(f"if ({flag}) __atomic_sub_fetch(&__cilkpp_loops, 1, __ATOMIC_RELAXED);", s.coord, stmt=True),
            Raw("__cilkpp_settle();", s.coord, stmt=True)], s.coord)

    def _iteration_frame(self, s):
        """A body that spawns is a frame of its own, as a spawned function is: its syncs wait for
        its own tasks (a flag of its own, not the function's, which other iterations clear), and it
        syncs before the iteration ends."""
        if not any(isinstance(n, Raw) and "__cilkpp_spawned = 1;" in n.text for n in walk(s.stmt)):
            return
        s.stmt = c_ast.Compound([Raw("int __cilkpp_spawned = 0;", s.coord, stmt=True), s.stmt,
                                 Raw(_FRAME_SYNC, s.coord, stmt=True)], s.coord)

    def _not_equal_direction(self, s, g):
        """`i != n` with a step other than 1 (`i += 3`), which OpenMP's loop forms refuse: the
        specification's != loop reaches n exactly, so it is `i < n` when it counts up and `i > n`
        when it counts down. A constant step tells which; another is tested before the loop (it is
        evaluated once then as well). None when the loop needs no rewriting."""
        nxt = s.next
        if s.cond.op != "!=" or not isinstance(nxt, c_ast.Assignment):
            return None
        step = const_int(nxt.rvalue)
        if step is not None and abs(step) == 1:
            return None
        var_left = isinstance(s.cond.left, c_ast.ID) and gen(s.cond.left) == gen(nxt.lvalue)

        def counting(up):
            loop = copy.deepcopy(s)
            loop.cond.op = "<" if up == var_left else ">"
            return loop

        up_when_positive = nxt.op == "+="
        if step is not None:
            return self.cilk_for(counting((step > 0) == up_when_positive), g)
        k = self.fresh("step")
        nxt.rvalue, rv = c_ast.ID(k, nxt.coord), nxt.rvalue
        return c_ast.Compound([
            Raw(f"const __typeof__({gen(rv)}) {k} = {gen(rv)};", s.coord, stmt=True),
            c_ast.If(c_ast.BinaryOp(">", c_ast.ID(k, s.coord), c_ast.Constant("int", "0", s.coord), s.coord),
                     self.cilk_for(counting(up_when_positive), g),
                     self.cilk_for(counting(not up_when_positive), g), s.coord)], s.coord)

    def _header_once(self, s):
        """The limit and the step of a _Cilk_for are evaluated once, before the loop (the
        specification's rule; OpenMP may evaluate them once per thread): each that is not a
        constant or a variable goes into a variable of its own. Returns its declarations."""
        out = []

        def hoist(e):
            # a variable too: the body may assign it, and a thread that starts late would see that
            if e is None or isinstance(e, c_ast.Constant):
                return e
            v = self.fresh("lim")
            out.append(Raw(f"const __auto_type {v} = ({gen(e)});", s.coord, stmt=True))
            return c_ast.ID(v, e.coord)

        var = None
        if isinstance(s.init, c_ast.DeclList) and s.init.decls:
            var = s.init.decls[0].name
        elif isinstance(s.init, c_ast.Assignment) and isinstance(s.init.lvalue, c_ast.ID):
            var = s.init.lvalue.name
        cond = s.cond
        if isinstance(cond.left, c_ast.ID) and cond.left.name == var:
            cond.right = hoist(cond.right)
        elif isinstance(cond.right, c_ast.ID) and cond.right.name == var:
            cond.left = hoist(cond.left)
        if isinstance(s.next, c_ast.Assignment) and s.next.op in ("+=", "-="):
            s.next.rvalue = hoist(s.next.rvalue)
        return out

    def split_parallel(self, fd):
        """A function that spawns, fd -> [its prototype, static body, fd that enters a parallel
        region (one thread runs the body, the team runs its tasks) unless already inside one]."""
        name = fd.decl.name
        args = params(fd.decl.type)
        if args is None:
            raise self.err(fd.decl.coord, f"'{name}' spawns or uses _Cilk_for: variadic functions are not supported")
        proto = gen(copy.deepcopy(fd.decl))
        body_name = f"__cilkpp_par_{name}"
        self.split_funcs.add(name)
        for r in self.sync_points:
            r.text = _FRAME_SYNC
        # the body runs in a team already: it calls spawning functions' bodies, with no check and
        # no new region (a team of one thread is no parallel region to omp_in_parallel)
        for r, callee in self.spawn_calls:
            if callee in self.split_funcs:
                r.text = r.text.replace(f" {callee}(", f" __cilkpp_par_{callee}(")
        for n in walk(fd.body):
            if isinstance(n, c_ast.FuncCall) and isinstance(n.name, c_ast.ID) and n.name.name in self.split_funcs:
                n.name = c_ast.ID(f"__cilkpp_par_{n.name.name}", n.name.coord)
        rename_decl(fd.decl, body_name)
        fd.decl.storage = ["static"] + [s for s in fd.decl.storage if s not in ("static", "extern")]
        fd.body.block_items = ([Raw("int __cilkpp_spawned = 0;", None, stmt=True)] + (fd.body.block_items or [])
                               + [Raw(_FRAME_SYNC, None, stmt=True)])
        call = f"{body_name}({', '.join(n for n, _ in args)})"
        rtype = gen(fd.decl.type.type)
        team = ("__cilkpp_spawn_limit = omp_get_max_threads() > 1 ? 4 * omp_get_max_threads() : 0;\n"
                "#pragma omp parallel\n#pragma omp single\n")
        if re.fullmatch(r"(static\s+)?void", rtype.strip()) is not None:
            body = (f"{{\n    if (omp_get_level() > 0) {{ {call}; return; }}\n"
                    f"{team}    {call};\n}}\n")
        else:
            body = (f"{{\n    if (omp_get_level() > 0) return {call};\n    {gen(return_decl(fd.decl, '__r'))};\n"
                    f"{team}    __r = {call};\n    return __r;\n}}\n")
        return [Raw(line_directive(fd.coord) + proto + ";\n", None), fd,
                Raw(line_directive(fd.coord) + "__attribute__((unused)) " + proto + "\n" + body, None)]
