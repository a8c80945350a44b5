"""Hostile call-list files, built at run time (they are small; the test
writes them, nothing is committed)."""

from __future__ import annotations

import io
import re
import zipfile

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="명단" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def workbook(cells: dict[str, str], dimension: str | None = None) -> bytes:
    """An .xlsx whose one sheet holds ``cells`` ({"A1": "전화번호", …}) as
    inline strings, with ``<dimension ref=…>`` when given (true or not)."""
    rows: dict[int, list[tuple[str, str]]] = {}
    for ref, value in cells.items():
        rows.setdefault(int(re.fullmatch(r"[A-Z]+(\d+)", ref).group(1)), []).append((ref, value))
    data = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>' for ref, v in row)
        + "</row>" for r, row in sorted(rows.items()))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'{dim}<sheetData>{data}</sheetData></worksheet>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


HEADER = {"A1": "전화번호", "A2": "010-1234-5678"}


def corner_workbook() -> bytes:
    """A1 and XFD1048576: calamine would ask for 512 GiB."""
    return workbook({**HEADER, "XFD1048576": "끝"}, dimension="A1:XFD1048576")


def sparse_middle_workbook() -> bytes:
    """A1 and one cell far away in the middle of the sheet, no dimension."""
    return workbook({**HEADER, "LZZ524288": "가운데"})


def lying_workbook() -> bytes:
    """Says A1:A2, holds XFD1048576."""
    return workbook({**HEADER, "XFD1048576": "끝"}, dimension="A1:A2")


def heavy_workbook() -> bytes:
    """Within every cap (9 columns × 1,048,576 rows = 9,437,184 cells) yet
    a rectangle of nine million cells to build: costs memory and seconds."""
    return workbook({**HEADER, "I1048576": "끝"})


def wide_csv() -> bytes:
    """One line of 357,000 columns (about 700 KB)."""
    return ",".join(["1"] * 357_000).encode() + b"\n"


def long_cell_csv(path) -> None:
    """A header and one cell of 52,428,800 characters (50 MiB), written to ``path``."""
    with open(path, "wb") as fh:
        fh.write("전화번호\n".encode())
        fh.write(b"7" * (50 * 1024 * 1024))
        fh.write(b"\n")
