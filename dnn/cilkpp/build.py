"""Building translated programs: .cilk -> .c when stale, and the host program and card
executable of a translated file, with dnn's CFLAGS (dnn/buildconfig.py).

The runtime objects are compiled once per side into a cache directory; a program then costs one
compile and one link per side. The card executable is native/offload/card.c + the card runtime +
the program compiled with -DDNN_CARD_BUILD, so its kernel registry holds the program's kernels.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import buildconfig as cfg
from . import translate

ROOT = cfg.ROOT


def _flags(extra=()):
    return list(cfg.CFLAGS) + [f"-I{d}" for d in cfg.INCLUDE_DIRS] + list(extra)


def translate_if_stale(src, dst, include_dirs=()):
    """Translate src into dst unless dst is newer than src and than every file of the translator;
    returns dst. The write is atomic, so concurrent builds never see half a file."""
    tool = max(p.stat().st_mtime for p in Path(__file__).parent.rglob("*") if p.suffix in (".py", ".in"))
    if not dst.exists() or dst.stat().st_mtime < max(src.stat().st_mtime, tool):
        dst.parent.mkdir(parents=True, exist_ok=True)
        text = translate(src.read_text(), str(src.relative_to(ROOT)), include_dirs)
        tmp = dst.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, dst)
    return dst


def runtime_objects(side, cache_dir=None):
    """Object files of the runtime for 'host' or 'card', compiled once (keyed by flags+sources)."""
    srcs = [ROOT / s for s in cfg.runtime_sources(side)]
    deps = srcs + sorted((ROOT / "native" / "include").glob("*.h")) + sorted((ROOT / "native" / "offload").glob("*.h"))
    key = hashlib.sha1(repr((_flags(), [(str(s), s.stat().st_mtime_ns) for s in deps])).encode()).hexdigest()[:12]
    d = Path(cache_dir or ROOT / "build" / "cilkpp") / f"rt-{side}-{key}"
    d.mkdir(parents=True, exist_ok=True)
    objs = [d / (s.stem + ".o") for s in srcs]

    def one(pair):
        s, o = pair
        if not o.exists():
            tmp = o.with_suffix(f".{os.getpid()}.tmp.o")
            subprocess.run(["gcc", "-c"] + _flags() + [str(s), "-o", str(tmp)], check=True)
            os.replace(tmp, o)

    with ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as ex:
        list(ex.map(one, zip(srcs, objs)))
    return [str(o) for o in objs]


def compile_program(c_file, out, side="host", extra_cflags=(), extra_objs=(), libs=()):
    """Compile a translated file into the host program or (side='card') a card executable."""
    extra = list(extra_cflags) + (["-DDNN_CARD_BUILD"] if side == "card" else [])
    cmd = (["gcc"] + _flags(extra) + [str(c_file)] + runtime_objects(side) + list(extra_objs)
           + ["-o", str(out)] + list(cfg.LDFLAGS) + list(libs))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"gcc failed for {c_file} ({side}):\n{r.stderr}")
    return r.stderr


# ---- dnn-cc: users' programs, one object per side, then a host program and its card ------------

# Users' code gets gcc's defaults plus what the generated C needs; no -Wall/-Wextra on their code.
USER_CFLAGS = ["-std=gnu11", "-fopenmp", "-march=native", "-Wno-unknown-pragmas",
               "-D__int64=long long", "-D__int32=int", "-D__int16=short", "-D__int8=char"]  # icc's types


def _user_flags(flags):
    opt = [] if any(re.fullmatch(r"-O\S*", f) for f in flags) else ["-O2"]
    return USER_CFLAGS + opt + [f"-I{d}" for d in cfg.INCLUDE_DIRS] + list(flags)


def _gcc(cmd, verbose):
    if verbose:
        print(" ".join(cmd), file=sys.stderr)
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    sys.stderr.write(r.stderr)  # gcc's warnings and errors name the user's file (#line)
    if r.returncode != 0:
        raise RuntimeError(f"gcc failed ({r.returncode})")


def compile_object(c_file, obj, side, flags, verbose=False):
    """One user source (translated, or plain C) -> the object of one side."""
    _gcc(["gcc", "-c"] + _user_flags(flags) + [str(c_file), "-o", str(obj)], verbose)


def _blas_if_called():
    """OpenBLAS (what <mkl.h> names, see native/include/mkl.h), linked only into a program that
    calls it."""
    _, lib_dir, lib = cfg.blas()
    return ["-Wl,--as-needed", f"-L{lib_dir}", f"-l{lib}", f"-Wl,-rpath,{lib_dir}", "-Wl,--no-as-needed"]


def link_program(objs, out, side, ldflags, verbose=False, card_path=None, cards=None):
    """Link a side: the host program (which finds its card at card_path, see host_offload.c.in) or
    the card executable (native/offload/card.c is its main)."""
    extra = []
    if side == "host" and card_path is not None:
        glue = Path(out).with_name(f".{Path(out).name}.{os.getpid()}.card-path.c")
        glue.write_text(f"const char __cilkpp_card_exe_path[] = {json.dumps(str(card_path))};\n"
                        f"const int __cilkpp_cards_built = {-1 if cards is None else int(cards)};\n")
        extra = [str(glue)]
    try:
        _gcc(["gcc"] + _user_flags([]) + extra + list(objs) + runtime_objects(side) + ["-o", str(out)]
             + list(cfg.LDFLAGS) + list(ldflags) + _blas_if_called(), verbose)
    finally:
        for g in extra:
            os.unlink(g)
