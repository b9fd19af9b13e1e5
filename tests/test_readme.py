"""The README's commands work: every fenced ```sh or ```python block right after a line
`<!-- test -->` runs here, in order, in one temporary folder, with DNN_DATA pointing to a folder
whose default dataset is the small test dataset (so `--epochs 1` takes seconds). Blocks that need
the full dataset or take long are simply not marked."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT

MARK = "<!-- test -->"
FENCE = re.compile(r"^```(\w*)\s*$")


def marked_blocks(text: str) -> list[tuple[int, str, str]]:
    """(line number, language, code) of each fenced block whose previous non-blank line is MARK."""
    lines = text.splitlines()
    blocks, i, prev = [], 0, ""
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m and m.group(1):
            start, lang = i + 1, m.group(1)
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            if prev.strip() == MARK:
                blocks.append((start, lang, "\n".join(lines[i + 1:j]) + "\n"))
            i, prev = j + 1, "```"
            continue
        if lines[i].strip():
            prev = lines[i]
        i += 1
    return blocks


def test_only_marked_blocks_are_taken():
    text = "\n".join(["```sh", "not marked", "```", MARK, "", "```sh", "echo yes", "```",
                      MARK, "some prose", "```sh", "prose in between", "```", MARK, "```python", "print(1)", "```"])
    assert marked_blocks(text) == [(6, "sh", "echo yes\n"), (15, "python", "print(1)\n")]


README_BLOCKS = marked_blocks((ROOT / "README.md").read_text())


def test_readme_marks_quick_blocks_only():
    assert len(README_BLOCKS) >= 3
    for line, lang, code in README_BLOCKS:
        assert lang in ("sh", "python"), f"README.md:{line}: only sh and python blocks can be tested"
        # The full default dataset or long runs must stay out of the suite.
        for slow in ("make ", "dnn.compare", "dnn.chunk fashion-mnist"):
            assert slow not in code, f"README.md:{line}: '{slow.strip()}' is too slow for the suite"
        assert set(re.findall(r"--epochs (\d+)", code)) <= {"1"}, f"README.md:{line}: train one epoch at most"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, newcomer_env):
    """A folder to run in, and an environment whose default dataset is the small one."""
    return tmp_path_factory.mktemp("readme") / "run", newcomer_env


def test_readme_commands_run(workspace):
    cwd, env = workspace
    cwd.mkdir()
    for line, lang, code in README_BLOCKS:
        cmd = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"README.md:{line} ({lang} block) failed:\n{code}\n--- stdout\n{r.stdout}\n" \
                                  f"--- stderr\n{r.stderr}"
    # What the newcomer's commands promise to leave behind.
    for name in ("run.h5", "run.json", "run.png", "confusion.png", "curves.png", "model.npz"):
        assert (cwd / name).is_file() and (cwd / name).stat().st_size > 0, name
    for png in ("run.png", "confusion.png", "curves.png"):
        assert (cwd / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
