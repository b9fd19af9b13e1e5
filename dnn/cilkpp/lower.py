"""Lowering: Cilk Plus constructs in a pycparser AST -> plain C on dnn's offload runtime.

Array Notation
  A statement whose expressions hold array sections becomes a loop nest, one loop per rank,
  the innermost under ``#pragma omp simd``. Section starts, lengths and strides are evaluated once,
  before the nest. Lengths of the same rank must agree: when both are integer constants a mismatch
  is a translation error, otherwise it is checked at run time when the C is compiled with
  ``-DCILKPP_DEBUG``. Scalars are broadcast. ``if`` with a section condition becomes an ``if``
  inside the nest. Reductions become GCC statement expressions with ``omp simd reduction(...)``;
  inside a section statement they are computed once, before the nest.
  Overlap: when the right side reads the array the left side writes (same base expression) through
  a different section (or as a scalar), the right side is first evaluated into a temporary and
  then assigned; exact overlap (the same section text) and different arrays are done in place.
  Different names that alias are not detected (the specification leaves that undefined).
  ``__sec_reduce_max_ind`` / ``_min_ind`` return the 0-based position of the first extreme element
  within the section (as GCC's Cilk Plus did), -1 for an empty section; rank 1 only.
  Consecutive section assignments are fused into one nest only when that cannot change a result
  (see ``fusible_run``): the trainer's fused loops (softmax, momentum SGD) stay fused.

Cilk keywords
  ``_Cilk_spawn`` -> an OpenMP task (arguments evaluated in the parent), ``_Cilk_sync`` ->
  ``taskwait``, ``_Cilk_for`` -> ``omp parallel for`` when reached outside a parallel region (a
  kernel's flat loops: no task overhead) and ``taskloop`` inside one. A function that spawns is
  split: its body runs inside ``omp parallel`` + ``omp single`` when it is entered outside a
  parallel region, so tasks have a team; it syncs before every return (Cilk's implicit sync).

Offload
  ``#pragma offload`` blocks are outlined into a function + an OFF_KERNEL wrapper; pointers named
  in in/out/inout/nocopy clauses travel as pointer arguments with off_xfer entries; every other
  local variable the block uses (scalars, structs, fixed-size arrays) is copied into a *frame*
  struct sent as one transfer (inout, so assignments come back; in-only for asynchronous calls);
  other pointers are passed as pointer arguments (the runtime checks they lie in the shared arena).
  ``_Cilk_offload f(x)`` calls a generated host stub that packs the arguments into off_arg[] and
  calls the kernel of ``f`` (which must be ``_Cilk_shared``). The file that defines a
  ``_Cilk_shared`` function exports its kernel: ``cilkpp_f`` for an external function (so an
  offload from another translated file, or a host program calling the runtime, reaches it by
  name), ``cilkpp_<file>_f`` for a static one. A function whose parameters cannot cross (structs
  by value) is exported only if something offloads it, and then it is an error. In host code, a
  clause naming a NULL pointer of length 0 moves nothing (an optional array).
  ``offload_transfer ... signal()`` goes on the card's DMA lane, so it crosses while an offload
  runs (double buffering); the runtime keeps one request in flight per lane, and the generated
  code finishes an older one before posting on a busy lane, so any number of signals may pend.
  ``_Cilk_shared`` globals live in the shared arena: each becomes a pointer allocated and
  initialised at start-up; kernels receive a table of those pointers as hidden first argument.
  Globals that are not ``_Cilk_shared`` have a separate copy on the card (as on the real device).
  Limits: at most 16 pointer arguments per offload (OFF_MAX_ARGS; the frame takes one slot);
  clause sections only as ``p[0:n]``; ``alloc()``, ``status()`` and ``__sec_reduce(init, a, f)``
  are refused with an error; ``mic:n`` always names the one card.
"""

from __future__ import annotations

import copy
import os
import re

from pycparser import c_ast, c_generator, c_parser

from .front import ARITH_TYPEDEFS, FLOAT_TYPEDEFS, CilkppError, error_at

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
UNSUPPORTED_CALLS = {"__sec_reduce": "the generic __sec_reduce(init, section, function)",
                     "__sec_reduce_mutating": "__sec_reduce_mutating"}
FLOAT_NAMES = {"float", "double"}
INT_NAMES = {"char", "short", "int", "long", "unsigned", "signed", "_Bool"}


class Raw(c_ast.Node):
    """Generated C text standing for an expression or (with stmt=True) a statement."""

    __slots__ = ("text", "stmt", "coord", "__weakref__")
    attr_names = ("text",)

    def __init__(self, text, coord=None, stmt=False):
        self.text = text
        self.coord = coord
        self.stmt = stmt

    def children(self):
        return ()

    def __iter__(self):
        return iter(())


class Gen(c_generator.CGenerator):
    """pycparser's generator + Raw nodes + ``#line`` directives before statements."""

    def __init__(self, lines=True):
        super().__init__()
        self.lines = lines

    def visit_Raw(self, n):
        if not n.stmt:
            return n.text
        return render_raw(n.text, n.coord if self.lines else None)

    def _generate_stmt(self, n, add_indent=False):
        s = super()._generate_stmt(n, add_indent)
        if isinstance(n, Raw) and n.stmt:
            return n.text if False else render_raw(n.text, n.coord if self.lines else None) + "\n"
        if self.lines and n.coord is not None and not isinstance(n, (c_ast.Compound, c_ast.Pragma)):
            return line_directive(n.coord) + s
        return s


def line_directive(coord):
    return f'#line {coord.line} "{coord.file}"\n'


def render_raw(text, coord):
    """Consecutive code lines are joined so that each maps exactly to the source line."""
    out, group = [], []

    def flush():
        if group:
            if coord is not None:
                out.append(line_directive(coord).rstrip("\n"))
            out.append(" ".join(g.strip() for g in group))
            group.clear()

    for ln in text.split("\n"):
        if ln.strip().startswith("#"):
            flush()
            out.append(ln.strip())
        elif ln.strip():
            group.append(ln)
    flush()
    return "\n".join(out)


_plain = Gen(lines=False)


def gen(node):
    return _plain.visit(node)


def is_call(node, name=None):
    return (isinstance(node, c_ast.FuncCall) and isinstance(node.name, c_ast.ID)
            and (name is None or node.name.name == name))


def call_args(node):
    return list(node.args.exprs) if node.args else []


def const_int(node):
    if isinstance(node, c_ast.Constant) and node.type in ("int", "long", "unsigned int", "unsigned long",
                                                          "long long", "unsigned long long"):
        try:
            return int(node.value.rstrip("uUlL"), 0)
        except ValueError:
            return None
    if isinstance(node, c_ast.UnaryOp) and node.op == "-":
        v = const_int(node.expr)
        return None if v is None else -v
    return None


def rebuild(node, fn):
    """Apply fn to every direct child (in place) and return node."""
    for name in node.__slots__:
        if name in ("coord", "__weakref__"):
            continue
        val = getattr(node, name, None)
        if isinstance(val, c_ast.Node):
            setattr(node, name, fn(val))
        elif isinstance(val, list):
            setattr(node, name, [fn(v) if isinstance(v, c_ast.Node) else v for v in val])
    return node


def decl_name_node(t):
    while not isinstance(t, c_ast.TypeDecl):
        t = t.type
    return t


def rename_type(t, name):
    t = copy.deepcopy(t)
    decl_name_node(t).declname = name
    return t


def type_text(t, name):
    return gen(c_ast.Decl(name, [], [], [], [], rename_type(t, name), None, None))


class Env:
    """Element context: index variables of the current nest and what each section becomes."""

    def __init__(self, idx=None, sec_map=None, hoist=None):
        self.idx = idx or []
        self.sec_map = sec_map or {}
        self.hoist = hoist  # list of statements evaluated once before the nest, or None


class Lowerer:
    def __init__(self, unit, kernel_prefix):
        self.u = unit
        self.file = unit.filename
        self.kprefix = kernel_prefix
        self.n = 0
        self.scopes = [{}]
        self.capture = {}  # name -> (replacement text, decl) inside an outlined offload block
        self.shared_funcs = set()
        self.shared_globals = {}  # name -> Decl
        self.typedefs = {}  # user typedef name -> type node
        self.stubs = {}  # function name -> stub name
        self.stub_needed = set()
        self.func = None
        self.pre = []  # Raw items to put before the current function
        self.kernels = []  # names of generated kernels
        self.attr_stack = []

    # ---- helpers -------------------------------------------------------------------------------
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

    # ---- types ---------------------------------------------------------------------------------
    def arg_kind(self, t, coord, what):
        """'p', 'i' or 'd' for a parameter type; error for what cannot cross as an off_arg."""
        if isinstance(t, (c_ast.PtrDecl, c_ast.ArrayDecl)):
            return "p"
        if isinstance(t, c_ast.TypeDecl):
            ty = t.type
            if isinstance(ty, c_ast.Enum):
                return "i"
            if isinstance(ty, c_ast.IdentifierType):
                names = set(ty.names)
                if names & FLOAT_NAMES:
                    if "long" in names:
                        raise self.err(coord, f"{what}: long double cannot be passed to the card")
                    return "d"
                if names <= INT_NAMES:
                    return "i"
                if len(ty.names) == 1:
                    nm = ty.names[0]
                    if nm in self.typedefs:
                        return self.arg_kind(self.typedefs[nm], coord, what)
                    if nm in FLOAT_TYPEDEFS:
                        return "d"
                    if nm in ARITH_TYPEDEFS:
                        return "i"
        raise self.err(coord, f"{what}: only scalars and pointers can be passed to an offloaded "
                       "function (this is a struct, union or unknown type); pass a pointer")

    # ---- sections ------------------------------------------------------------------------------
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
                if nm in REDUCERS or nm in UNSUPPORTED_CALLS or nm in ("__cilkpp_offload", "__cilkpp_spawn",
                                                                       "__cilkpp_sec"):
                    return
            if isinstance(n, c_ast.UnaryOp) and n.op == "sizeof":
                return
            if isinstance(n, c_ast.ArrayRef):
                refs = []
                x = n
                while isinstance(x, c_ast.ArrayRef):
                    refs.append(x)
                    x = x.name
                refs.reverse()
                chain = []
                for pos, r in enumerate(refs):
                    s = self.sec_of(r.subscript)
                    if s:
                        chain.append((s[0], r, pos))
                    else:
                        visit(r.subscript)
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
        raise self.err(coord, "[:] needs an array whose size is declared here; write [start:length]")

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
        if checks:
            pre.append("#ifdef CILKPP_DEBUG")
            pre.extend(checks)
            pre.append("#endif")
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

    # ---- expressions ---------------------------------------------------------------------------
    def rx(self, n, env):
        """Rewrite an expression: sections by env, reductions, offload calls, renamed variables."""
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

    def reduction(self, n, env):
        nm = n.name.name
        a = call_args(n)
        if len(a) != 1:
            raise self.err(n.coord, f"{nm} takes one array section argument")
        rank, chains = self.rank(a[0], n.coord)
        if rank == 0:
            raise self.err(n.coord, f"{nm} needs an array section argument (rank >= 1)")
        pre, inner, idx, lens = self.nest(chains, rank, n.coord, env)
        e = self.elem(a[0], inner)
        r = self.fresh("r")
        lines = list(pre) + inner.hoist
        if REDUCERS[nm] is None:
            if rank != 1:
                raise self.err(n.coord, f"{nm} is supported for rank 1 sections only")
            best = self.fresh("b")
            cmp = ">" if nm.endswith("max_ind") else "<"
            lines.append(f"long {r} = -1; __typeof__(((void)0, {e})) {best} = 0;")
            lines.append(self.loops(idx, lens, f"{{ __typeof__({best}) __v = {e}; if ({r} < 0 || __v {cmp} {best}) "
                                    f"{{ {best} = __v; {r} = {idx[0]}; }} }}", pragma=None))
        else:
            init, op, step = REDUCERS[nm]
            ty = f"__typeof__(((void)0, {e}))" if op not in "&|" else "int"  # unqualified: e may be const
            lines.append(f"{ty} {r} = {init.format(r=r)};" if "{r}" in init else f"{ty} {r} = {init};")
            lines.append(self.loops(idx, lens, step.format(r=r, e=e),
                                    pragma=f"#pragma omp simd reduction({op}:{r})"))
        text = "({\n" + "\n".join(lines) + f"\n{r};\n}})"
        if env is not None and env.hoist is not None and env.idx:
            t = self.fresh("t")
            env.hoist.append(f"__auto_type {t} = {text};")
            return Raw(t, n.coord)
        return Raw(text, n.coord)

    def offload_call(self, n, env):
        oid, target, call = call_args(n)
        coord = self.u.offloads[int(oid.value)]
        if not is_call(call):
            raise self.err(coord, "_Cilk_offload must call a function by name")
        f = call.name.name
        if f not in self.shared_funcs:
            raise self.err(coord, f"_Cilk_offload {f}(...): '{f}' is not a _Cilk_shared function (mark it "
                           "_Cilk_shared or declare it inside #pragma offload_attribute(push, _Cilk_shared))")
        self.stub_needed.add(f)
        args = [self.rx(x, env) for x in call_args(call)]
        tgt = self.rx(target, env)
        return Raw(f"__cilkpp_offcall_{f}({gen(tgt)}, \"{self.where(coord)}\"" +
                   "".join(", " + gen(x) for x in args) + ")", coord)

    # ---- statements ----------------------------------------------------------------------------
    def block(self, comp):
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
            if par:
                # Outside a parallel region: a worksharing loop over a new team (cheapest for the
                # flat loops of a kernel); inside one (a spawned task, another _Cilk_for): tasks.
                inside = c_ast.FuncCall(c_ast.ID("omp_in_parallel", s.coord), c_ast.ExprList([]), s.coord)
                tasks = c_ast.Compound([c_ast.Pragma("omp taskloop default(shared)", s.coord), s], s.coord)
                team = c_ast.Compound([c_ast.Pragma("omp parallel for schedule(static) default(shared)", s.coord),
                                       copy.deepcopy(s)], s.coord)
                return [c_ast.If(inside, tasks, team, s.coord)]
            return [s]
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
            if "spawn" in self.func_flags:
                return [c_ast.Compound([Raw("#pragma omp taskwait", s.coord, stmt=True), s], s.coord)]
            return [s]
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
            return [Raw("{\n#pragma omp taskwait\n}", s.coord, stmt=True)]
        r, chains = self.rank(s, s.coord)
        if r:
            return [self.array_stmt(s, r, chains)]
        return [self.rx(s, Env())]

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

    # ---- array notation statements ----------------------------------------------------------
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
            for n in _walk(st):
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
                for n in _walk(x):
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
        body = " ".join(f"{self.elem(st.lvalue, env)} {st.op} {self.elem(st.rvalue, env)};" for st in run)
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
                    f"__typeof__({rhs}) *{tmp} = malloc(sizeof(*{tmp}) * (size_t)({size}) + 1);",
                    f"if (!{tmp}) __cilkpp_fatal(\"{self.where(coord)}\", \"out of memory for a section temporary\");",
                    self.loops(idx, lens, f"{tmp}[{flat}] = {rhs};"),
                    self.loops(idx, lens, f"{lhs} {s.op} {tmp}[{flat}];"),
                    f"free({tmp});",
                ]
            else:
                lines = body_pre + [self.loops(idx, lens, f"{lhs} {s.op} {rhs};")]
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
            elif isinstance(x, (c_ast.Decl, c_ast.For, c_ast.While, c_ast.DoWhile, c_ast.Return, c_ast.Switch,
                                c_ast.Goto, c_ast.Break, c_ast.Continue, c_ast.Label)):
                raise self.err(x.coord, "under an array-section condition only expression statements "
                               "(and nested ifs) are allowed")
            else:
                rr, ch = self.rank(x, x.coord)
                if rr != r:
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
            return self.elem(x, env) + ";"

        body = render(s)
        return Raw("{\n" + "\n".join(pre + env.hoist + [self.loops(idx, lens, body)]) + "\n}", coord, stmt=True)

    # ---- _Cilk_spawn -------------------------------------------------------------------------
    def spawn(self, sp, lhs, coord):
        self.func_flags.update({"spawn", "par"})
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

    # ---- offload pragmas ---------------------------------------------------------------------
    def parse_expr(self, toks, coord):
        text = " ".join(t.text for t in toks)
        if not text.strip():
            raise self.err(coord, "empty expression in a clause")
        pre = "".join(f"typedef int {n};\n" for n in sorted(set(self.u.typedefs) | set(self.typedefs)))
        try:
            ast = c_parser.CParser().parse(pre + f"void __cilkpp_x(void) {{ ({text}); }}\n", "<clause>")
        except c_parser.ParseError as e:
            raise self.err(toks[0].coord(), f"cannot read the expression '{text}': {e}")
        return ast.ext[-1].body.block_items[0]

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
        res = {"target": "0", "xfers": [], "signal": None, "wait": [], "if": None, "mandatory": False}
        saw_target = False
        for name, tok, inner in self.clauses(info):
            if name not in allowed:
                if name in ("in", "out", "inout", "nocopy", "target", "signal", "wait", "if", "mandatory"):
                    raise self.err(tok.coord(), f"clause '{name}' does not go with #pragma {info.kind}")
                raise self.err(tok.coord(), f"unsupported clause '{name}' in #pragma {info.kind}")
            if name == "target":
                saw_target = True
                if not inner or inner[0].text != "mic":
                    raise self.err(tok.coord(), "target(mic) or target(mic:n) expected")
                if len(inner) > 1:
                    if inner[1].text != ":" or len(inner) < 3:
                        raise self.err(inner[1].coord(), "target(mic:n) expected")
                    res["target"] = gen(self.rx(self.parse_expr(inner[2:], tok.coord()), Env()))
            elif name == "mandatory":
                res["mandatory"] = True
            elif name in ("signal", "if"):
                if not inner:
                    raise self.err(tok.coord(), f"{name}(...) needs an expression")
                res[name] = gen(self.rx(self.parse_expr(inner, tok.coord()), Env()))
            elif name == "wait":
                for p in self.split(inner or [], ","):
                    res["wait"].append(gen(self.rx(self.parse_expr(p, tok.coord()), Env())))
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
                    if m.text not in ("length", "alloc_if", "free_if", "into", "align"):
                        raise self.err(m.coord(), f"unsupported modifier '{m.text}' (supported: length, alloc_if, "
                                       "free_if, into, align)")
                    if m.text == "into" and name != "in":
                        raise self.err(m.coord(), "into() goes with in() only")
                    mods[m.text] = (m, body)
                    k = e + 1
                for item in self.split(vars_part, ","):
                    if not item:
                        raise self.err(tok.coord(), f"empty variable in {name}()")
                    v = item[0]
                    if v.kind != "id":
                        raise self.err(v.coord(), f"a variable name expected in {name}(), got '{v.text}'")
                    length = mods.get("length")
                    if len(item) > 1:
                        # p[0:n] form
                        txt = [t.text for t in item[1:]]
                        parts = self.split(item[2:-1], ":") if txt[0] == "[" and txt[-1] == "]" else None
                        if not parts or len(parts) != 2:
                            raise self.err(item[1].coord(), f"{name}(): a variable or p[0:n] expected")
                        if " ".join(t.text for t in parts[0]) != "0":
                            raise self.err(item[1].coord(), f"{name}(): only sections starting at 0 are supported; use p[0:n]")
                        length = (item[1], parts[1])
                    kind, decl = self.resolve(v.text)
                    if kind is None or not isinstance(decl, c_ast.Decl):
                        raise self.err(v.coord(), f"'{v.text}' in {name}() is not a variable in scope")
                    res["xfers"].append({
                        "dir": name, "var": v.text, "tok": v, "decl": decl, "kind": kind,
                        "length": (gen(self.rx(self.parse_expr(length[1], length[0].coord()), Env()))
                                   if length else None),
                        "alloc_if": (gen(self.rx(self.parse_expr(mods["alloc_if"][1], mods["alloc_if"][0].coord()), Env()))
                                     if "alloc_if" in mods else "1"),
                        "free_if": (gen(self.rx(self.parse_expr(mods["free_if"][1], mods["free_if"][0].coord()), Env()))
                                    if "free_if" in mods else "1"),
                        "into": mods.get("into"),
                    })
        if not saw_target and "target" in allowed:
            raise self.err(info.coord, f"#pragma {info.kind} needs target(mic)")
        return res

    def xfer_entries(self, res, info, frame_vars):
        """C initialisers of off_xfer entries for the pointer/array clauses."""
        out = []
        dirs = {"in": "OFF_IN", "out": "OFF_OUT", "inout": "OFF_INOUT", "nocopy": "OFF_NOCOPY"}
        for x in res["xfers"]:
            t = x["decl"].type
            if not isinstance(t, (c_ast.PtrDecl, c_ast.ArrayDecl)):
                continue  # scalars travel in the frame
            v = gen(self.rx(c_ast.ID(x["var"], x["tok"].coord()), Env()))
            if x["length"] is not None:
                nbytes = f"(size_t)({x['length']}) * sizeof(*({v}))"
            elif isinstance(t, c_ast.ArrayDecl):
                nbytes = f"sizeof({v})"
            else:
                raise self.err(x["tok"].coord(), f"{x['dir']}({x['var']}): a pointer needs length(n)")
            into = "NULL"
            if x["into"]:
                m, body = x["into"]
                if len(body) != 1 or body[0].kind != "id":
                    raise self.err(m.coord(), "into() names one variable")
                kk, dd = self.resolve(body[0].text)
                if kk is None:
                    raise self.err(body[0].coord(), f"'{body[0].text}' in into() is not a variable in scope")
                into = f"(const void *)({gen(self.rx(c_ast.ID(body[0].text, None), Env()))})"
            flags = (f"{dirs[x['dir']]} | (({x['alloc_if']}) ? OFF_ALLOC_IF : 0) | "
                     f"(({x['free_if']}) ? OFF_FREE_IF : 0)")
            out.append((x, f"{{(const void *)({v}), {nbytes}, {flags}, 0, {into}}}"))
        return out

    def call_text(self, kernel, res, args, xfers, coord, pre=(), post=(), is_async=False):
        lines = list(pre)
        a = self.fresh("args")
        x = self.fresh("xf")
        lines.append(f"off_arg {a}[{max(1, len(args))}] = {{{', '.join(args) or 'OFF_ARG_NONE'}}};")
        lines.append(f"off_xfer {x}[{max(1, len(xfers))}] = {{{', '.join(xfers) or 'OFF_XFER_NONE'}}};")
        where = self.where(coord)
        for w in res["wait"]:
            lines.append(f"__cilkpp_wait((uintptr_t)({w}), \"{where}\");")
        use = res["if"] or "1"
        sig = f"(uintptr_t)({res['signal']})" if res["signal"] else "0"
        kern = f"\"{kernel}\"" if kernel else "NULL"
        lines.append(f"__cilkpp_call((long)({res['target']}), ({use}) != 0, {int(res['mandatory'])}, {kern}, "
                     f"{a}, {len(args)}, {x}, {len(xfers)}, {sig}, NULL, NULL, \"{where}\");")
        lines.extend(post)
        return Raw("{\n" + "\n".join(lines) + "\n}", coord, stmt=True)

    def offload_other(self, info):
        if info.kind == "offload_attribute":
            raise self.err(info.coord, "#pragma offload_attribute goes at file scope")
        if info.kind == "offload_wait":
            res = self.read_clauses(info, {"target", "wait"})
            if not res["wait"]:
                raise self.err(info.coord, "#pragma offload_wait needs wait(tag)")
            where = self.where(info.coord)
            return Raw("{\n" + "\n".join(f"__cilkpp_wait((uintptr_t)({w}), \"{where}\");" for w in res["wait"])
                       + "\n}", info.coord, stmt=True)
        res = self.read_clauses(info, {"target", "in", "out", "inout", "nocopy", "signal", "wait", "if", "mandatory"})
        for xx in res["xfers"]:
            if not isinstance(xx["decl"].type, (c_ast.PtrDecl, c_ast.ArrayDecl)):
                raise self.err(xx["tok"].coord(), "offload_transfer moves arrays and pointers only; "
                               f"'{xx['var']}' is a scalar")
        xf = [e for _, e in self.xfer_entries(res, info, [])]
        return self.call_text(None, res, [], xf, info.coord)

    def offload_block(self, info, body):
        res = self.read_clauses(info, {"target", "in", "out", "inout", "nocopy", "signal", "wait", "if", "mandatory"})
        coord = info.coord
        is_async = res["signal"] is not None
        # variables of the enclosing function the block uses
        used = []
        self._captures(body, used)
        named = {x["var"]: x for x in res["xfers"]}
        for v in named:  # named in clauses but not used: still transferred; globals named are captured
            if v not in [u for u, _ in used]:
                pass
        for x in res["xfers"]:
            if x["kind"] == "global" and x["var"] in [u for u, _ in used]:
                continue
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
            if not isinstance(x["decl"].type, (c_ast.PtrDecl, c_ast.ArrayDecl)):
                if name not in [f for f, _ in frame]:
                    frame.append((name, x["decl"]))
                if is_async and x["dir"] in ("out", "inout"):
                    raise self.err(x["tok"].coord(), f"{x['dir']}({name}): a scalar cannot come back from an "
                                   "asynchronous offload (signal); use a pointer with out()")
        if 1 + len(ptr_args) + (1 if self.shared_globals else 0) > 16:
            raise self.err(coord, f"this offload block needs {len(ptr_args)} pointer arguments; the runtime "
                           "passes at most 16 (OFF_MAX_ARGS) — group the arrays or use shared memory")
        k = self.fresh("offload")
        kname = f"{self.kprefix}_{k[9:]}_l{coord.line}"[:60]
        self.kernels.append(kname)
        fr = f"struct {k}_frame"
        # the outlined function and its kernel
        defs = []
        params = []
        if frame:
            members = []
            for name, decl in frame:
                t = copy.deepcopy(decl.type)
                td = decl_name_node(t)
                td.quals = [q for q in td.quals if q != "const"]
                members.append(type_text(t, name) + ";")
            defs.append(f"{fr} {{ {' '.join(members)} }};")
            params.append(f"{fr} *__cilkpp_f")
        for name, decl in ptr_args:
            t = decl.type
            if isinstance(t, c_ast.ArrayDecl):
                t = c_ast.PtrDecl([], copy.deepcopy(t.type))
            params.append(type_text(t, name))
        # lower the block as the body of the outlined function
        saved = (self.scopes, self.capture, self.capture_mode)
        self.scopes = [self.scopes[0], {}]
        self.capture = {}
        for name, decl in frame:
            self.capture[name] = (f"(__cilkpp_f->{name})", decl)
        for name, decl in ptr_args:
            self.scopes[1][name] = decl
        self.capture_mode = True
        comp = body if isinstance(body, c_ast.Compound) else c_ast.Compound([body], body.coord)
        comp = self.block(comp)
        self.scopes, self.capture, self.capture_mode = saved
        fn_text = Gen().visit(comp)
        defs_text = "\n".join(defs)
        self.pre.append(Raw(defs_text + f"\nstatic void {k}({', '.join(params) or 'void'})\n", coord, stmt=False))
        self.pre.append(Raw(fn_text, None))
        gl = 1 if self.shared_globals else 0
        pstr = ",".join((["__g:p"] if gl else []) + (["__f:p"] if frame else []) + [f"{n}:p" for n, _ in ptr_args])
        call_args_ = [f"args[{i + gl}].v.p" for i in range((1 if frame else 0) + len(ptr_args))]
        self.pre.append(Raw(
            f"OFF_KERNEL({kname}, \"{pstr}\")\n{{\n"
            + ("    __cilkpp_bind_globals(args[0].v.p);\n" if gl else "")
            + f"    {k}({', '.join(call_args_)});\n    __cilkpp_card_flush();\n    return OFF_OK;\n}}\n", None))
        # the call site
        pre, post, args = [], [], []
        if gl:
            args.append("off_ptr(__cilkpp_gtab)")
        xfers = []
        if frame:
            fv = self.fresh("frame")
            pre.append(f"{'static ' if is_async else ''}{fr} {fv};")
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
        xfers.extend(e for _, e in self.xfer_entries(res, info, frame))
        return self.call_text(kname, res, args, xfers, coord, pre, post, is_async)

    def _captures(self, body, used):
        """Variables of the enclosing function (or globals named... no) the block uses, in order."""
        scopes = [{}]
        seen = set()

        def inner_has(name):
            return any(name in s for s in scopes)

        def visit(n):
            if n is None:
                return
            if isinstance(n, c_ast.Compound):
                scopes.append({})
                for it in n.block_items or []:
                    visit(it)
                scopes.pop()
                return
            if isinstance(n, c_ast.For):
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


def _close(toks, k):
    """Index of the ')' closing toks[k] (len(toks) when never closed)."""
    d = 0
    while k < len(toks):
        d += toks[k].text == "("
        d -= toks[k].text == ")"
        if d == 0:
            return k
        k += 1
    return k


PURE = {"expf", "exp", "logf", "log", "sqrtf", "sqrt", "fabsf", "fabs", "tanhf", "tanh", "sinf", "sin",
        "cosf", "cos", "powf", "pow", "fmaxf", "fmax", "fminf", "fmin", "floorf", "floor", "ceilf", "ceil",
        "copysignf", "copysign", "__sec_implicit_index", "__cilkpp_sec"}


def _walk(n):
    yield n
    for _, ch in n.children():
        yield from _walk(ch)


def _outer_ref(root, ref):
    """True if ref is the outermost ArrayRef of its chain (not the .name of another ArrayRef)."""
    for n in _walk(root):
        if isinstance(n, c_ast.ArrayRef) and n.name is ref:
            return False
    return True


def _norm_text(n):
    """C text of n with section ids blanked, so equal sections compare equal."""
    n = copy.deepcopy(n)

    def walk(x):
        if is_call(x, "__cilkpp_sec"):
            x.args.exprs[0] = c_ast.Constant("int", "0")
        for _, ch in x.children():
            walk(ch)

    walk(n)
    return gen(n)


def _base_text(n):
    while isinstance(n, c_ast.ArrayRef):
        n = n.name
    if isinstance(n, (c_ast.ID, c_ast.StructRef)):
        return gen(n)
    return None
