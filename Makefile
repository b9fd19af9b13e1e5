# dnn — two commands for a newcomer:  make demo  (set up + train)   make test  (set up + tests)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed

NATIVE_SRC := $(shell find native -name "*.c" -o -name "*.h" -o -name "*.cilk") $(shell find dnn/cilkpp -name "*.py" -o -name "*.c.in") dnn/buildconfig.py dnn/_build.py dnn/_cdef.h setup.py

.PHONY: all setup build test demo clean sanitize sanitize-thread

all: build

# A virtual environment with the package (editable), its dev extras, MPI (dnn.train --distributed)
# and ONNX (dnn.export --format onnx and its test). The build runs without isolation, so what
# setup.py imports (cffi, OpenBLAS, the translator's parser) is installed first.
$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet setuptools wheel "cffi>=1.17" "scipy-openblas32>=0.3.27" "pycparserext==2026.1" "pycparser>=3.0,<3.1"
	$(PIP) install --quiet --no-build-isolation -e '.[dev,mpi,onnx]'
	touch $@

setup: $(STAMP)

# The cffi host library (dnn/_native*.so) and the card executable (dnn/bin/dnn-card), in place.
build/.native: $(STAMP) $(NATIVE_SRC)
	$(PY) setup.py --quiet build_ext --inplace --force
	@mkdir -p build && touch $@

# C tests of the runtime (run by tests/test_native.py), built from the same sources and flags.
build/test_offload: build/.native native/tests/test_offload.c
	$(PY) -m dnn._build --c-test native/tests/test_offload.c $@

# The trainer's offloads as a C program writes them (run by tests/test_native.py).
build/test_trainer_offload: build/.native native/tests/test_trainer_offload.c
	$(PY) -m dnn._build --c-test native/tests/test_trainer_offload.c $@

build: build/.native build/test_offload build/test_trainer_offload

test: build
	$(PY) -m pytest -q

# Train in implicit mode and leave the run under $(DEMO) (checkpoint, metrics, curves), then print
# the commands that use it. The printing is the train CLI's --next-steps, so the commands name the
# files this run really wrote (tests/test_newcomer.py runs them). DEMO_ARGS adds train options.
DEMO      ?= out/demo
DEMO_ARGS ?=
demo: build
	@mkdir -p $(DEMO)
	$(PY) -m dnn.train --mode implicit --checkpoint $(DEMO)/checkpoint.h5 --metrics $(DEMO)/metrics.json \
	    --plot $(DEMO)/curves.png --next-steps $(DEMO_ARGS)

# Native code and every test under AddressSanitizer + UndefinedBehaviorSanitizer. Rebuilds in
# place with the sanitizers, runs the suite (Python loads libasan first), then marks the normal
# build stale so the next `make build` restores it. handle_segv=0: the deliberate crash tests
# expect a real SIGSEGV, not ASan's report of it.
SAN_ENV := LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
           ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:handle_segv=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sanitize: $(STAMP)
	rm -f build/.native
	DNN_SANITIZE=1 $(PY) setup.py --quiet build_ext --inplace --force
	DNN_SANITIZE=1 $(PY) -m dnn._build --c-test native/tests/test_offload.c build/test_offload
	DNN_SANITIZE=1 $(PY) -m dnn._build --c-test native/tests/test_trainer_offload.c build/test_trainer_offload
	$(SAN_ENV) $(PY) -m pytest -q -p no:cacheprovider; status=$$?; \
	    rm -f build/.native build/test_offload build/test_trainer_offload; exit $$status

# ThreadSanitizer on the CHAOS workers (tests/test_workers.py: hogwild runs in host, implicit and
# explicit mode): native/dnn/tsan.supp lets the hogwild updates race and nothing else; any report
# (one file per process in build/tsan/) fails the target. The rest of the trainer's OpenMP regions
# are not run here: libgomp's fork and join are invisible to TSan (see native/dnn/tsan_sync.c).
TSAN_ENV := LD_PRELOAD="$$(gcc -print-file-name=libtsan.so)" \
            TSAN_OPTIONS="suppressions=$(CURDIR)/native/dnn/tsan.supp log_path=$(CURDIR)/build/tsan/report"
sanitize-thread: $(STAMP)
	rm -f build/.native
	DNN_SANITIZE=thread $(PY) setup.py --quiet build_ext --inplace --force
	rm -rf build/tsan && mkdir -p build/tsan
	$(TSAN_ENV) $(PY) -m pytest -q -p no:cacheprovider tests/test_workers.py; status=$$?; \
	    rm -f build/.native; \
	    if ls build/tsan/report.* >/dev/null 2>&1; then cat build/tsan/report.*; status=1; fi; exit $$status

clean:
	rm -rf build dnn/_native*.so dnn/_native.c dnn/bin *.egg-info
