"""Lowering: Cilk Plus constructs in a pycparser AST -> plain C on dnn's offload runtime.

One ``Lowerer`` walks the unit (walk.py) and is made of one part per kind of construct, each a
mixin of methods over the state the Lowerer's ``__init__`` sets up:

* Array Notation — sections.py (sections in expressions, reductions) and section_statements.py
  (section assignments and ifs, loop fusion, overlap);
* Cilk keywords — keywords.py (``_Cilk_spawn``, ``_Cilk_sync``, ``_Cilk_for``);
* offload — clauses.py (reading clauses), offload.py (``#pragma offload`` blocks outlined into
  kernels, ``offload_transfer``, ``offload_wait``) and shared.py (``_Cilk_shared`` functions and
  globals, their kernels, and the host stubs of ``_Cilk_offload``);
* nodes.py — what they all share: Raw (generated text in the AST), the generator, AST helpers.

A new construct is a method in the part it belongs to, dispatched from walk.py (``stmt`` or
``rx``); what it needs to remember across the unit is an attribute set in ``Lowerer.__init__``.

Mixins rather than helper objects: the parts call each other throughout one recursive walk (an
offload block is lowered as a block, a section's length as an expression that may offload) over
one state (scopes, fresh names, what goes before the current function), so each part would
otherwise hold the Lowerer and call back through it. Only ``Lowerer.__init__`` creates state.
``lower()`` returns a ``Program``; emit.py turns it into text.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from pycparser import c_ast

from .clauses import Clauses
from .keywords import Keywords
from .nodes import Env, Raw, params, rename_decl
from .nodes import walk as all_nodes
from .offload import Offload
from .section_statements import SectionStatements
from .sections import Sections
from .shared import SharedFunctions, find_shared
from .walk import Walk

__all__ = ["Lowerer", "Program", "find_shared"]


@dataclass
class Program:
    """A lowered unit: top-level items in output order (AST nodes and Raw text), the names of its
    _Cilk_shared globals, its renamed main (or None), and whether it needs the offload runtime."""

    items: list
    shared_globals: list
    main: c_ast.FuncDef | None
    runtime: bool
    kernel_prefix: str = "cilkpp"
    offloads: bool = False  # it has kernels, offloads or _Cilk_shared globals: the program needs its card
    shared_functions: list = field(default_factory=list)  # [(name, kernel or None)]: the _Cilk_shared
    # functions defined here; their host addresses name the card's copies and kernels (emit.py)
    shared_late_inits: list = field(default_factory=list)  # [(global, initialiser)] run once every
    # file's shared globals are allocated (they take another's address)


class Lowerer(Walk, Sections, SectionStatements, Keywords, Clauses, Offload, SharedFunctions):
    def __init__(self, unit, shared, kernel_prefix, captures=None):
        """unit: front.read_unit's result; shared: find_shared(unit); kernel_prefix: the name of
        this file's private kernels (cilkpp_<file>); captures: kernel name -> the variables its
        block carries (read, then updated: see translate)."""
        self.u = unit
        # struct / union tag -> its definition (from this file: headers are not parsed)
        self.tags = {n.name: n for n in all_nodes(unit.ast) if isinstance(n, (c_ast.Struct, c_ast.Union))
                     and n.name and n.decls is not None}
        self.captures_by_kernel = {} if captures is None else captures
        self.local_types_out = set()  # ids of function-local type declarations repeated at file scope
        self.kprefix = kernel_prefix
        self.shared_funcs = set(shared.funcs)
        self.shared_globals = {**shared.externs, **shared.globals}  # name -> Decl, renamed where used
        self.shared_defs = list(shared.globals)  # allocated by this file
        self.shared_late_inits = []  # [(name, C initialiser)] that name other shared globals
        self.n = 0  # counter of fresh names
        self.scopes = [{}]  # [file scope, enclosing blocks...]: name -> Decl
        self.typedefs = {}  # user typedef name -> type node
        self.capture = {}  # name -> (replacement text, decl) inside an outlined offload block
        self.capture_mode = False  # lowering an outlined #pragma offload block
        self.spawns = False  # the current function spawns
        self.sync_points = []  # its taskwaits (Raw), made conditional if it spawns
        self.spawn_calls = []  # its spawns (Raw, callee name)
        self.split_funcs = set()  # functions split so far (their bodies can be called directly)
        self.pre = []  # Raw items to put before the current function (outlined offload blocks)
        self.stub_needed = set()  # functions some _Cilk_offload calls: they get a host stub
        self.kernels = []  # names of generated kernels
        self.function_kernels = {}  # _Cilk_shared function defined here -> its kernel
        self.grainsize = None  # C text of the grainsize of the _Cilk_for being lowered, or None
        # the reduction clauses of a `#pragma simd` written before the _Cilk_for being lowered
        self.loop_reductions = ""
        self.macro_args = 0  # > 0 while lowering the arguments of a call to an undeclared name (a macro)

    def lower(self):
        """Lower every file-scope item; returns the Program."""
        out = []
        first_decl = {}  # name -> (position in out, copy of its first declaration)
        def_index = {}  # function name -> position of its definition in out
        main = None
        for ext in self.u.ast.ext:
            if isinstance(ext, c_ast.Pragma) and ext.string.startswith("cilkpp "):
                continue  # offload_attribute: read by find_shared
            if isinstance(ext, c_ast.Typedef):
                self.declare(ext)
                out.append(ext)
            elif isinstance(ext, c_ast.Decl):
                if ext.name:
                    first_decl.setdefault(ext.name, (len(out), copy.deepcopy(ext)))
                out.extend(self._file_decl(ext))
            elif isinstance(ext, c_ast.FuncDef):
                name = ext.decl.name
                orig_decl = copy.deepcopy(ext.decl)
                out.extend(self._function(ext))
                if name == "main":
                    main = ext
                first_decl.setdefault(name, (len(out) - 1, orig_decl))
                def_index[name] = len(out) - 1
            else:
                out.append(ext)
        inserts = self.entry_points(first_decl, def_index)
        items = []
        for i, item in enumerate(out):
            items.append(item)
            items.extend(inserts.get(i, []))
        runtime = bool(self.kernels or self.shared_globals or main is not None or self.u.pragmas)
        offloads = bool(self.kernels or self.shared_globals or self.stub_needed or
                        any(p.kind.startswith("offload") and p.kind != "offload_attribute"
                            for p in self.u.pragmas.values()))
        shared_functions = [(f, self.function_kernels.get(f)) for f in sorted(self.shared_funcs & set(def_index))]
        runtime = runtime or bool(shared_functions)
        return Program(items, self.shared_defs, main, runtime, self.kprefix, offloads, shared_functions,
                       self.shared_late_inits)

    def _file_decl(self, ext):
        self.declare(ext)
        if ext.name in self.shared_globals:
            return self.shared_global(ext)
        if ext.init is not None:
            self.no_sections(ext.init, "an initialiser")
            ext.init = self.rx(ext.init, Env())
        return [ext]

    def _function(self, fd):
        """A function definition -> [what its offload blocks outlined, the function (split when
        it spawns)]; main is renamed __cilkpp_user_main and left out of the card build."""
        self.declare(fd.decl)
        self.spawns = False
        self.sync_points, self.spawn_calls = [], []
        self.pre = []
        _name_the_function(fd)
        _prototype_form(fd)
        self.scopes.append({pname: c_ast.Decl(pname, [], [], [], [], ptype, None, None)
                            for pname, ptype in params(fd.decl.type) or [] if pname})
        fd.body = self.block(fd.body)
        self.scopes.pop()
        out = list(self.pre)
        is_main = fd.decl.name == "main"
        if is_main:
            rename_decl(fd.decl, "__cilkpp_user_main")
            if "static" not in fd.decl.storage:
                fd.decl.storage = ["static"] + fd.decl.storage
            out.append(Raw("#ifndef DNN_CARD_BUILD\n", None))
        out.extend(self.split_parallel(fd) if self.spawns else [fd])
        if is_main:
            out.append(Raw("#endif /* DNN_CARD_BUILD */\n", None))
        return out


def _name_the_function(fd):
    """__func__ (and GNU's __FUNCTION__, __PRETTY_FUNCTION__) become the function's name as the
    user wrote it: main is renamed, and offload blocks and spawning bodies move into functions
    of their own."""
    names = ("__func__", "__FUNCTION__", "__PRETTY_FUNCTION__")
    literal = f'"{fd.decl.name}"'
    for n in all_nodes(fd.body):
        for attr in getattr(type(n), "__slots__", ()):
            v = getattr(n, attr, None)
            if isinstance(v, c_ast.ID) and v.name in names:
                setattr(n, attr, c_ast.Constant("string", literal, v.coord))
            elif isinstance(v, list):
                v[:] = [c_ast.Constant("string", literal, x.coord) if isinstance(x, c_ast.ID) and x.name in names
                        else x for x in v]


def _prototype_form(fd):
    """An old-style definition `int f(a, b) int a; double b; {...}` in prototype form (what the
    lowering reads: parameters with types); a parameter without a declaration is an int."""
    ft = fd.decl.type
    if not fd.param_decls or not isinstance(ft, c_ast.FuncDecl) or ft.args is None:
        return
    decls = {d.name: d for d in fd.param_decls}
    ps = []
    for p in ft.args.params:
        if isinstance(p, c_ast.ID):
            p = decls.get(p.name) or c_ast.Decl(p.name, [], [], [], [], c_ast.TypeDecl(
                p.name, [], None, c_ast.IdentifierType(["int"])), None, None, coord=p.coord)
        ps.append(p)
    ft.args.params = ps
    fd.param_decls = None
