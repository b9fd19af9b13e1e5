"""_Cilk_shared functions and globals, and ``_Cilk_offload f(x)`` (the virtual shared memory model).

``_Cilk_offload f(x)`` calls a generated host stub that packs the arguments into off_arg[] and
calls the kernel of ``f`` (which must be ``_Cilk_shared``). The file that defines a
``_Cilk_shared`` function exports its kernel: ``cilkpp_f`` for an external function (so an
offload from another translated file, or a host program calling the runtime, reaches it by
name), ``cilkpp_<file>_f`` for a static one. A function whose parameters cannot cross (structs
by value) is exported only if something offloads it, and then it is an error.
``_Cilk_shared`` globals live in the shared arena: each becomes a pointer ``__cilkpp_g_<name>``
(external for an external global, so other files reach it through ``extern _Cilk_shared``)
allocated and initialised at start-up by the file that defines it, which then tells the card
where they are (its bind kernel, emit.py).
Globals that are not ``_Cilk_shared`` have a separate copy on the card (as on the real device).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from pycparser import c_ast

from ..front import ARITH_TYPEDEFS, FLOAT_TYPEDEFS, CilkppError, error_at
from .nodes import Env, Raw, call_args, decl_name_node, gen, is_call, named_type, params, rename_decl, return_decl
from .offload import kernel_text

FLOAT_NAMES = {"float", "double"}
INT_NAMES = {"char", "short", "int", "long", "unsigned", "signed", "_Bool"}
_ARG_MAKERS = {"p": "off_ptr", "i": "off_i64", "d": "off_f64"}


@dataclass
class Shared:
    """What a file marks _Cilk_shared: function names, and global name -> its Decl."""

    funcs: set = field(default_factory=set)
    globals: dict = field(default_factory=dict)  # defined here
    externs: dict = field(default_factory=dict)  # declared extern here (defined by another file)


def find_shared(unit):
    """The _Cilk_shared functions and globals of a unit: marked one by one, or declared inside
    #pragma offload_attribute(push, _Cilk_shared) ... (pop)."""
    shared = Shared()
    stack = []
    ast = unit.ast
    for ext in ast.ext:
        if isinstance(ext, c_ast.Pragma) and ext.string.startswith("cilkpp "):
            _offload_attribute(unit.pragmas[int(ext.string.split()[1])], stack)
            continue
        decl = ext.decl if isinstance(ext, c_ast.FuncDef) else ext
        if not isinstance(decl, c_ast.Decl) or not decl.name:
            continue
        if not (decl.name in unit.shared_names or "_Cilk_shared" in stack):
            continue
        if isinstance(decl.type, c_ast.FuncDecl):
            shared.funcs.add(decl.name)
        elif "extern" in decl.storage:
            shared.externs.setdefault(decl.name, decl)
        elif "typedef" not in decl.storage:
            shared.globals[decl.name] = decl
    if stack:
        raise error_at(ast.ext[-1].coord if ast.ext else None, "offload_attribute(push, ...) without a pop")
    return shared


def _offload_attribute(info, stack):
    """Apply one file-scope pragma (only offload_attribute push/pop may stand there) to stack."""
    if info.kind != "offload_attribute":
        raise error_at(info.coord, f"#pragma {info.kind} outside a function")
    txt = " ".join(t.text for t in info.toks)
    m = re.fullmatch(r"\(\s*push\s*,\s*(.*)\)", txt)
    if m:
        what = m.group(1).replace(" ", "")
        if what not in ("target(mic)", "_Cilk_shared"):
            raise error_at(info.coord, f"offload_attribute(push, {m.group(1)}): only target(mic) and "
                           "_Cilk_shared are supported")
        stack.append(what)
    elif re.fullmatch(r"\(\s*pop\s*\)", txt):
        if not stack:
            raise error_at(info.coord, "offload_attribute(pop) without a push")
        stack.pop()
    else:
        raise error_at(info.coord, "offload_attribute(push, target(mic) | _Cilk_shared) or (pop) expected")


class SharedFunctions:
    """Lowerer methods for _Cilk_shared functions and globals (state: the Lowerer's
    `shared_funcs`, `shared_globals`, `stub_needed`, `kernels`)."""

    def offload_call(self, n, env):
        """`_Cilk_offload[_to(t)] f(args)` -> a call of f's host stub."""
        oid, target, call = call_args(n)
        coord = self.u.offloads[int(oid.value)]
        if not isinstance(call, c_ast.FuncCall):
            raise self.err(coord, "_Cilk_offload must call a function")
        direct = is_call(call) and call.name.name in self.shared_funcs
        pointed = None if direct else self._pointed_function(call.name)
        if pointed is not None:
            return self._offload_through_pointer(call, pointed, target, env, coord)
        f = gen(call.name)
        if not is_call(call) or f not in self.shared_funcs:
            raise self.err(coord, f"_Cilk_offload {f}(...): '{f}' is not a _Cilk_shared function (mark it "
                           "_Cilk_shared or declare it inside #pragma offload_attribute(push, _Cilk_shared))")
        self.stub_needed.add(f)
        args = [self.rx(x, env) for x in call_args(call)]
        tgt = self.rx(target, env)
        return Raw(f"__cilkpp_offcall_{f}({gen(tgt)}, \"{self.where(coord)}\"" +
                   "".join(", " + gen(x) for x in args) + ")", coord)

    def _pointed_function(self, callee):
        """The FuncDecl that a function pointer expression (fp, (*fp), table[i], through
        typedefs) calls, or None."""
        if isinstance(callee, c_ast.UnaryOp) and callee.op == "*":
            callee = callee.expr
        depth = 0
        while isinstance(callee, c_ast.ArrayRef):
            callee, depth = callee.name, depth + 1
        decl = self.resolve(callee.name)[1] if isinstance(callee, c_ast.ID) else None
        if not isinstance(decl, c_ast.Decl):
            return None
        t = decl.type
        for _ in range(depth):
            t = self._through_typedefs(t)
            if not isinstance(t, (c_ast.ArrayDecl, c_ast.PtrDecl)):
                return None
            t = t.type
        t = self._through_typedefs(t)
        f = self._through_typedefs(t.type) if isinstance(t, c_ast.PtrDecl) else None
        return f if isinstance(f, c_ast.FuncDecl) else None

    def _through_typedefs(self, t):
        while (isinstance(t, c_ast.TypeDecl) and isinstance(t.type, c_ast.IdentifierType)
               and len(t.type.names) == 1 and t.type.names[0] in self.typedefs):
            t = self.typedefs[t.type.names[0]]
        return t

    def _offload_through_pointer(self, call, ftype, target, env, coord):
        """`_Cilk_offload fp(args)`: a stub for fp's type (before the function) that finds the
        kernel of the _Cilk_shared function fp points to when it is called."""
        stub = self.fresh("offcallp")
        fd = copy.deepcopy(ftype)
        for i, p in enumerate(fd.args.params if fd.args else []):
            if isinstance(p, c_ast.Typename) and gen(p) != "void":  # (double, double): name them
                fd.args.params[i] = c_ast.Decl(f"__a{i}", [], [], [], [], named_type(p.type, f"__a{i}"), None, None)
        decl = c_ast.Decl(stub, [], [], [], [], fd, None, None)
        self.pre.append(self.host_stub(stub, decl, through_pointer=True))
        fn = self.rx(call.name, env)
        args = [self.rx(x, env) for x in call_args(call)]
        return Raw(f"__cilkpp_offcall_{stub}({gen(self.rx(target, env))}, \"{self.where(coord)}\", "
                   f"(const void *)({gen(fn)})" + "".join(", " + gen(x) for x in args) + ")", coord)

    def shared_global(self, ext):
        """A _Cilk_shared global's definition -> its initial value under another name, and the
        pointer that the program's start allocates in the shared arena (see emit.py)."""
        if "extern" in ext.storage:
            t = c_ast.PtrDecl([], copy.deepcopy(ext.type))
            decl_name_node(t).declname = f"__cilkpp_g_{ext.name}"
            return [Raw(f"extern {gen(c_ast.Decl(None, [], [], [], [], t, None, None))};\n", ext.coord)]
        init_name = f"__cilkpp_init_{ext.name}"
        d = copy.deepcopy(ext)
        rename_decl(d, init_name)
        link = "static " if "static" in ext.storage else ""
        d.storage = ["static"]
        if d.init is not None:
            self.no_sections(d.init, "an initialiser")
            d.init = self.rx(d.init, Env())
            if "__cilkpp_g_" in gen(d.init):  # &another_shared: an address known once it is allocated
                self.shared_late_inits.append((ext.name, gen(d.init)))
                d.init = None
        return [d, Raw(f"{link}__typeof__({init_name}) *__cilkpp_g_{ext.name};\n", ext.coord)]

    def entry_points(self, first_decl, def_index):
        """{position in the output: [items to put after it]}: a host stub after the first
        declaration of each offloaded function, a kernel after the definition of every
        _Cilk_shared function this file defines and can export."""
        inserts = {}
        for f in sorted(self.stub_needed):
            idx, decl = first_decl[f]
            inserts.setdefault(idx, []).append(self.host_stub(f, decl))
        for f in sorted(self.shared_funcs & set(def_index)):
            k = self.kernel(f, first_decl[f][1], required=f in self.stub_needed)
            if k is not None:
                inserts.setdefault(def_index[f], []).append(k)
        return inserts

    def kernel_name(self, f, decl):
        """The kernel that runs _Cilk_shared function f: cilkpp_f for an external function, so a
        _Cilk_offload in any translated file reaches the one kernel the defining file exports (and
        a host driver can call it by name); a static function's kernel is private to its file."""
        if "static" in decl.storage:
            return f"{self.kprefix}_{f}"[:60]
        return f"cilkpp_{f}"[:60]

    def arg_kind(self, t, coord, what):
        """'p', 'i' or 'd' for a parameter type; error for what cannot cross as an off_arg."""
        if isinstance(t, (c_ast.PtrDecl, c_ast.ArrayDecl)):
            return "p"
        if isinstance(t, c_ast.TypeDecl):
            ty = t.type
            if isinstance(ty, c_ast.Enum):
                return "i"
            if isinstance(ty, (c_ast.Struct, c_ast.Union)):
                return "s"
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
        raise self.err(coord, f"{what}: only scalars, pointers, structs and unions can be passed to an "
                       "offloaded function (this type is unknown here)")

    def _signature(self, f, decl):
        ps = params(decl.type)
        if ps is None:
            raise self.err(decl.coord, f"_Cilk_offload {f}: variadic or unnamed parameters are not supported")
        kinds = [self.arg_kind(pt, decl.coord, f"parameter {i + 1} of '{f}'") for i, (pn, pt) in enumerate(ps)]
        return ps, kinds, gen(decl.type.type).strip() == "void"

    def host_stub(self, f, decl, through_pointer=False):
        """__cilkpp_offcall_f(target, where, args...): the host side of `_Cilk_offload f(args)`;
        through_pointer: (target, where, fn, args...), calling the kernel of function fn."""
        ps, kinds, void = self._signature(f, decl)
        rtype = copy.deepcopy(decl.type.type)
        ptexts = [gen(c_ast.Decl(f"__p{i}", [], [], [], [], named_type(pt, f"__p{i}"), None, None))
                  for i, (pn, pt) in enumerate(ps)]
        # a struct or union crosses by value as Intel's did: a bitwise copy, here in shared memory for
        # the call's length (the card reads it there; the caller's own copy stays untouched)
        copies = [i for i, k in enumerate(kinds) if k == "s"]
        args = [f"off_ptr(__s{i})" if k == "s" else f"{_ARG_MAKERS[k]}(__p{i})" for i, k in enumerate(kinds)]
        decl_name_node(rtype).declname = f"__cilkpp_offcall_{f}"
        head = gen(c_ast.FuncDecl(c_ast.ParamList([]), rtype))
        head = head.replace(f"__cilkpp_offcall_{f}()", f"__cilkpp_offcall_{f}(long __target, const char *__where"
                            + (", const void *__fn" if through_pointer else "") + "".join(", " + p for p in ptexts) + ")")
        lines = [f"__attribute__((unused)) static {head}", "{"]
        for i in copies:
            lines += [f"    void *__s{i} = _Offload_shared_malloc(sizeof __p{i});",
                      f"    if (!__s{i}) __cilkpp_fatal(__where, \"no Cilk shared memory left to pass argument {i + 1} by value\");",
                      f"    memcpy(__s{i}, &__p{i}, sizeof __p{i});"]
        lines += [f"    off_arg __a[{max(1, len(args))}] = {{{', '.join(args) or 'OFF_ARG_NONE'}}};",
                 "    double __res[OFF_MAX_RESULTS]; int __nres = 0;"]
        if through_pointer:
            lines.append("    const struct __cilkpp_kernel_name *__k = __cilkpp_kernel_of(__fn, __where);")
            kernel, device = "__k->kernel", "__k->device"
        else:
            kernel, device = f'"{self.kernel_name(f, decl)}"', f'"{device_kernel(self.kernel_name(f, decl))}"'
        lines.append(f"    __cilkpp_call(__target, 1, 0, {kernel}, __a, {len(args)}, NULL, 0, 0, "
                     f"__res, &__nres, NULL, {device}, __where);")
        lines += [f"    _Offload_shared_free(__s{i});" for i in copies]
        if not void:
            lines += [f"    {gen(return_decl(decl, '__ret'))};",
                      "    _Static_assert(sizeof __ret <= sizeof __res, \"return value too large\");",
                      "    memcpy(&__ret, __res, sizeof __ret);", "    return __ret;"]
        else:
            lines += ["    (void)__nres;"]
        lines.append("}")
        return Raw("\n".join(lines) + "\n", decl.coord)

    def kernel(self, f, decl, required):
        """The kernel that runs f on the card. A function nobody offloads here is still exported
        when its parameters can cross (required=False: otherwise no kernel, and no error)."""
        try:
            ps, kinds, void = self._signature(f, decl)
        except CilkppError:
            if required:
                raise
            return None
        kname = self.kernel_name(f, decl)
        self.kernels.append(kname)
        self.function_kernels[f] = kname
        pstr = ",".join([f"{pn or f'a{i}'}:{'p' if k == 's' else k}" for i, ((pn, _), k) in enumerate(zip(ps, kinds))])
        conv = [f"*({gen(named_type(pt, None))} *)args[{i}].v.p" if k == "s" else
                f"({gen(named_type(pt, None))})args[{i}].v.{k}" for i, ((pn, pt), k) in enumerate(zip(ps, kinds))]
        if void:
            body = [f"    {f}({', '.join(conv)});"]
        else:
            body = [f"    {gen(return_decl(decl, '__ret'))} = {f}({', '.join(conv)});",
                    "    _Static_assert(sizeof __ret <= sizeof ctx->result, \"return value too large\");",
                    "    memcpy(ctx->result, &__ret, sizeof __ret);",
                    "    ctx->nresult = (int)((sizeof __ret + sizeof(double) - 1) / sizeof(double));"]
        # its device kernel: the card learns the device number a _Cilk_offload_to(n) named
        dev = (f'OFF_KERNEL({device_kernel(kname)}, "dev:i")\n{{\n    __cilkpp_device = (int)args[0].v.i;\n'
               "    return OFF_OK;\n}\n")
        return Raw(kernel_text(kname, pstr, body) + dev, decl.coord)


def device_kernel(kname):
    """The kernel that tells the card which device a call of kernel kname is on."""
    return kname[:55] + "__dev"
