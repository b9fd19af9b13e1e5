"""What the Cilk Plus specification asks of a _Cilk_for's form, checked before it is lowered.

The initialisation names one control variable (declared there, of an integer or pointer type, or
assigned there); the condition compares it with <, <=, >, >= or !=; the increment is ++, --, +=
or -= of it; the body does not assign it, and no break, return or goto leaves the body. Each
refusal points at the offending part.
"""

from __future__ import annotations

from pycparser import c_ast

from .nodes import walk

_FLOATING = {"float", "double"}


def check_cilk_for(s, err):
    """Raise err(coord, message) at the first rule s (a For marked _Cilk_for) breaks."""
    var = _control_variable(s, err)
    cond = s.cond
    if not (isinstance(cond, c_ast.BinaryOp) and cond.op in ("<", "<=", ">", ">=", "!=")):
        raise err(cond.coord if cond is not None else s.coord,
                  "_Cilk_for: the condition must compare the control variable with <, <=, >, >= or !=")
    if var is not None and not (_is_var(cond.left, var) or _is_var(cond.right, var)):
        raise err(cond.coord, f"_Cilk_for: the condition must compare the control variable '{var}'")
    nxt = s.next
    if not ((isinstance(nxt, c_ast.UnaryOp) and nxt.op in ("++", "--", "p++", "p--"))
            or (isinstance(nxt, c_ast.Assignment) and nxt.op in ("+=", "-="))):
        raise err(nxt.coord if nxt is not None else s.coord,
                  "_Cilk_for: the increment must be ++, --, += or -= of the control variable")
    changed = nxt.expr if isinstance(nxt, c_ast.UnaryOp) else nxt.lvalue
    if var is not None and not _is_var(changed, var):
        raise err(nxt.coord, f"_Cilk_for: the increment must change the control variable '{var}'")
    if s.stmt is None:
        return
    bad = _leaves(s.stmt, False, _labels(s.stmt))
    if bad is not None:
        what = {c_ast.Return: "return", c_ast.Break: "break", c_ast.Goto: "goto"}[type(bad)]
        raise err(bad.coord, f"_Cilk_for: a {what} statement may not leave the loop body")
    shadowed = any(isinstance(n, c_ast.Decl) and n.name == var for n in walk(s.stmt))
    if var is not None and not shadowed:
        for n in walk(s.stmt):
            if _assigns(n, var):
                raise err(n.coord, f"_Cilk_for: the body may not modify the control variable '{var}'")


def _control_variable(s, err):
    """The name of the control variable (None when the form leaves it unknown to this check)."""
    init = s.init
    if isinstance(init, c_ast.DeclList):
        if len(init.decls) != 1:
            raise err(init.decls[1].coord, "_Cilk_for: the initialisation must declare one control variable")
        d = init.decls[0]
        if d.init is None:
            raise err(d.coord, f"_Cilk_for: the control variable '{d.name}' must be initialised")
        t = d.type
        if isinstance(t, c_ast.TypeDecl) and isinstance(t.type, c_ast.IdentifierType) \
                and _FLOATING & set(t.type.names):
            raise err(d.coord, f"_Cilk_for: the control variable '{d.name}' must have an integer or pointer type")
        return d.name
    if isinstance(init, c_ast.Assignment) and init.op == "=" and isinstance(init.lvalue, c_ast.ID):
        return init.lvalue.name
    raise err(init.coord if init is not None else s.coord,
              "_Cilk_for: the initialisation must declare or assign the control variable")


def _is_var(e, var):
    return isinstance(e, c_ast.ID) and e.name == var


def _assigns(n, var):
    if isinstance(n, c_ast.Assignment):
        return _is_var(n.lvalue, var)
    return isinstance(n, c_ast.UnaryOp) and n.op in ("++", "--", "p++", "p--") and _is_var(n.expr, var)


def _labels(body):
    return {n.name for n in walk(body) if isinstance(n, c_ast.Label)}


def _leaves(n, in_loop, labels):
    """The first return, goto to a label outside the body, or break not inside a nested loop or
    switch, under n."""
    if isinstance(n, c_ast.Return):
        return n
    if isinstance(n, c_ast.Break) and not in_loop:
        return n
    if isinstance(n, c_ast.Goto) and n.name not in labels:
        return n
    nested = in_loop or isinstance(n, (c_ast.For, c_ast.While, c_ast.DoWhile, c_ast.Switch))
    for _, ch in n.children():
        found = _leaves(ch, nested, labels)
        if found is not None:
            return found
    return None
