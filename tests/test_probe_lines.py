"""tools/probe_lines.c builds as its opening comment says and measures: per line, the read and the
write of lines the other core wrote, against the same loops on a thread's own lines."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_probe_lines_builds_and_reports(tmp_path):
    exe = tmp_path / "probe_lines"
    subprocess.run(["gcc", "-O2", "-march=native", "-pthread", "-o", str(exe), str(ROOT / "tools/probe_lines.c")],
                   check=True)
    out = subprocess.run([str(exe), "64", "50"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.startswith("64 lines, 50 turns per thread"), out
    for what in ("read", "write"):
        m = re.search(rf"^{what}:\s+([\d.]+) .* ([\d.]+)  own lines\s+crossing\s+([+-][\d.]+)$", out, re.M)
        assert m, out
        shared, own, crossing = map(float, m.groups())
        assert shared > 0 and own > 0 and abs(crossing - (shared - own)) < 0.02, out
    bad = subprocess.run([str(exe), "0"], capture_output=True, text=True, timeout=10)
    assert bad.returncode == 2 and "usage" in bad.stderr
