# dnn — two commands for a newcomer:  make demo  (set up + train)   make test  (set up + tests)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed

NATIVE_SRC := $(shell find native -name '*.c' -o -name '*.h') dnn/_build.py dnn/_cdef.h setup.py

.PHONY: all setup build test demo clean c-tests bench

all: build

# A virtual environment with the package (editable) and its dev extras.
$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet setuptools wheel "cffi>=1.17" "scipy-openblas32>=0.3.27"
	$(PIP) install --quiet --no-build-isolation -e '.[dev]'
	touch $@

setup: $(STAMP)

# The cffi host library (dnn/_native*.so) and the card executable (dnn/bin/dnn-card), in place.
build/.native: $(STAMP) $(NATIVE_SRC)
	$(PY) setup.py --quiet build_ext --inplace
	@mkdir -p build && touch $@

# C tests of the runtime (run by tests/test_native.py), built from the same sources and flags.
build/test_offload: build/.native native/tests/test_offload.c
	$(PY) -m dnn._build --c-test native/tests/test_offload.c $@

build: build/.native build/test_offload

test: build
	$(PY) -m pytest -q

demo: build
	$(PY) -m dnn.train --mode implicit

clean:
	rm -rf build dnn/_native*.so dnn/_native.c dnn/bin *.egg-info
