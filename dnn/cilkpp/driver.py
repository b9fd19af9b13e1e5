"""dnn-cc: a C compiler driver for programs written for Intel's offload compiler (what
``icc -o prog a.c b.c`` did), on dnn's card.

    dnn-cc [-o prog] [-c] [-I dir] [-D name[=v]] [-U name] [-O2] [-g] [-L dir] [-l lib] a.c b.cilk ...

Each source (.c or .cilk) is translated twice by dnn.cilkpp — for the host, and for the card with
``__MIC__`` defined — and each translation compiled with gcc. The host objects link into
``prog`` with the host runtime; the card objects into ``prog-card`` with the card runtime
(native/offload/card.c is its main). ``prog`` starts ``prog-card`` by itself: it looks next to
itself first, then where the card was linked ($DNN_CARD_EXE overrides both; DNN_CARDS=0 runs
every offload on the host). DNN_CARDS=N (or --cards N at link time) gives the program N cards, each
its own ``prog-card`` process on the one Cilk shared memory: card 0 at start-up, card n at the
first offload to it; target(mic:n) runs on card n % N.

With -c, ``a.c`` gives ``a.o`` (host) and ``aMIC.o`` (card), as Intel's compiler named them; a
later link takes ``a.o`` and finds ``aMIC.o`` beside it. A plain C file that dnn.cilkpp cannot
read and that uses no Cilk Plus or offload syntax is compiled as it is. Errors name the user's
file and line (the translator's own, and gcc's through #line directives).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import CilkppError, translate
from .source import cpp_flag
from .build import compile_object, link_program

CARD_SUFFIX = "-card"
# Intel compiler options with no meaning here: accepted and ignored, so old makefiles work.
_IGNORED = re.compile(r"-(q?openmp(-\S+)?|qoffload.*|offload.*|no-offload.*|vec-report.*|qopt-report.*|opt-report.*"
                      r"|x\w+|ax\w+|ipo|restrict|fp-model.*|qopt-.*|opt-.*|ansi-alias|no-ansi-alias|no-prec-div|prec-div"
                      r"|align|mkl.*|qmkl.*|fno-alias|fno-fnalias|fargument-\S+|no-fma|fma|fimf-\S+|ftz|no-ftz"
                      r"|fp-speculation\S*|fp-port|no-vec|vec|no-simd|simd|unroll-aggressive|par-\S+|parallel"
                      r"|guide\S*|shared-intel|qopenmp-\S+|Qoption,.*|mP2OPT\S+|wd\d[\d,]*|ww\d[\d,]*|traceback"
                      r"|diag-\S+|qdiag-\S+|no-inline-\S+|inline-\S+|qno-offload|mt_mpi)$")
# icc's options that take their value as the next argument (-fp-model fast=2, -diag-disable 2536)
_WITH_VALUE = {"-fp-model", "-diag-disable", "-diag-enable", "-diag-warning", "-diag-error", "-opt-report-phase",
               "-qopt-report-phase", "-opt-report-file", "-qopt-report-file", "-opt-report", "-qopt-report"}
_FILE_SUFFIXES = (".c", ".cilk", ".o", ".a", ".so", ".cpp", ".cc", ".cxx", ".C")
# Host-only builds: offloads run on the host, as Intel's -no-offload compiled them away
_NO_OFFLOAD = {"-no-offload", "-qno-offload", "-qoffload=none", "-offload=none"}
# Intel's own libraries, which old makefiles name: MKL is OpenBLAS here (<mkl.h>), libiomp5 is
# libgomp, the Cilk runtime and the offload runtime are dnn's, libimf/libsvml/libirc are libm's
_INTEL_LIBS = re.compile(r"-l(mkl_\w+|iomp5|imf|svml|irc|intlc|irng|cilkrts|offload|coi_host|coi_device|myo-\w+)$")
_CILK_SYNTAX = re.compile(r"_Cilk_|\bcilk_(spawn|sync|for)\b|#\s*pragma\s+offload|__sec_|_Offload_|\[[^]\n]*:[^]\n]*\]")


class UsageError(Exception):
    pass


@dataclass
class Options:
    output: str | None = None
    compile_only: bool = False
    include_dirs: list = field(default_factory=list)
    defines: list = field(default_factory=list)  # NAME or NAME=VALUE; "-UNAME" kept as such
    cflags: list = field(default_factory=list)  # passed to gcc for both sides
    ldflags: list = field(default_factory=list)  # -L, -l, -Wl, in order
    sources: list = field(default_factory=list)
    objects: list = field(default_factory=list)
    cards: int | None = None
    keep: bool = False
    verbose: bool = False


def parse_args(argv):
    o = Options()
    it = iter(_joined_values(list(argv)))

    def value(flag, a):
        if len(a) > len(flag):
            return a[len(flag):]
        try:
            return next(it)
        except StopIteration:
            raise UsageError(f"{flag} needs a value") from None

    for a in it:
        if a in ("-h", "--help"):
            raise UsageError(__doc__)
        if a in _NO_OFFLOAD:
            o.cards = 0
            o.defines.append("-U__INTEL_OFFLOAD")  # as icc's -no-offload: no offload compiler
        elif _IGNORED.fullmatch(a) or a in ("-fopenmp", "-fcilkplus", "-mmic"):
            continue  # before -o: -openmp, -opt-report, -offload-option are not -o penmp
        elif a == "-o" or (a.startswith("-o") and len(a) > 2):
            o.output = value("-o", a)
        elif a == "-c":
            o.compile_only = True
        elif a.startswith("-I"):
            o.include_dirs.append(value("-I", a))
        elif a.startswith("-D"):
            o.defines.append(value("-D", a))
        elif a.startswith("-U"):
            o.defines.append("-U" + value("-U", a))
        elif _INTEL_LIBS.fullmatch(a):
            continue
        elif a.startswith("-l") or a.startswith("-L"):
            o.ldflags.append(a[:2] + value(a[:2], a))
        elif a.startswith("-Wl,") or a in ("-static", "-shared", "-pthread", "-rdynamic"):
            o.ldflags.append(a)
        elif a.startswith("--cards"):
            o.cards = int(value("--cards=", a) if a.startswith("--cards=") else next(it))
        elif a in ("-save-temps", "--keep"):
            o.keep = True
        elif a == "-v":
            o.verbose = True
        elif a == "-fast":  # icc's -O3 -ipo -static -xHost: the optimisation is what carries over
            o.cflags.append("-O3")
        elif re.fullmatch(r"-ansi|-std=(c|gnu|iso9899:)(89|90|1990|199409)", a):
            # the translated C and the runtime's headers are C99: the oldest dialect they build in
            o.cflags.append("-std=gnu99")
        elif re.fullmatch(r"-(O\d?|Os|Ofast|g\d?|std=\S+|W[^l].*|w|f\S+|m\S+|pg|ggdb)", a):
            o.cflags.append("-O3" if a in ("-Ofast", "-O") else a)
        elif a in ("-MF", "-MT", "-MQ"):  # dependency files are not written: the option and its file
            next(it, None)
        elif a.startswith("-"):
            # old makefiles pass icc's options (-static-intel, -opt-report...): say so, go on
            print(f"dnn-cc: warning: ignoring unknown option {a}", file=sys.stderr)
        elif a.endswith((".c", ".cilk")):
            o.sources.append(a)
        elif a.endswith((".cpp", ".cc", ".cxx", ".C")):
            raise UsageError(f"{a}: C++ is not supported (dnn.cilkpp reads C)")
        elif a.endswith((".o", ".a", ".so")):
            o.objects.append(a)
        else:
            raise UsageError(f"{a}: not a .c, .cilk or object file")
    if not o.sources and not o.objects:
        raise UsageError("no input files")
    if o.compile_only and o.output and len(o.sources) > 1:
        raise UsageError("-o with -c and several sources")
    return o


def _joined_values(argv):
    """icc's `-fp-model fast=2` as `-fp-model=fast=2`, when the next argument is a value (not a
    file or an option)."""
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if a in _WITH_VALUE and nxt and not nxt.startswith("-") and not nxt.endswith(_FILE_SUFFIXES):
            out.append(f"{a}={nxt}")
            i += 2
        else:
            out.append(a)
            i += 1
    return out


def mic_object(obj):
    """The card object that goes with host object a.o: aMIC.o beside it."""
    p = Path(obj)
    return p.with_name(p.stem + "MIC" + p.suffix)


def _translate_side(src, text, o, side, captures):
    defines = list(o.defines) + (["__MIC__=1", "__MIC2__=1"] if side == "card" else [])
    dirs = [str(Path(src).resolve().parent)] + [str(Path(d).resolve()) for d in o.include_dirs]
    return translate(text, src, dirs, defines, captures)


def translate_sides(src, text, o):
    """{side: generated C} for the host and the card. Where #ifdef __MIC__ makes an offload block
    use other variables on each side, the two are translated again with what both use, so both
    sides agree on what the block carries."""
    captures = {}
    out = {"host": _translate_side(src, text, o, "host", captures)}
    host_view = {k: list(v) for k, v in captures.items()}
    out["card"] = _translate_side(src, text, o, "card", captures)  # takes the host's names too
    if captures != host_view:  # the card uses names the host does not: the host carries them too
        out["host"] = _translate_side(src, text, o, "host", captures)
    return out


def build_source(src, o, work, host_obj, card_obj):
    """Translate src for each side and compile the two objects."""
    text = Path(src).read_text()
    stem = Path(src).stem
    flags = list(o.cflags) + [cpp_flag(d) for d in o.defines] + [f"-I{d}" for d in o.include_dirs]
    flags += ["-iquote", str(Path(src).resolve().parent)]
    unread = None
    try:
        c_texts = translate_sides(src, text, o)
    except CilkppError as e:
        if _CILK_SYNTAX.search(text):
            raise
        c_texts, unread = {}, e  # plain C the translator does not read: gcc compiles it as it is
    except Exception as e:  # a bug of the translator: say which file, not a bare traceback
        if o.verbose:
            raise
        raise RuntimeError(f"{src}: internal error of dnn.cilkpp ({type(e).__name__}: {e}); "
                           "-v shows where") from e
    for side, obj in (("host", host_obj), ("card", card_obj)):
        c_file = src
        if side in c_texts:
            c_file = work / f"{stem}.{side}.c"
            c_file.write_text(c_texts[side])
        side_flags = flags + (["-DDNN_CARD_BUILD", "-D__MIC__=1", "-D__MIC2__=1"] if side == "card" else [])
        try:
            compile_object(c_file, obj, side, side_flags, o.verbose)
        except RuntimeError:
            if unread is not None:
                print(f"dnn-cc: note: compiled {src} untranslated, as dnn.cilkpp could not read it: {unread}",
                      file=sys.stderr)
            raise


def run(o):
    work = Path(tempfile.mkdtemp(prefix="dnn-cc-"))
    try:
        pairs = []
        for src in o.sources:
            stem = Path(src).stem
            if o.compile_only:
                host_obj = Path(o.output) if o.output else Path(stem + ".o")
            else:
                host_obj = work / f"{len(pairs)}-{stem}.o"
            pairs.append((src, host_obj, mic_object(host_obj)))
        with ThreadPoolExecutor(max(1, min(len(pairs), os.cpu_count() or 1))) as ex:
            list(ex.map(lambda p: build_source(p[0], o, work, p[1], p[2]), pairs))
        if o.compile_only:
            return 0
        host_objs = [str(h) for _, h, _ in pairs] + o.objects
        card_objs = [str(c) for _, _, c in pairs]
        for obj in o.objects:
            m = mic_object(obj)
            card_objs.append(str(m) if obj.endswith(".o") and m.exists() else obj)
        out = Path(o.output or "a.out").resolve()
        card = out.with_name(out.name + CARD_SUFFIX)
        link_program(card_objs, card, "card", o.ldflags, o.verbose)
        link_program(host_objs, out, "host", o.ldflags, o.verbose, card_path=card, cards=o.cards)
        return 0
    finally:
        if o.keep:
            print(f"dnn-cc: temporaries kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    try:
        o = parse_args(sys.argv[1:] if argv is None else argv)
        return run(o)
    except UsageError as e:
        print(f"dnn-cc: {e}", file=sys.stderr)
        return 2
    except CilkppError as e:
        print(e, file=sys.stderr)
        return 1
    except (OSError, RuntimeError) as e:
        print(f"dnn-cc: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
