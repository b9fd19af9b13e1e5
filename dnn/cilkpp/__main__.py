"""python -m dnn.cilkpp IN.cilk -o OUT.c [-I DIR ...]"""

import argparse
import sys

from . import CilkppError, translate


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m dnn.cilkpp",
                                 description="Translate Cilk Plus offload code (.cilk) into C on dnn's runtime.")
    ap.add_argument("input")
    ap.add_argument("-o", "--output", help="output C file (default: stdout)")
    ap.add_argument("-I", dest="include_dirs", action="append", default=[], help="include directory")
    a = ap.parse_args(argv)
    try:
        with open(a.input) as f:
            src = f.read()
        out = translate(src, a.input, a.include_dirs)
    except CilkppError as e:
        print(e, file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{a.input}: error: {e}", file=sys.stderr)
        return 1
    if a.output:
        with open(a.output, "w") as f:
            f.write(out)
    else:
        sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
