"""CSV files (plain or gzip), one example per line: a label column and the inputs."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

from ..errors import DataError
from .rows import SplitSource, as_inputs, as_labels, reading


def _is_number(s: str) -> bool:
    try:
        float(s.strip().strip('"'))
        return True
    except ValueError:
        return False


class CsvSplit(SplitSource):
    """Rows of a CSV file (plain or gzip), parsed a block at a time.

    The label is the first column, the last (label_last) or the named one (label_column, which
    needs a header row). A first line that is not all numbers is taken as the header."""

    def __init__(self, opener, where: str, *, label_column: str | None = None, label_last: bool = False,
                 pixels: bool = False, input_shape: tuple | None = None):
        self.opener, self.where_ = opener, where
        lines = self._lines()
        try:
            first = next(lines, None)
            if first is None:
                raise DataError(f"{where}: holds no rows")
            fields = [f.strip().strip('"') for f in first[1].split(",")]
            self.header = None if all(_is_number(f) for f in fields) else fields
            rows = sum(1 for _ in lines) + (self.header is None)
        finally:
            lines.close()
        self.ncols = len(fields)
        if self.ncols < 2:
            raise DataError(f"{where}: needs a label column and at least one input column, line "
                            f"{first[0]} has {self.ncols} column")
        if label_column is not None:
            if self.header is None:
                raise DataError(f"{where}: --label-column {label_column} needs a header row; the first "
                                "line holds only numbers")
            if label_column not in self.header:
                raise DataError(f"{where}: no column named {label_column!r} in the header (columns: "
                                f"{', '.join(self.header[:12])}{', ...' if len(self.header) > 12 else ''})")
            self.label = self.header.index(label_column)
        else:
            self.label = self.ncols - 1 if label_last else 0
        shape = input_shape or (self.ncols - 1,)
        if int(np.prod(shape)) != self.ncols - 1:
            raise DataError(f"{where}: {self.ncols} columns, expected {int(np.prod(shape)) + 1} "
                            f"(inputs {shape} and a label)")
        super().__init__(where, rows, shape, pixels)

    def _lines(self):
        """(line number, text) of the non-blank lines."""
        with reading(self.where_), self.opener() as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            for no, line in enumerate(text, 1):
                if line.strip():
                    yield no, line

    def blocks(self, start, stop, block_rows):
        lines = self._lines()
        try:
            if self.header is not None:
                self._next(lines)
            for _ in range(start):
                self._next(lines)
            pending = []
            for i in range(start, stop):
                pending.append(self._next(lines))
                if len(pending) == block_rows or i == stop - 1:
                    yield self._parse(pending)
                    pending = []
        finally:
            lines.close()

    def _next(self, lines):
        line = next(lines, None)
        if line is None:  # the file changed since its rows were counted
            raise DataError(f"{self.where}: ends before row {self.rows:,}; did it change while being read?")
        return line

    def _parse(self, lines):
        try:
            with np.errstate(all="ignore"):
                a = np.loadtxt([t for _, t in lines], delimiter=",", dtype=np.float64, ndmin=2,
                               comments=None, quotechar='"')
        except ValueError:
            a = None
        if a is None or a.shape[1] != self.ncols:
            self._explain(lines)
            raise DataError(f"{self.where} lines {lines[0][0]}-{lines[-1][0]}: cannot be read as numbers")
        loc = lambda i: f"{self.where} line {lines[i][0]}"  # noqa: E731
        x = np.delete(a, self.label, axis=1)
        return as_inputs(x, self.pixels, loc), as_labels(a[:, self.label], loc)

    def _explain(self, lines):
        for no, text in lines:
            fields = text.rstrip("\r\n").split(",")
            if len(fields) != self.ncols:
                raise DataError(f"{self.where} line {no}: {len(fields)} columns, expected {self.ncols}")
            for j, f in enumerate(fields, 1):
                if not _is_number(f):
                    raise DataError(f"{self.where} line {no}, column {j}: {f.strip()[:40]!r} is not a number")



def csv_split(path: Path, *, label_column: str | None = None, label_last: bool = False,
              pixels: bool = False) -> CsvSplit:
    """A .csv or .csv.gz file as one split."""
    gz = path.name.lower().endswith(".gz")
    opener = (lambda: gzip.open(path, "rb")) if gz else (lambda: open(path, "rb"))
    return CsvSplit(opener, str(path), label_column=label_column, label_last=label_last, pixels=pixels)
