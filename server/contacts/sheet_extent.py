"""How large a worksheet of an .xlsx is, found before a reader allocates it.

python-calamine builds a sheet as one dense rectangle from its first to its
last cell: a 1.8 KB file with cells A1 and XFD1048576 asks for 512 GiB and
the process aborts. So before calamine loads a sheet we look at it ourselves,
in bounded memory:

1. the sheet's ``<dimension ref="A1:XFD1048576"/>`` (near the top of the
   sheet XML), refused at once when it is over the caps (``limits.py``);
2. then a streaming scan of the sheet XML for every ``<row r=…>`` and
   ``<c r=…>``, because the dimension is optional and may lie: the
   rectangle of the cells really present is what calamine allocates. The
   scan stops at the first cell that takes the rectangle over a cap.

The scan reads the zip member in 1 MiB pieces (a deflate bomb costs time,
which the child process's time limit bounds, never memory).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from xml.etree import ElementTree

from . import limits
from .limits import ReadError

_CHUNK = 1 << 20
#: workbook.xml and the relationship parts are small; more than this is not a workbook we take.
_SMALL_PART_MAX = 8 << 20
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\bref=\"([^\"]*)\"")
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)\b([^>]*)>")
_ROW_R = re.compile(rb"\sr=\"(\d+)\"")
_CELL_R = re.compile(rb"\sr=\"([A-Z]{1,3})(\d+)\"")
# The fast path: unprefixed tags with r="…" first, as Excel and most writers put them.
_PLAIN_CELL = re.compile(rb"<c r=\"([A-Z]{1,3})(\d+)\"")
_PLAIN_ROW = re.compile(rb"<row r=\"(\d+)\"")
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:c|row)[\s/>]")
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


def check_workbook_sheet(path: str, sheet_name: str, display_name: str) -> None:
    """Refuse (``ReadError``) the sheet ``sheet_name`` of the .xlsx at
    ``path`` when its dimension or its cells span more than the caps."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = _sheet_members(zf, sheet_name)
            for member in members:
                _check_member(zf, member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        if isinstance(exc, ReadError):
            raise
        raise ReadError.korean("'{name}' 파일이 올바른 엑셀 통합 문서가 아닙니다 (압축 구조가 손상됨).",
                               name=display_name) from None


def _read_small(zf: zipfile.ZipFile, name: str) -> bytes:
    with zf.open(name) as fh:
        data = fh.read(_SMALL_PART_MAX + 1)
    if len(data) > _SMALL_PART_MAX:
        raise ValueError(f"{name} is larger than {_SMALL_PART_MAX} bytes")
    return data


def _sheet_members(zf: zipfile.ZipFile, sheet_name: str) -> list[str]:
    """The zip member(s) holding ``sheet_name``: found through workbook.xml and
    its relationships; every worksheet part when they cannot be followed (a
    damaged workbook calamine may still open: then every sheet is bounded)."""
    names = set(zf.namelist())
    try:
        workbook = "xl/workbook.xml"
        if "_rels/.rels" in names:
            for rel in ElementTree.fromstring(_read_small(zf, "_rels/.rels")).iter(_PKG_REL):
                if rel.get("Type", "").endswith("/officeDocument"):
                    workbook = rel.get("Target", workbook).lstrip("/")
        base = posixpath.dirname(workbook)
        rels_name = posixpath.join(base, "_rels", posixpath.basename(workbook) + ".rels")
        targets = {rel.get("Id"): rel.get("Target", "")
                   for rel in ElementTree.fromstring(_read_small(zf, rels_name)).iter(_PKG_REL)}
        root = ElementTree.fromstring(_read_small(zf, workbook))
        for sheet in root.iter():
            if sheet.tag.endswith("}sheet") and sheet.get("name") == sheet_name:
                target = targets.get(sheet.get(_REL_NS + "id"), "")
                member = target.lstrip("/") if target.startswith("/") else \
                    posixpath.normpath(posixpath.join(base, target))
                if member in names:
                    return [member]
    except (KeyError, ElementTree.ParseError):
        pass
    return sorted(n for n in names if re.fullmatch(r"(?:.*/)?worksheets/[^/]+\.xml", n))


class _Extent:
    """The rectangle of the cells seen so far, and where the scan is (rows
    and cells may leave out ``r="…"``: then they follow the previous one)."""

    def __init__(self):
        self.first_row = self.first_col = self.last_row = self.last_col = None
        self.row = 0
        self.col = 0

    def add(self, row_lo: int, row_hi: int, col_lo: int, col_hi: int) -> None:
        if self.first_row is None:
            self.first_row, self.last_row, self.first_col, self.last_col = row_lo, row_hi, col_lo, col_hi
        elif row_lo >= self.first_row and row_hi <= self.last_row and col_lo >= self.first_col \
                and col_hi <= self.last_col:
            return
        else:
            self.first_row, self.last_row = min(self.first_row, row_lo), max(self.last_row, row_hi)
            self.first_col, self.last_col = min(self.first_col, col_lo), max(self.last_col, col_hi)
        limits.check_sheet(self.first_row, self.first_col, self.last_row, self.last_col)

    def scan(self, data: bytes, end: int) -> None:
        """Every row and cell tag of ``data[:end]``."""
        cells = _PLAIN_CELL.findall(data, 0, end)
        rows = _PLAIN_ROW.findall(data, 0, end)
        if cells and len(cells) == sum(data.count(t, 0, end) for t in (b"<c ", b"<c>", b"<c/>")) \
                and len(rows) == sum(data.count(t, 0, end) for t in (b"<row ", b"<row>", b"<row/>")) \
                and _PREFIXED.search(data, 0, end) is None:
            # Every tag says where it is (what Excel and nearly every writer
            # do): the rectangle at C speed.
            numbers = [int(r) for r in {r for _, r in cells}]
            columns = [limits.column_number(c.decode()) for c in {c for c, _ in cells}]
            self.add(min(numbers), max(numbers), min(columns), max(columns))
            self.row, self.col = int(cells[-1][1]), limits.column_number(cells[-1][0].decode())
            if rows and int(rows[-1]) > self.row:
                self.row, self.col = int(rows[-1]), 0
            return
        for tag in _TAG.finditer(data, 0, end):
            attrs = tag.group(2)
            if tag.group(1) == b"row":
                r = _ROW_R.search(attrs)
                self.row = int(r.group(1)) if r else self.row + 1
                self.col = 0
                continue
            r = _CELL_R.search(attrs)
            if r:
                self.col = limits.column_number(r.group(1).decode())
                self.row = int(r.group(2))
            else:
                self.col += 1
            row = max(self.row, 1)
            self.add(row, row, self.col, self.col)


def _check_member(zf: zipfile.ZipFile, member: str) -> None:
    extent = _Extent()
    looked_for_dimension = False
    tail = b""
    with zf.open(member) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            data = tail + chunk
            cut = data.rfind(b">") + 1 if chunk else len(data)
            if not looked_for_dimension and (len(data) >= 4096 or not chunk):
                looked_for_dimension = True
                head = data[:data.find(b"<sheetData") if b"<sheetData" in data else len(data)]
                match = _DIMENSION.search(head)
                if match:
                    _check_dimension(match.group(1).decode("ascii", "replace"))
            extent.scan(data, cut)
            if not chunk:
                break
            tail = data[cut:]
            if len(tail) > _CHUNK:  # one tag longer than a megabyte: not a sheet we take
                raise ValueError("an XML tag longer than 1 MiB")


def _check_dimension(ref: str) -> None:
    match = _REF.match(ref.strip().upper())
    if not match:
        return  # unreadable: the scan decides
    c1, r1, c2, r2 = match.groups()
    first_col, first_row = limits.column_number(c1), int(r1)
    last_col, last_row = (limits.column_number(c2), int(r2)) if c2 else (first_col, first_row)
    first_row, last_row = sorted((first_row, last_row))
    first_col, last_col = sorted((first_col, last_col))
    try:
        limits.check_sheet(first_row, first_col, last_row, last_col)
    except ReadError:
        rows, cols = last_row - first_row + 1, last_col - first_col + 1
        raise limits.sheet_too_large(ref.strip(), rows, cols) from None
