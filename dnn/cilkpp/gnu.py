"""GNU C in the AST: what the front end (front.py) and the generator (lower/nodes.py) share about
the nodes of pycparserext's GNU parser."""

from pycparser import c_ast


class FuncDeclAttrs(c_ast.FuncDecl):
    """A function type with GNU attributes or an asm label after its parameters (the GNU
    parser's FuncDeclExt, as a FuncDecl so the lowering treats it like any function type)."""

    __slots__ = ("attributes", "asm")

    def __init__(self, args, type, coord=None, attributes=None, asm=None):
        super().__init__(args, type, coord)
        self.attributes = attributes
        self.asm = asm
