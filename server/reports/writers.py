"""Tables written out: CSV (UTF-8 with BOM, streamed row by row) and .xlsx
(openpyxl's write-only mode: rows go to disk as they come, so a million
rows never sit in memory).

Every text cell is made safe for a spreadsheet: names, notes and a phone's
reasons come from outside, and a cell that starts with ``=``, ``+``, ``-``
or ``@`` would be run as a formula by Excel. In the .xlsx such a value is
written as a plain string cell (never a formula); in the CSV, where a type
cannot be given, it gets a leading apostrophe, the way Excel itself marks
text (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Callable, Iterable, Iterator

from ..operating import SEOUL
from .tables import Column

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
PROGRESS_EVERY = 2000


def _seoul(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, SEOUL).replace(tzinfo=None, microsecond=0)


def _from_iso(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text).astimezone(SEOUL).replace(tzinfo=None, microsecond=0)
    except (TypeError, ValueError):
        return None


def cell_value(column: Column, row: dict, tr: Callable[[str], str]):
    """A column's value for a spreadsheet: numbers as numbers, times as Seoul
    datetimes, Korean labels translated, None as empty."""
    value = column.value(row)
    if value is None or value == "":
        return None
    kind = column.kind
    if kind == "mixed":
        kind = row.get("kind", "text")
    if kind == "label":
        return tr(str(value))
    if kind == "int":
        return int(value)
    if kind == "seconds":
        return round(float(value), 1)
    if kind == "percent":
        return round(float(value) * 100, 1)
    if kind == "time":
        return _seoul(float(value))
    if kind == "iso":
        return _from_iso(value)
    return str(value)


def csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def header_text(column: Column, tr: Callable[[str], str]) -> str:
    header = tr(column.header)
    return header + (" (%)" if column.kind == "percent" else "")


def csv_lines(columns: list[Column], rows: Iterable[dict], tr: Callable[[str], str], *,
              progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """The CSV text in chunks: a BOM (so Excel reads UTF-8 Korean), the
    header line, then about a thousand rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_text(header_text(c, tr)) for c in columns])
    yield BOM + buffer.getvalue()
    buffer.seek(0); buffer.truncate()
    done = 0
    for row in rows:
        writer.writerow([csv_text(cell_value(c, row, tr)) for c in columns])
        done += 1
        if done % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0); buffer.truncate()
            if progress and done % PROGRESS_EVERY == 0:
                progress(done)
    yield buffer.getvalue()
    if progress:
        progress(done)


def write_xlsx(target, sheets: list[tuple[str, list[Column], Iterable[dict]]], tr: Callable[[str], str], *,
               progress: Callable[[int], None] | None = None) -> int:
    """Write ``(title, columns, rows)`` sheets to ``target`` (a path or a
    binary file) in write-only mode; returns the rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    done = 0
    for title, columns, rows in sheets:
        sheet = book.create_sheet(_sheet_title(tr(title)))
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, header_text(column, tr))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in rows:
            sheet.append([_xlsx_cell(sheet, cell_value(c, row, tr)) for c in columns])
            done += 1
            if progress and done % PROGRESS_EVERY == 0:
                progress(done)
    book.save(target)
    if progress:
        progress(done)
    return done


def _xlsx_cell(sheet, value):
    if isinstance(value, str):
        from openpyxl.cell import WriteOnlyCell
        cell = WriteOnlyCell(sheet, _clean_text(value))
        cell.data_type = "s"          # text, never a formula, whatever it starts with
        return cell
    if isinstance(value, dt.datetime):
        from openpyxl.cell import WriteOnlyCell
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return cell
    return value


def _clean_text(text: str) -> str:
    """Characters an .xlsx cannot hold (control characters) are dropped."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:32767]


def _sheet_title(title: str) -> str:
    for ch in "[]:*?/\\":
        title = title.replace(ch, " ")
    return title[:31] or "Sheet"
