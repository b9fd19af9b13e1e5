"""AST pieces every part of the lowering shares: generated-text nodes, the C generator with
``#line`` directives, and small helpers over pycparser's nodes (names, types, parameters)."""

from __future__ import annotations

import copy

from pycparser import c_ast
from pycparserext.ext_c_generator import GnuCGenerator
from pycparserext.ext_c_parser import Asm, FuncDeclExt

from ..gnu import FuncDeclAttrs


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


class Gen(GnuCGenerator):
    """pycparserext's generator (GNU C) + Raw nodes + ``#line`` directives before statements."""

    def __init__(self, lines=True):
        super().__init__()
        self.lines = lines

    def _generate_type(self, n, modifiers=None, emit_declname=True):
        if isinstance(n, FuncDeclAttrs):
            n = FuncDeclExt(n.args, n.type, n.attributes or c_ast.ExprList([]), n.asm, n.coord)
        return super()._generate_type(n, modifiers, emit_declname)

    def visit_Raw(self, n):
        if not n.stmt:
            return one_line(n.text)
        return render_raw(n.text, n.coord if self.lines else None)

    def _generate_stmt(self, n, add_indent=False):
        s = super()._generate_stmt(n, add_indent)
        if isinstance(n, Raw) and n.stmt:
            return render_raw(n.text, n.coord if self.lines else None) + "\n"
        if isinstance(n, Asm):  # an asm statement: the GNU generator leaves out its ';'
            s = s.rstrip("\n") + ";\n"
        if self.lines and n.coord is not None and not isinstance(n, (c_ast.Compound, c_ast.Pragma)):
            return line_directive(n.coord) + s
        return s


class Env:
    """Element context: index variables of the current nest and what each section becomes."""

    def __init__(self, idx=None, sec_map=None, hoist=None, once=False):
        self.idx = idx or []
        self.sec_map = sec_map or {}
        self.hoist = hoist  # list of statements evaluated once before the nest, or None
        self.once = once  # scalar calls are evaluated once per statement, into hoist


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


def no_directives(text):
    """Generated text that may stand inside a macro's argument: #pragma lines become _Pragma."""
    out = []
    for line in text.split("\n"):
        st = line.strip()
        if st.startswith("#pragma "):
            body = st[len("#pragma "):].replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'_Pragma("{body}")')
        else:
            out.append(line)
    return "\n".join(out)


def one_line(text):
    """An expression's generated text (a reduction's statement expression) on the line of the
    statement that holds it, so that gcc's messages about it name the user's line: #pragma lines
    become _Pragma. Text with other directives or comments stays as it is."""
    if "\n" not in text or "//" in text or "/*" in text:
        return text
    lines = no_directives(text).split("\n")
    if any(ln.strip().startswith("#") for ln in lines):
        return text
    return " ".join(ln.strip() for ln in lines if ln.strip())


_plain = Gen(lines=False)


def gen(node):
    """C text of node, without #line directives."""
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
    if isinstance(node, c_ast.UnaryOp) and node.op in ("-", "+"):
        v = const_int(node.expr)
        return None if v is None else (-v if node.op == "-" else v)
    if isinstance(node, c_ast.BinaryOp) and node.op in _FOLD:
        a, b = const_int(node.left), const_int(node.right)
        if a is None or b is None or (node.op in ("/", "%") and b == 0):
            return None
        return _FOLD[node.op](a, b)
    return None


# integer constant expressions folded by const_int (C's truncating division)
_FOLD = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
         "/": lambda a, b: int(a / b), "%": lambda a, b: a - b * int(a / b),
         "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b}


def rebuild(node, fn):
    """Apply fn to every direct child (in place) and return node."""
    # pycparserext's nodes keep their fields in __dict__ or in __slots__ of several classes
    slots = [s for k in type(node).__mro__ for s in getattr(k, "__slots__", ())]
    for name in dict.fromkeys(slots + list(getattr(node, "__dict__", {}))):
        if name in ("coord", "__weakref__"):
            continue
        val = getattr(node, name, None)
        if isinstance(val, c_ast.Node):
            setattr(node, name, fn(val))
        elif isinstance(val, list):
            setattr(node, name, [fn(v) if isinstance(v, c_ast.Node) else v for v in val])
    return node


def without_attributes(t):
    """A copy of type t without GNU attributes on its declarators (aligned(64) on an array does
    not go with the pointer parameter it becomes)."""
    t = copy.deepcopy(t)
    for n in walk(t):
        if getattr(n, "attributes", None) is not None and isinstance(n, (c_ast.TypeDecl, c_ast.ArrayDecl)):
            n.attributes = c_ast.ExprList([])
    return t


def walk(n):
    """n and every node below it, depth first."""
    yield n
    for _, ch in n.children():
        yield from walk(ch)


# ---- declarations and types ----------------------------------------------------------------------

def decl_name_node(t):
    """The TypeDecl at the bottom of a type, which holds the declared name."""
    while not isinstance(t, c_ast.TypeDecl):
        t = t.type
    return t


def rename_type(t, name):
    t = copy.deepcopy(t)
    decl_name_node(t).declname = name
    return t


def rename_decl(decl, name):
    """Rename a declaration in place (its Decl and the TypeDecl under it)."""
    decl.name = name
    decl_name_node(decl.type).declname = name


def type_text(t, name):
    """C text declaring `name` with type t."""
    return gen(c_ast.Decl(name, [], [], [], [], rename_type(t, name), None, None))


def named_type(t, name):
    """A copy of type t declaring `name` (None: an abstract type name for a cast); arrays decay."""
    t = copy.deepcopy(t)
    if isinstance(t, c_ast.ArrayDecl):
        t = c_ast.PtrDecl([], t.type)
    decl_name_node(t).declname = name
    if name is None:
        return c_ast.Typename(None, [], None, t)
    return t


def return_decl(decl, name):
    """A Decl of `name` with the return type of the function that decl declares."""
    rd = rename_type(decl.type.type, name)
    return c_ast.Decl(name, [], [], [], [], rd, None, None)


def params(fdecl):
    """[(name, type node)] of a FuncDecl; [] for (void); None for variadic or unnamed ones."""
    out = []
    if fdecl.args is None:
        return out
    for p in fdecl.args.params:
        if isinstance(p, c_ast.EllipsisParam):
            return None
        if isinstance(p, c_ast.Typename):
            if gen(p) == "void":
                return []
            return None
        out.append((p.name, p.type))
    return out
