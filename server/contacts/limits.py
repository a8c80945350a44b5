"""The size a call list may have, and the Korean refusals when it has more.

Pure: numbers (or a text file's bytes) in, a :class:`ReadError` out
(``reader`` raises it too). The
readers check these BEFORE they allocate a table (``reader.py`` for text,
``sheet_extent.py`` for workbooks), so a small hostile file is refused
instead of being blown up into gigabytes. The caps are far above any real
call list (a call list has a number, a name, an address and a few notes) and
at or below Excel's own limits; docs/decisions.md #50 says why each.
"""

from __future__ import annotations

import csv

import numpy as np


class ReadError(ValueError):
    """An uploaded file that cannot be used as a call list; ``message`` says why.

    ``template`` and ``values``, when given, are the Korean message for
    ``server.i18n`` to translate (``message`` is then that text in Korean)."""

    def __init__(self, message: str, *, template: str | None = None, values: dict | None = None):
        self.message = message
        self.template = template
        self.values = dict(values or {})
        super().__init__(message)

    @classmethod
    def korean(cls, template: str, **values) -> "ReadError":
        """An error whose message is ``template`` (Korean, ``str.format`` fields) filled in."""
        return cls(template.format(**values), template=template, values=values)


#: Excel's own sheet limits (since Excel 2007).
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384

#: Our caps, for every format.
MAX_COLUMNS = 64
MAX_ROWS = 2_000_000
MAX_CELL_CHARS = 1_000
#: Rows × columns of the rectangle a reader would hold (a sparse sheet's
#: empty cells cost memory as well): 2,000,000 rows of 5 columns.
MAX_CELLS = 10_000_000
#: The longest line a text file may have: MAX_COLUMNS cells of MAX_CELL_CHARS
#: characters of at most 4 UTF-8 bytes each, with their separators and quotes.
MAX_LINE_BYTES = MAX_COLUMNS * (MAX_CELL_CHARS * 4 + 3)


def column_letters(col: int) -> str:
    """1 → A, 27 → AA, 16384 → XFD."""
    letters = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """A → 1, AA → 27, XFD → 16384 (0 for an empty string)."""
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def sheet_ref(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    return f"{column_letters(first_col)}{first_row}:{column_letters(last_col)}{last_row}"


def too_many_columns(count: int) -> ReadError:
    return ReadError.korean("열이 너무 많습니다: {count:,}개 (최대 {max:,}개)", count=count, max=MAX_COLUMNS)


def too_many_rows(count: int) -> ReadError:
    return ReadError.korean("행이 너무 많습니다: {count:,}행 (최대 {max:,}행)", count=count, max=MAX_ROWS)


def cell_too_long(chars: int) -> ReadError:
    return ReadError.korean("칸 하나의 글자가 너무 깁니다: {chars:,}자 (최대 {max:,}자)",
                            chars=chars, max=MAX_CELL_CHARS)


def sheet_too_large(ref: str, rows: int, cols: int) -> ReadError:
    return ReadError.korean(
        "시트 범위가 너무 큽니다: {ref} ({rows:,}행 × {cols:,}열; 최대 {max_cols:,}열, {max_cells:,}칸)",
        ref=ref, rows=rows, cols=cols, max_cols=MAX_COLUMNS, max_cells=MAX_CELLS)


def check_sheet(first_row: int, first_col: int, last_row: int, last_col: int) -> None:
    """Refuse a sheet rectangle (1-based, inclusive) that is over a cap."""
    rows, cols = last_row - first_row + 1, last_col - first_col + 1
    if (last_row > EXCEL_MAX_ROWS or last_col > EXCEL_MAX_COLUMNS or cols > MAX_COLUMNS
            or rows > MAX_ROWS or rows * cols > MAX_CELLS):
        raise sheet_too_large(sheet_ref(first_row, first_col, last_row, last_col), rows, cols)


def check_table(rows: int, cols: int) -> None:
    """Refuse a text table of ``rows`` lines and ``cols`` fields that is over a cap."""
    if cols > MAX_COLUMNS:
        raise too_many_columns(cols)
    if rows > MAX_ROWS:
        raise too_many_rows(rows)
    if rows * cols > MAX_CELLS:
        raise ReadError.korean("표가 너무 큽니다: {rows:,}행 × {cols:,}열 (최대 {max:,}칸)",
                               rows=rows, cols=cols, max=MAX_CELLS)


_SCAN_BYTES = 8 << 20


def _longest_line(data: bytes) -> tuple[int, int]:
    """(length, offset) of the longest line of ``data``, in 8 MiB pieces."""
    arr = np.frombuffer(data, dtype=np.uint8)
    best, best_at, start = 0, 0, 0
    for off in range(0, len(arr), _SCAN_BYTES):
        ends = np.flatnonzero(arr[off:off + _SCAN_BYTES] == 10) + off
        if len(ends):
            starts = np.concatenate(([start], ends[:-1] + 1))
            lengths = ends - starts
            i = int(lengths.argmax())
            if lengths[i] > best:
                best, best_at = int(lengths[i]), int(starts[i])
            start = int(ends[-1]) + 1
    if len(arr) - start > best:
        best, best_at = len(arr) - start, start
    return best, best_at


def _fields(line: bytes, sep: str) -> list[str]:
    """The cells of one line (quotes understood), however long they are."""
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, len(line) + 1))
    try:
        return next(csv.reader([line.decode("utf-8", "replace").rstrip("\r\n")], delimiter=sep), [])
    except csv.Error:
        return [line.decode("utf-8", "replace")]
    finally:
        csv.field_size_limit(old_limit)


def check_text(data: bytes, sep: str) -> int:
    """Refuse a text table over the caps (py) BEFORE pandas builds it:
    too many lines, a line too long (it holds too many cells or one too long
    a cell; that line alone is split to say which), a first line of too many
    cells. Returns the number of lines."""
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if lines > MAX_ROWS:
        raise too_many_rows(lines)
    longest, at = _longest_line(data)
    if longest > MAX_LINE_BYTES:
        cells = _fields(data[at:at + longest], sep)
        if len(cells) > MAX_COLUMNS:
            raise too_many_columns(len(cells))
        raise cell_too_long(max(map(len, cells), default=longest))
    end = data.find(b"\n")
    check_table(lines, len(_fields(data[:end if end >= 0 else len(data)], sep)))
    return lines
