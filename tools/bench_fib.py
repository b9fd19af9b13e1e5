"""Spawn-heavy recursion: fib(n) with _Cilk_spawn (built by dnn-cc) against the serial C program
(gcc, the same -O level), best of --repeat runs each.

    python tools/bench_fib.py [--n 35] [--threads 2] [--repeat 5] [--sweep]

Prints both times and their ratio (goal: within 3x on 2 threads). --sweep also runs the Cilk
program for n = 0..40 in one process, the case that once took 387 s.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIB = r"""
#include <stdio.h>
#include <stdlib.h>
long fib(int n)
{
    if (n < 2) return n;
    long x = SPAWN fib(n - 1);
    long y = fib(n - 2);
    SYNC;
    return x + y;
}
int main(int argc, char **argv)
{
    int lo = atoi(argv[1]), hi = argc > 2 ? atoi(argv[2]) : lo;
    long s = 0;
    for (int n = lo; n <= hi; n++) s += fib(n);
    printf("%ld\n", s);
    return 0;
}
"""


def best(cmd, env, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - t0)
    return min(times), out.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=35)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--opt", default="-O2")
    ap.add_argument("--sweep", action="store_true")
    a = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="bench-fib-"))
    (d / "fib.c").write_text(FIB.replace("SPAWN", "_Cilk_spawn").replace("SYNC", "_Cilk_sync"))
    (d / "serial.c").write_text(FIB.replace("SPAWN", "").replace("SYNC", "(void)0"))
    subprocess.run(["gcc", a.opt, "-o", str(d / "serial"), str(d / "serial.c")], check=True)
    subprocess.run([sys.executable, "-m", "dnn.cilkpp.driver", a.opt, "-o", str(d / "fib"), str(d / "fib.c")],
                   check=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    ts, vs = best([str(d / "serial"), str(a.n)], env, a.repeat)
    tc, vc = best([str(d / "fib"), str(a.n)], env, a.repeat)
    assert vs == vc, (vs, vc)
    print(f"fib({a.n}) = {vs}: serial C {ts * 1e3:.1f} ms, _Cilk_spawn on {a.threads} thread(s) "
          f"{tc * 1e3:.1f} ms, ratio {tc / ts:.2f}")
    if a.sweep:
        t, _ = best([str(d / "fib"), "0", "40"], env, 1)
        print(f"fib(0..40) with _Cilk_spawn: {t:.2f} s")


if __name__ == "__main__":
    main()
