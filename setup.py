"""Builds dnn's native parts: the cffi host library and the dnn-card executable.

`pip install .` runs this; `make build` runs it in place for development."""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnn import _build, buildconfig as cfg  # noqa: E402


class BuildWithCard(build_ext):
    """build_ext that also links the card executable from the same sources and flags."""

    def run(self):
        super().run()
        self.build_card()

    def build_card(self):
        inc, lib, name = cfg.blas()
        out_dir = os.path.join("dnn" if self.inplace else os.path.join(self.build_lib, "dnn"), "bin")
        os.makedirs(out_dir, exist_ok=True)
        sources = cfg.runtime_sources("card") + _build.kernel_sources()
        objects = self.compiler.compile(
            sources,
            output_dir=os.path.join(self.build_temp, "card"),
            include_dirs=cfg.INCLUDE_DIRS + [inc],
            macros=[("DNN_CARD_BUILD", None)],  # translated .cilk: offloads reached on the card run in place
            extra_postargs=cfg.CFLAGS,
            depends=[],
        )
        self.compiler.link_executable(
            objects,
            "dnn-card",
            output_dir=out_dir,
            library_dirs=[lib],
            libraries=[name],
            extra_postargs=cfg.LDFLAGS + cfg.rpaths(lib, 2),
        )


setup(cffi_modules=["dnn/_build.py:make_ffi"], cmdclass={"build_ext": BuildWithCard})
