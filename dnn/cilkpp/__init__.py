"""dnn.cilkpp — translate the Cilk Plus offload subset (.cilk) into C on dnn's offload runtime.

    python -m dnn.cilkpp IN.cilk -o OUT.c [-I DIR]
    translate(source, filename) -> str

The generated file compiles twice with the same flags: as the host program (links the host
runtime; its ``main`` opens the card named by ``$DNN_CARD_EXE`` or, without it, runs every offload
in the host process on a local arena), and with ``-DDNN_CARD_BUILD`` into a card executable
(native/offload/card.c + the card runtime + this file, so the card's kernel registry holds the
program's kernels). ``-DCILKPP_DEBUG`` adds run-time checks of section lengths.
See front.py (how the text is parsed) and lower.py (what each construct becomes).
"""

from __future__ import annotations

import copy
import os
import re

from pycparser import c_ast

from .front import CilkppError, error_at, read_unit
from .lower import Gen, Lowerer, Raw, gen, line_directive

__all__ = ["translate", "CilkppError"]

PRELUDE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <limits.h>
#include <float.h>
#include <stdint.h>
#include <omp.h>
#include "cilk_offload.h"

#define OFF_ARG_NONE {0, 0, {0}}
#define OFF_XFER_NONE {NULL, 0, 0, 0, NULL}
#define CILKPP_LOWEST(x) _Generic((x), float: -INFINITY, double: -INFINITY, long double: -INFINITY, \
    char: CHAR_MIN, signed char: SCHAR_MIN, unsigned char: 0, short: SHRT_MIN, unsigned short: 0, \
    int: INT_MIN, unsigned: 0, long: LONG_MIN, unsigned long: 0, long long: LLONG_MIN, \
    unsigned long long: 0, default: 0)
#define CILKPP_HIGHEST(x) _Generic((x), float: INFINITY, double: INFINITY, long double: INFINITY, \
    char: CHAR_MAX, signed char: SCHAR_MAX, unsigned char: UCHAR_MAX, short: SHRT_MAX, \
    unsigned short: USHRT_MAX, int: INT_MAX, unsigned: UINT_MAX, long: LONG_MAX, \
    unsigned long: ULONG_MAX, long long: LLONG_MAX, unsigned long long: ULLONG_MAX, default: 0)


__attribute__((unused, noreturn)) static void __cilkpp_fatal(const char *where, const char *what)
{
    fflush(stdout);
    fprintf(stderr, "%s: offload error: %s\n", where, what);
    exit(1);
}

__attribute__((unused)) static void __cilkpp_len_fail(const char *where, long got, long want)
{
    fflush(stdout);
    if (got < 0) fprintf(stderr, "%s: array section of negative length %ld\n", where, got);
    else fprintf(stderr, "%s: array section length %ld does not match length %ld\n", where, got, want);
    abort();
}


"""

# Only in files that offload, share globals or hold main: the offload runtime glue.
PRELUDE_RUNTIME = r"""
#ifndef DNN_CARD_BUILD
#include "internal.h"
#endif
static void __cilkpp_bind_globals(void **tab) __attribute__((unused));
static void **__cilkpp_gtab __attribute__((unused));

__attribute__((unused)) static void __cilkpp_card_flush(void)
{
#ifdef DNN_CARD_BUILD
    fflush(stdout); /* the card's output reaches the host's stdout in order */
#endif
}

/* Tags of signal()/wait(): the host address named in the clause -> the runtime's signal.
 * state: 0 free, 1 in flight, 2 finished early (its wait() returns at once). */
static struct { uintptr_t tag; uint64_t sig; int state; } __cilkpp_signals[64] __attribute__((unused));

__attribute__((unused)) static void __cilkpp_local(const char *kernel, const off_arg *a, int na,
                                                   const off_xfer *x, int nx, double *res, int *nres,
                                                   const char *where)
{
    for (int i = 0; i < nx; i++) /* in(... into(y)): y receives the data, as the card buffer would */
        if (x[i].into && (x[i].flags & OFF_IN) && x[i].into != x[i].host)
            memmove((void *)x[i].into, x[i].host, x[i].bytes);
    if (kernel && off_run_local(kernel, a, na, omp_get_max_threads(), res, nres) != OFF_OK)
        __cilkpp_fatal(where, off_last_error());
}

#ifdef DNN_CARD_BUILD
/* An offload reached from code already on the card runs in place. */
__attribute__((unused)) static void __cilkpp_call(long target, int use_card, int mandatory, const char *kernel,
        const off_arg *a, int na, const off_xfer *x, int nx, uintptr_t tag, double *res, int *nres,
        const char *where)
{
    (void)target; (void)use_card; (void)mandatory; (void)tag;
    __cilkpp_local(kernel, a, na, x, nx, res, nres, where);
}
__attribute__((unused)) static void __cilkpp_wait(uintptr_t tag, const char *where) { (void)tag; (void)where; }
#else
static void __cilkpp_finish(off_card *c, int lane, uintptr_t tag, const char *where);
/* Every mic:n names the one card (Intel maps n to card n % number_of_cards). */
__attribute__((unused)) static void __cilkpp_call(long target, int use_card, int mandatory, const char *kernel,
        const off_arg *a, int na, const off_xfer *x, int nx, uintptr_t tag, double *res, int *nres,
        const char *where)
{
    (void)target;
    off_card *c = off_default_card();
    fflush(stdout);
    /* A NULL pointer of length 0 in a clause moves nothing (LEO allows it: an optional array). */
    off_xfer __x[OFF_MAX_XFERS];
    int __n = 0;
    for (int i = 0; i < nx && __n < OFF_MAX_XFERS; i++)
        if (x[i].host || x[i].bytes) __x[__n++] = x[i];
    if (nx <= OFF_MAX_XFERS) x = __x, nx = __n;
    if (c && use_card) {
        int rc;
        /* offload_transfer ... signal() goes on the card's DMA lane, so it crosses while an offload
         * runs; everything else on the call lane. The runtime keeps one request in flight per
         * lane: one still there is finished first (LEO code may leave many signals pending). */
        int lane = tag && !kernel ? OFF_LANE_DMA : OFF_LANE_CALL;
        __cilkpp_finish(c, lane, 0, where);
        if (tag) {
            uint64_t sig = 0;
            __cilkpp_finish(c, -1, tag, where); /* a tag used again */
            rc = lane == OFF_LANE_DMA ? off_transfer_async(c, x, nx, &sig) : off_call_async(c, kernel, a, na, x, nx, &sig);
            if (rc == OFF_OK) {
                int i = 0;
                while (i < 64 && __cilkpp_signals[i].state) i++;
                if (i == 64) __cilkpp_fatal(where, "more than 64 signals pending");
                __cilkpp_signals[i].tag = tag;
                __cilkpp_signals[i].sig = sig;
                __cilkpp_signals[i].state = 1;
            }
        } else {
            rc = off_call(c, kernel, a, na, x, nx, res, nres);
        }
        if (rc != OFF_OK) __cilkpp_fatal(where, off_last_error());
        return;
    }
    if (mandatory && use_card) __cilkpp_fatal(where, "mandatory offload but no card (set DNN_CARD_EXE)");
    __cilkpp_local(kernel, a, na, x, nx, res, nres, where);
}

/* lane >= 0: finishes the request in flight on that lane (its wait() will return at once).
 * Otherwise: finishes and forgets what `tag` signalled before, as the tag is about to be reused. */
static void __cilkpp_finish(off_card *c, int lane, uintptr_t tag, const char *where)
{
    for (int i = 0; i < 64; i++) {
        int st = __cilkpp_signals[i].state;
        if (!st) continue;
        if (lane >= 0 ? st != 1 || (int)(__cilkpp_signals[i].sig % OFF_LANES) != lane : __cilkpp_signals[i].tag != tag)
            continue;
        if (st == 1 && off_wait(c, __cilkpp_signals[i].sig, NULL, NULL) != OFF_OK) __cilkpp_fatal(where, off_last_error());
        __cilkpp_signals[i].state = lane >= 0 ? 2 : 0;
    }
}

__attribute__((unused)) static void __cilkpp_wait(uintptr_t tag, const char *where)
{
    off_card *c = off_default_card();
    for (int i = 0; i < 64; i++)
        if (__cilkpp_signals[i].state && __cilkpp_signals[i].tag == tag) {
            if (__cilkpp_signals[i].state == 1 && c && off_wait(c, __cilkpp_signals[i].sig, NULL, NULL) != OFF_OK)
                __cilkpp_fatal(where, off_last_error());
            __cilkpp_signals[i].state = 0;
            return;
        }
    if (c) __cilkpp_fatal(where, "wait() on a tag that no pending offload signalled");
}

static off_arena *__cilkpp_local_arena;
static off_card *__cilkpp_card;

/* The card named by $DNN_CARD_EXE ($DNN_CARD_THREADS, $DNN_CARD_LINK, $DNN_CARD_CPUS,
 * $DNN_ARENA_MB); without it, a local arena so _Offload_shared_malloc works in host mode. */
__attribute__((unused)) static void __cilkpp_start(void)
{
    const char *exe = getenv("DNN_CARD_EXE");
    const char *mb = getenv("DNN_ARENA_MB");
    size_t arena = (size_t)(mb && *mb ? atol(mb) : 64) << 20;
    if (exe && *exe) {
        const char *th = getenv("DNN_CARD_THREADS"), *link = getenv("DNN_CARD_LINK");
        off_config cfg = {.threads = th && *th ? atoi(th) : 1, .cpus = getenv("DNN_CARD_CPUS"),
                          .link = link && *link ? link : "none", .arena_bytes = arena, .card_exe = exe};
        if (off_card_open(&cfg, &__cilkpp_card) != OFF_OK) __cilkpp_fatal("cilkpp", off_last_error());
    } else {
        if (off_arena_create(arena, &__cilkpp_local_arena) != OFF_OK) __cilkpp_fatal("cilkpp", off_last_error());
        off_current_arena = __cilkpp_local_arena;
    }
}

__attribute__((unused)) static void __cilkpp_stop(void)
{
    fflush(stdout);
    if (__cilkpp_card) off_card_destroy(__cilkpp_card);
    __cilkpp_card = NULL;
}
#endif
"""


def _kernel_prefix(filename):
    stem = os.path.splitext(os.path.basename(filename or "cilk"))[0]
    stem = re.sub(r"\W", "_", stem)[:24]
    return f"cilkpp_{stem}"


def _is_func_decl(d):
    return isinstance(d, c_ast.Decl) and isinstance(d.type, c_ast.FuncDecl)


def _params(fdecl):
    """[(name, type node)] of a FuncDecl; [] for (void)."""
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


def translate(source, filename="<cilk>", include_dirs=()):
    """Translate .cilk source text into C; raises CilkppError with file:line:col."""
    unit = read_unit(source, filename, include_dirs)
    lw = Lowerer(unit, _kernel_prefix(filename))
    lw.capture_mode = False
    ast = unit.ast

    # pass 1: what is _Cilk_shared (functions and globals), offload_attribute regions
    stack = []
    for ext in ast.ext:
        if isinstance(ext, c_ast.Pragma) and ext.string.startswith("cilkpp "):
            info = unit.pragmas[int(ext.string.split()[1])]
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
            continue
        shared_region = "_Cilk_shared" in stack
        decl = ext.decl if isinstance(ext, c_ast.FuncDef) else ext
        if not isinstance(decl, c_ast.Decl) or not decl.name:
            continue
        marked = decl.name in unit.shared_names or shared_region
        if not marked:
            continue
        if isinstance(decl.type, c_ast.FuncDecl):
            lw.shared_funcs.add(decl.name)
        elif "extern" in decl.storage:
            raise error_at(decl.coord, f"extern _Cilk_shared '{decl.name}': shared globals must be defined in "
                           "the translated file")
        elif "typedef" not in decl.storage:
            lw.shared_globals[decl.name] = decl
    if stack:
        raise error_at(ast.ext[-1].coord if ast.ext else None, "offload_attribute(push, ...) without a pop")

    # pass 2: lower
    out = []  # (kind, node)
    first_decl = {}
    def_index = {}  # function name -> position of its definition in out
    user_main = None
    for ext in ast.ext:
        if isinstance(ext, c_ast.Pragma) and ext.string.startswith("cilkpp "):
            continue
        if isinstance(ext, c_ast.Typedef):
            lw.declare(ext)
            out.append(ext)
            continue
        if isinstance(ext, c_ast.Decl):
            if ext.name:
                first_decl.setdefault(ext.name, (len(out), copy.deepcopy(ext)))
            lw.declare(ext)
            if ext.name in lw.shared_globals:
                init_name = f"__cilkpp_init_{ext.name}"
                d = copy.deepcopy(ext)
                d.name = init_name
                from .lower import decl_name_node
                decl_name_node(d.type).declname = init_name
                d.storage = ["static"]
                if d.init is not None:
                    lw.no_sections(d.init, "an initialiser")
                    d.init = lw.rx(d.init, _env())
                out.append(d)
                out.append(Raw(f"static __typeof__({init_name}) *__cilkpp_g_{ext.name};\n", ext.coord))
                continue
            if ext.init is not None:
                lw.no_sections(ext.init, "an initialiser")
                ext.init = lw.rx(ext.init, _env())
            out.append(ext)
            continue
        if isinstance(ext, c_ast.FuncDef):
            name = ext.decl.name
            orig_decl = copy.deepcopy(ext.decl)
            lw.declare(ext.decl)
            lw.func = name
            lw.func_flags = set()
            lw.pre = []
            lw.scopes.append({})
            for pname, ptype in _params(ext.decl.type) or []:
                if pname:
                    lw.scopes[-1][pname] = c_ast.Decl(pname, [], [], [], [], ptype, None, None)
            ext.body = lw.block(ext.body)
            lw.scopes.pop()
            out.extend(lw.pre)
            is_main = name == "main"
            if is_main:
                user_main = ext
                _rename(ext.decl, "__cilkpp_user_main")
                if "static" not in ext.decl.storage:
                    ext.decl.storage = ["static"] + ext.decl.storage
                out.append(Raw("#ifndef DNN_CARD_BUILD\n", None))
            if "par" in lw.func_flags:
                out.extend(_parallel_split(ext, lw.func_flags))
            else:
                out.append(ext)
            if is_main:
                out.append(Raw("#endif /* DNN_CARD_BUILD */\n", None))
            first_decl.setdefault(name, (len(out) - 1, orig_decl))
            def_index[name] = len(out) - 1
            continue
        out.append(ext)

    # _Cilk_offload host stubs after the first declaration of each offloaded function; kernels
    # after the definition of every _Cilk_shared function this file defines and can export
    defined = set(def_index)
    inserts = {}
    for f in sorted(lw.stub_needed):
        idx, decl = first_decl[f]
        inserts.setdefault(idx, []).append(_host_stub(lw, f, decl))
    for f in sorted(lw.shared_funcs & defined):
        idx, decl = first_decl[f]
        k = _kernel(lw, f, decl, required=f in lw.stub_needed)
        if k is not None:
            inserts.setdefault(def_index[f], []).append(k)
    final = []
    for i, item in enumerate(out):
        final.append(item)
        for s in inserts.get(i, []):
            final.append(s)
    # shared globals: allocation at start-up, binding on the card
    g = list(lw.shared_globals)
    runtime = bool(lw.kernels or g or user_main is not None or unit.pragmas)
    tail = [f"static void __cilkpp_bind_globals(void **tab)\n{{\n"
            + "".join(f"    __cilkpp_g_{n} = tab[{i}];\n" for i, n in enumerate(g))
            + ("    (void)tab;\n" if not g else "") + "}\n"]
    tail.append("#ifndef DNN_CARD_BUILD\n__attribute__((unused)) static void __cilkpp_init_globals(void)\n{\n"
                + (f"    __cilkpp_gtab = _Offload_shared_malloc({len(g)} * sizeof(void *));\n"
                   "    if (!__cilkpp_gtab) __cilkpp_fatal(\"cilkpp\", off_last_error());\n" if g else "")
                + "".join(f"    __cilkpp_g_{n} = _Offload_shared_malloc(sizeof *__cilkpp_g_{n});\n"
                          f"    if (!__cilkpp_g_{n}) __cilkpp_fatal(\"cilkpp\", off_last_error());\n"
                          f"    memcpy(__cilkpp_g_{n}, &__cilkpp_init_{n}, sizeof *__cilkpp_g_{n});\n"
                          f"    __cilkpp_gtab[{i}] = __cilkpp_g_{n};\n" for i, n in enumerate(g))
                + "}\n")
    if user_main is not None:
        params = _params(user_main.decl.type) or []
        call = "__cilkpp_user_main(" + ", ".join(n for n, _ in params[:3]) + ")"
        rtype = gen(user_main.decl.type.type)
        body = f"    int __rc = {call};\n" if "void" not in rtype.split() else f"    {call};\n    int __rc = 0;\n"
        sig = "int argc, char **argv, char **envp" if len(params) == 3 else "int argc, char **argv"
        tail.append(f"int main({sig})\n{{\n    (void)argc; (void)argv;\n    __cilkpp_start();\n"
                    f"    __cilkpp_init_globals();\n{body}    __cilkpp_stop();\n    return __rc;\n}}\n")
    tail.append("#endif /* DNN_CARD_BUILD */\n")

    gen_ = Gen()
    parts = [f"/* Generated by dnn.cilkpp from {os.path.basename(filename)} - do not edit. */\n"]
    parts.extend(d + "\n" for d in unit.early_defines)
    parts.extend(f'#line {line} "{filename}"\n{text}\n' for line, text in unit.includes)
    parts.append('#line 1 "<cilkpp prelude>"\n' + PRELUDE + (PRELUDE_RUNTIME if runtime else ""))
    for item in final:
        if isinstance(item, Raw):
            if item.coord is not None:
                parts.append(line_directive(item.coord))
            parts.append(item.text if item.text.endswith("\n") else item.text + "\n")
            continue
        if item.coord is not None:
            parts.append(line_directive(item.coord))
        txt = gen_.visit(item)
        if isinstance(item, c_ast.Decl) or isinstance(item, c_ast.Typedef):
            txt += ";"
        parts.append(txt + "\n")
    if runtime:
        parts.append('#line 1 "<cilkpp>"\n')
        parts.extend(tail)
    return "".join(parts)


def _env():
    from .lower import Env

    return Env()


def _rename(decl, name):
    from .lower import decl_name_node

    decl.name = name
    decl_name_node(decl.type).declname = name


def _parallel_split(fd, flags):
    """f -> static body + f that enters a parallel region (one thread runs the body, the team
    runs its tasks) unless already inside one."""
    name = fd.decl.name
    params = _params(fd.decl.type)
    if params is None:
        raise error_at(fd.decl.coord, f"'{name}' spawns or uses _Cilk_for: variadic functions are not supported")
    wrapper = copy.deepcopy(fd.decl)
    proto = gen(wrapper)
    body_name = f"__cilkpp_par_{name}"
    _rename(fd.decl, body_name)
    fd.decl.storage = ["static"] + [s for s in fd.decl.storage if s not in ("static", "extern")]
    if "spawn" in flags:
        fd.body.block_items = (fd.body.block_items or []) + [Raw("#pragma omp taskwait", None, stmt=True)]
    args = ", ".join(n for n, _ in params)
    rtype = gen(fd.decl.type.type)
    void = re.fullmatch(r"(static\s+)?void", rtype.strip()) is not None
    if void:
        body = (f"{{\n    if (omp_in_parallel()) {{ {body_name}({args}); return; }}\n"
                f"#pragma omp parallel\n#pragma omp single\n    {body_name}({args});\n}}\n")
    else:
        rdecl = copy.deepcopy(fd.decl.type.type)
        from .lower import decl_name_node

        decl_name_node(rdecl).declname = "__r"
        rdecl = c_ast.Decl("__r", [], [], [], [], rdecl, None, None)
        body = (f"{{\n    if (omp_in_parallel()) return {body_name}({args});\n    {gen(rdecl)};\n"
                f"#pragma omp parallel\n#pragma omp single\n    __r = {body_name}({args});\n    return __r;\n}}\n")
    return [Raw(line_directive(fd.coord) + proto + ";\n", None), fd,
            Raw(line_directive(fd.coord) + proto + "\n" + body, None)]


def kernel_name(lw, f, decl):
    """The kernel that runs _Cilk_shared function f: cilkpp_f for an external function, so a
    _Cilk_offload in any translated file reaches the one kernel the defining file exports (and a
    host driver can call it by name); a static function's kernel is private to its file."""
    if "static" in decl.storage:
        return f"{lw.kprefix}_{f}"[:60]
    return f"cilkpp_{f}"[:60]


def _signature(lw, f, decl):
    params = _params(decl.type)
    if params is None:
        raise error_at(decl.coord, f"_Cilk_offload {f}: variadic or unnamed parameters are not supported")
    kinds = [lw.arg_kind(pt, decl.coord, f"parameter {i + 1} of '{f}'") for i, (pn, pt) in enumerate(params)]
    return params, kinds, gen(decl.type.type).strip() == "void"


def _ret_decl(decl, name):
    from .lower import decl_name_node

    rd = copy.deepcopy(decl.type.type)
    decl_name_node(rd).declname = name
    return c_ast.Decl(name, [], [], [], [], rd, None, None)


def _host_stub(lw, f, decl):
    """__cilkpp_offcall_f(target, where, args...): the host side of `_Cilk_offload f(args)`."""
    params, kinds, void = _signature(lw, f, decl)
    gl = 1 if lw.shared_globals else 0
    from .lower import decl_name_node

    rtype = copy.deepcopy(decl.type.type)
    ptexts = [gen(c_ast.Decl(f"__p{i}", [], [], [], [], _named(pt, f"__p{i}"), None, None))
              for i, (pn, pt) in enumerate(params)]
    mk = {"p": "off_ptr", "i": "off_i64", "d": "off_f64"}
    args = (["off_ptr(__cilkpp_gtab)"] if gl else []) + [f"{mk[k]}(__p{i})" for i, k in enumerate(kinds)]
    decl_name_node(rtype).declname = f"__cilkpp_offcall_{f}"
    head = gen(c_ast.FuncDecl(c_ast.ParamList([]), rtype))
    head = head.replace(f"__cilkpp_offcall_{f}()", f"__cilkpp_offcall_{f}(long __target, const char *__where"
                        + "".join(", " + p for p in ptexts) + ")")
    lines = [f"__attribute__((unused)) static {head}", "{",
             f"    off_arg __a[{max(1, len(args))}] = {{{', '.join(args) or 'OFF_ARG_NONE'}}};",
             "    double __res[OFF_MAX_RESULTS]; int __nres = 0;",
             f"    __cilkpp_call(__target, 1, 0, \"{kernel_name(lw, f, decl)}\", __a, {len(args)}, NULL, 0, 0, "
             "__res, &__nres, __where);"]
    if not void:
        lines += [f"    {gen(_ret_decl(decl, '__ret'))};",
                  "    _Static_assert(sizeof __ret <= sizeof __res, \"return value too large\");",
                  "    memcpy(&__ret, __res, sizeof __ret);", "    return __ret;"]
    else:
        lines += ["    (void)__nres;"]
    lines.append("}")
    return Raw("\n".join(lines) + "\n", decl.coord)


def _kernel(lw, f, decl, required):
    """The kernel that runs f on the card. A function nobody offloads here is still exported when
    its parameters can cross (required=False: otherwise no kernel, and no error)."""
    try:
        params, kinds, void = _signature(lw, f, decl)
    except CilkppError:
        if required:
            raise
        return None
    gl = 1 if lw.shared_globals else 0
    kname = kernel_name(lw, f, decl)
    lw.kernels.append(kname)
    pstr = ",".join((["__g:p"] if gl else []) + [f"{pn or f'a{i}'}:{k}" for i, ((pn, _), k) in enumerate(zip(params, kinds))])
    conv = [f"({gen(_named(pt, None))})args[{i + gl}].v.{k}" for i, ((pn, pt), k) in enumerate(zip(params, kinds))]
    lines = [f"OFF_KERNEL({kname}, \"{pstr}\")\n{{"]
    if gl:
        lines.append("    __cilkpp_bind_globals(args[0].v.p);")
    if void:
        lines.append(f"    {f}({', '.join(conv)});")
    else:
        rd = _ret_decl(decl, "__ret")
        lines.append(f"    {gen(rd)} = {f}({', '.join(conv)});")
        lines.append("    _Static_assert(sizeof __ret <= sizeof ctx->result, \"return value too large\");")
        lines.append("    memcpy(ctx->result, &__ret, sizeof __ret);")
        lines.append("    ctx->nresult = (int)((sizeof __ret + sizeof(double) - 1) / sizeof(double));")
    lines.append("    __cilkpp_card_flush();\n    return OFF_OK;\n}")
    return Raw("\n".join(lines) + "\n", decl.coord)


def _named(t, name):
    """A copy of type t declaring `name` (None: an abstract type name for a cast)."""
    from .lower import decl_name_node

    t = copy.deepcopy(t)
    if isinstance(t, c_ast.ArrayDecl):
        t = c_ast.PtrDecl([], t.type)
    decl_name_node(t).declname = name
    if name is None:
        return c_ast.Typename(None, [], None, t)
    return t
