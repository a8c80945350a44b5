"""Read an uploaded call list into a DataFrame of strings, and find its columns.

:func:`read_table` reads .csv/.txt/.tsv (delimiter and encoding detected) and
.xlsx/.xlsm/.xls (python-calamine). Every cell comes back as ``str`` so leading
zeros survive; the DataFrame's index is the 1-based row number the manager sees
in the spreadsheet, and rows with nothing at all in them are left out.

:func:`detect_columns` decides whether the first row is a header and which
columns hold the phone number, the name and the address.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import limits, phone_numbers, sheet_extent
from .limits import ReadError

__all__ = [
    "ReadError",
    "ColumnMap",
    "TEXT_EXTENSIONS",
    "EXCEL_EXTENSIONS",
    "read_table",
    "detect_columns",
    "column_labels",
]

TEXT_EXTENSIONS = (".csv", ".txt", ".tsv")
EXCEL_EXTENSIONS = (".xlsx", ".xlsm", ".xls")


@dataclass
class ColumnMap:
    has_header: bool
    phone: int
    name: int | None = None
    address: int | None = None
    extras: dict[int, str] = field(default_factory=dict)
    # The header's row number in the file (index label of read_table's frame);
    # usually 1, later under a title row; None without a header.
    header_row: int | None = None

    def data_rows(self, df: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``df`` (from :func:`read_table`) below the header."""
        if self.header_row is None:
            return df
        return df.iloc[int(df.index.searchsorted(self.header_row, side="right")):]


# --------------------------------------------------------------------------
# Reading.


def read_table(path: str | os.PathLike, filename: str | None = None) -> pd.DataFrame:
    """Read a call list file into a DataFrame of ``str`` cells.

    ``filename`` is the name the manager uploaded (the extension decides the
    format); it defaults to the name of ``path``. Columns are 0..n-1, the
    index is the 1-based row number in the source, blank rows are dropped and
    the first row is data (see :func:`detect_columns` for headers).
    Raises :class:`ReadError` with a message for the manager.
    """
    path = os.fspath(path)
    name = filename or os.path.basename(path)
    ext = os.path.splitext(name)[1].lower()
    if ext not in TEXT_EXTENSIONS + EXCEL_EXTENSIONS:
        if not ext:
            raise ReadError.korean("'{name}': 확장자가 없는 파일은 받을 수 없습니다. 호출자료는 .xlsx, .xls, "
                                   ".csv, .txt로 올려 주세요.", name=name)
        raise ReadError.korean("'{name}': '{ext}' 파일은 받을 수 없습니다. 호출자료는 .xlsx, .xls, .csv, "
                               ".txt로 올려 주세요.", name=name, ext=ext)
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ReadError.korean("'{name}' 파일을 열 수 없습니다 ({reason}).", name=name,
                               reason=exc.strerror) from exc
    if size == 0:
        raise ReadError.korean("'{name}' 파일이 비어 있습니다 (0바이트).", name=name)

    if ext in EXCEL_EXTENSIONS:
        df = _read_excel(path, name, ext)
    else:
        df = _read_text(path, name)

    df = _drop_blank(df)
    if df.empty:
        raise ReadError.korean("'{name}'에 자료가 없습니다: 모든 행이 비어 있습니다.", name=name)
    return df


def _drop_blank(df: pd.DataFrame) -> pd.DataFrame:
    """Drop rows whose cells are all empty, and trailing columns that are all empty."""
    if df.shape[1] == 0 or df.shape[0] == 0:
        return df.iloc[0:0, 0:0]
    nonempty = np.zeros((df.shape[0], df.shape[1]), dtype=bool)
    for j in range(df.shape[1]):
        # (both readers give "" for a missing cell, never NA)
        nonempty[:, j] = df.iloc[:, j].to_numpy(dtype=object) != ""
    rows = nonempty.any(axis=1)
    cols = nonempty[rows].any(axis=0)
    last = int(np.flatnonzero(cols)[-1]) + 1 if cols.any() else 0
    if rows.all() and last == df.shape[1]:
        return df
    return df.iloc[rows, :last]


# -- text ------------------------------------------------------------------

_DELIMITERS = ("\t", ",", ";", "|")
_SNIFF_CHARS = 64 * 1024
_QUOTED = re.compile(r'"[^"\n]*"')


def _decode(raw: bytes, name: str) -> tuple[str, str]:
    """Return (text, encoding). UTF-8 (with or without BOM), UTF-16 with BOM, CP949/EUC-KR, else a guess."""
    if raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ReadError.korean("'{name}'은(는) UTF-16 글처럼 시작하지만 올바른 UTF-16이 아닙니다.",
                                   name=name) from exc
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp949"), "cp949"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise ReadError.korean("'{name}'의 글자 인코딩을 알 수 없습니다. CSV UTF-8(또는 엑셀 통합 문서)로 "
                               "저장해서 다시 올려 주세요.", name=name)
    return str(best), best.encoding


def _sniff_delimiter(sample: str, truncated: bool) -> str | None:
    lines = sample.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # may be cut in the middle
    lines = [_QUOTED.sub("", ln) for ln in lines[:200] if ln.strip()]
    if not lines:
        return None
    best, best_score = None, 0.0
    for delim in _DELIMITERS:
        counts = [ln.count(delim) for ln in lines]
        positive = [c for c in counts if c > 0]
        if len(positive) < 0.5 * len(counts):
            continue  # a separator is on (nearly) every line
        mode = max(set(positive), key=positive.count)
        score = len(positive) / len(counts) + sum(1 for c in counts if c == mode) / len(counts)
        if score > best_score:  # ties keep the earlier (tab before comma ...)
            best, best_score = delim, score
    return best


def _read_text(path: str, name: str) -> pd.DataFrame:
    with open(path, "rb") as fh:
        raw = fh.read()
    text, encoding = _decode(raw, name)
    if encoding == "utf-8":
        # already UTF-8: parse the original bytes (without a BOM)
        data = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw
        binary = b"\x00" in data
    else:
        data = None
        binary = "\x00" in text
    del raw
    if binary:
        raise ReadError.korean("'{name}'은(는) 텍스트 파일이 아닙니다 (이진 자료가 들어 있음). "
                               "호출자료는 .xlsx, .xls, .csv, .txt로 올려 주세요.", name=name)
    delimiter = _sniff_delimiter(text[:_SNIFF_CHARS], truncated=len(text) > _SNIFF_CHARS)
    sep = delimiter if delimiter is not None else "\x1f"  # one column: a separator that never occurs
    if data is None:
        data = text.encode("utf-8")
    del text
    lines = limits.check_text(data, sep)

    def parse(width: int | None) -> pd.DataFrame:
        return pd.read_csv(
            io.BytesIO(data),
            sep=sep,
            header=None,
            names=list(range(width)) if width else None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            encoding="utf-8",
            quoting=csv.QUOTE_MINIMAL,
        )

    try:
        try:
            df = parse(None)
        except pd.errors.ParserError:
            # Rows of different lengths: size the table by the longest line.
            width = max(line.count(sep.encode()) for line in data.splitlines()) + 1
            limits.check_table(lines, width)
            df = parse(width)
    except pd.errors.EmptyDataError as exc:
        raise ReadError.korean("'{name}' 파일이 비어 있습니다: 빈 줄뿐입니다.", name=name) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise ReadError.korean("'{name}'을(를) 표로 읽을 수 없습니다: {reason}", name=name,
                               reason=str(exc)[:200]) from exc
    limits.check_table(len(df), df.shape[1])
    for j in range(df.shape[1]):
        longest = max(map(len, df.iloc[:, j].to_numpy(dtype=object)), default=0)
        if longest > limits.MAX_CELL_CHARS:
            raise limits.cell_too_long(longest)
    df.columns = range(df.shape[1])
    df.index = pd.RangeIndex(1, len(df) + 1)
    return df


# -- Excel -----------------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _cell_text(value) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ") if (value.hour or value.minute or value.second) else value.date().isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return str(value)
    return str(value)


def _read_excel(path: str, name: str, ext: str) -> pd.DataFrame:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_OLE_MAGIC)):
        raise ReadError.korean(
            "'{name}'은(는) 올바른 {ext} 파일이 아닙니다: 엑셀 통합 문서가 아닙니다 (손상되었거나 다른 종류의 "
            "파일 이름만 바꾼 것일 수 있습니다). 엑셀에서 열어 .xlsx로 다시 저장하거나 .csv로 올려 주세요.",
            name=name, ext=ext
        )
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(path)
        rows: list[list] = []
        start_row = 0
        for index, sheet_name in enumerate(workbook.sheet_names):
            if head.startswith(_ZIP_MAGIC):
                # calamine allocates the sheet's whole rectangle: bound it first
                sheet_extent.check_workbook_sheet(path, sheet_name, name)
            sheet = workbook.get_sheet_by_index(index)
            # .xls: bounded by its format (65,536 × 256); checked before it grows into Python lists
            if sheet.start and sheet.end:
                limits.check_sheet(sheet.start[0] + 1, sheet.start[1] + 1, sheet.end[0] + 1, sheet.end[1] + 1)
            rows = sheet.to_python(skip_empty_area=True)
            if rows:
                start_row = sheet.start[0] if sheet.start else 0
                break
    except ReadError:
        raise
    except python_calamine.PasswordError as exc:
        raise ReadError.korean("'{name}'에 암호가 걸려 있습니다. 엑셀에서 암호를 없앤 뒤 다시 올려 주세요.",
                               name=name) from exc
    except Exception as exc:  # calamine raises several kinds; all mean the same to the manager
        raise ReadError.korean(
            "'{name}'은(는) 올바른 {ext} 파일이 아닙니다: 스프레드시트로 열 수 없습니다 ({reason}). "
            "엑셀에서 열어 다시 저장하거나 .csv로 올려 주세요.", name=name, ext=ext, reason=type(exc).__name__
        ) from exc
    if not rows:
        raise ReadError.korean("'{name}'에 자료가 없습니다: 통합 문서의 시트가 비어 있습니다.", name=name)

    width = max(len(r) for r in rows)
    columns = []
    for j in range(width):
        col = [r[j] if j < len(r) else "" for r in rows]
        texts = [v if type(v) is str else _cell_text(v) for v in col]
        longest = max(map(len, texts), default=0)
        if longest > limits.MAX_CELL_CHARS:
            raise limits.cell_too_long(longest)
        columns.append(texts)
    df = pd.DataFrame(dict(enumerate(columns)), dtype="str")
    df.index = pd.RangeIndex(start_row + 1, start_row + 1 + len(df))
    return df


# --------------------------------------------------------------------------
# Column detection.


def _key(label: str) -> str:
    return re.sub(r"[^0-9a-z\uac00-\ud7a3]", "", str(label).strip().lower())


# exact header -> strength (higher wins); "번호"/"number" alone are weak: in
# Korean sheets 번호 is often the row number.
_PHONE_EXACT = {
    **dict.fromkeys(
        ["전화번호", "휴대폰", "휴대폰번호", "핸드폰", "핸드폰번호", "연락처", "휴대전화", "휴대전화번호",
         "전화", "phone", "mobile", "tel", "telephone", "cell", "cellphone", "phonenumber",
         "mobilenumber", "mobilephone", "telno", "phoneno", "hp", "휴대번호", "핸드폰no", "연락처번호"], 3),
    **dict.fromkeys(["번호", "number", "no"], 1),
}
_PHONE_PARTS = ("전화", "휴대", "핸드폰", "연락처", "폰", "phone", "mobile", "tel")
_NAME_EXACT = {"이름", "성명", "고객명", "성함", "name", "고객이름", "고객성명", "수신자", "수신자명",
               "fullname", "customername", "customer", "대상자", "성명한글", "고객"}
_NAME_PARTS = ("이름", "성명", "name")
_ADDRESS_EXACT = {"주소", "거주지", "address", "addr", "주소지", "도로명주소", "지번주소", "자택주소", "집주소"}
_ADDRESS_PARTS = ("주소", "address", "addr", "거주지")


def _header_role(label: str) -> tuple[str, int] | None:
    """('phone'|'name'|'address', strength) for a header cell, or None."""
    key = _key(label)
    if not key:
        return None
    if key in _PHONE_EXACT:
        return "phone", _PHONE_EXACT[key]
    if key in _NAME_EXACT:
        return "name", 3
    if key in _ADDRESS_EXACT:
        return "address", 3
    if any(p in key for p in _PHONE_PARTS):
        return "phone", 2
    if any(p in key for p in _ADDRESS_PARTS):
        return "address", 2
    if any(p in key for p in _NAME_PARTS):
        return "name", 2
    return None


_SAMPLE_ROWS = 200
_HEADER_SEARCH_ROWS = 10
_ADDRESS_WORD = re.compile(r"[\uac00-\ud7a3](?:시|도|구|군|동|읍|면|리|로|길)(?=[\s\d,]|$)")
_LETTER = re.compile(r"[A-Za-z\uac00-\ud7a3]")
_DIGIT = re.compile(r"\d")


def _fraction(values: list[str], test) -> float:
    values = [v for v in values if v]
    if not values:
        return 0.0
    return sum(1 for v in values if test(v)) / len(values)


def _is_name_like(v: str) -> bool:
    return len(v) <= 20 and bool(_LETTER.search(v)) and not _DIGIT.search(v)


def _is_address_like(v: str) -> bool:
    return len(v) >= 5 and (" " in v) and bool(_ADDRESS_WORD.search(v))


def _is_text(v: str) -> bool:
    return bool(_LETTER.search(v))


def detect_columns(df: pd.DataFrame) -> ColumnMap:
    """Find the header (if any) and the phone, name and address columns.

    Header cells are matched against Korean and English synonyms (전화번호,
    휴대폰, 연락처, phone, 이름, 성명, name, 주소, address, ...). Without a
    recognisable header the columns are judged by their first
    ~200 values: the phone column is where most values are valid numbers.
    Raises :class:`ReadError` when no column holds phone numbers, or when the
    file has a header and no data rows.
    """
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise ReadError.korean("파일에 자료가 없습니다.")
    ncols = df.shape[1]

    def row_cells(pos: int) -> list[str]:
        return [str(v).strip() for v in df.iloc[pos].tolist()]

    # The header is the first row, or a later one under a title ("2024 명단")
    # when it names the phone column or two kinds of column.
    header_pos: int | None = None
    first: list[str] = row_cells(0)
    roles: list[tuple[str, int] | None] = [_header_role(v) for v in first]
    for pos in range(min(_HEADER_SEARCH_ROWS, len(df))):
        cells_ = row_cells(pos)
        if any(phone_numbers.classify(v)[0] is not None for v in cells_):
            break  # the data has started
        roles_ = [_header_role(v) for v in cells_]
        kinds = {r[0] for r in roles_ if r}
        strong_phone = any(r and r[0] == "phone" and r[1] >= 2 for r in roles_)
        if (pos == 0 and kinds) or strong_phone or len(kinds) >= 2:
            header_pos, first, roles = pos, cells_, roles_
            break
    has_header = header_pos is not None

    def sample_of(frame: pd.DataFrame) -> list[list[str]]:
        head = frame.head(_SAMPLE_ROWS)
        return [[str(v).strip() for v in head.iloc[:, j].tolist()] for j in range(ncols)]

    def phone_scores(frame: pd.DataFrame) -> list[float]:
        head = frame.head(_SAMPLE_ROWS)
        scores = []
        for j in range(ncols):
            col = head.iloc[:, j]
            nonempty = col[col.str.strip() != ""]
            if nonempty.empty:
                scores.append(0.0)
                continue
            canonical, _ = phone_numbers.normalize_series(nonempty)
            scores.append(float(canonical.notna().mean()))
        return scores

    data = df.iloc[header_pos + 1:] if has_header else df
    scores = phone_scores(data)

    if not has_header:
        # Unrecognised header words? A first row of short labels (no digits,
        # no addresses) over a column of numbers.
        best = int(np.argmax(scores)) if scores else 0
        rest_scores = phone_scores(df.iloc[1:]) if len(df) > 1 else [0.0] * ncols
        if (
            len(df) > 1
            and rest_scores[best] >= 0.5
            and first[best]
            and not any(_DIGIT.search(v) for v in first)
            and all(len(v) <= 20 and not _is_address_like(v) for v in first)
        ):
            header_pos, has_header = 0, True
            data = df.iloc[1:]
            scores = rest_scores

    if has_header and len(data) == 0:
        raise ReadError.korean("파일에 제목 행만 있고 자료 행이 없습니다.")

    # Phone column.
    header_phone = [j for j in range(ncols) if has_header and roles[j] and roles[j][0] == "phone"]
    good_header = [j for j in header_phone if scores[j] >= 0.5]
    content = [j for j in range(ncols) if scores[j] >= 0.5]
    if good_header:
        phone = max(good_header, key=lambda j: (roles[j][1], scores[j], -j))
    elif content:
        phone = max(content, key=lambda j: (scores[j], -j))
    elif header_phone:
        phone = max(header_phone, key=lambda j: (roles[j][1], scores[j], -j))
    else:
        raise ReadError.korean("전화번호 열을 찾지 못했습니다: 제목이 전화번호/휴대폰/연락처/phone인 열도, "
                               "대부분 올바른 한국 전화번호로 된 열도 없습니다.")

    taken = {phone}
    name = address = None
    if has_header:
        for role_name in ("name", "address"):
            cands = [j for j in range(ncols) if j not in taken and roles[j] and roles[j][0] == role_name]
            if cands:
                pick = max(cands, key=lambda j: (roles[j][1], -j))
                taken.add(pick)
                if role_name == "name":
                    name = pick
                else:
                    address = pick

    # By content. Under a recognised header, a labelled column ("메모",
    # "성별") keeps its own meaning: only unlabelled ones may be taken as the
    # name, and only one of clear addresses as the address.
    recognised = has_header and any(roles)
    sample = sample_of(data)
    free = [j for j in range(ncols) if j not in taken and not (has_header and roles[j])]
    if address is None:
        fractions = {j: _fraction(sample[j], _is_address_like) for j in free}
        cands = [j for j in free if fractions[j] >= 0.5]
        if cands:
            address = max(cands, key=lambda j: (fractions[j], -j))
            taken.add(address)
            free.remove(address)
    if name is None:
        for j in free:
            if recognised and first[j]:
                continue
            if _fraction(sample[j], _is_name_like) >= 0.6:
                name = j
                taken.add(j)
                free.remove(j)
                break
    if address is None and not recognised:
        start = name if name is not None else phone
        for j in sorted(free, key=lambda j: (j < start, j)):
            if _fraction(sample[j], _is_text) >= 0.5:
                address = j
                taken.add(j)
                free.remove(j)
                break

    extras: dict[int, str] = {}
    used_labels: set[str] = set()
    for j in range(ncols):
        if j in taken:
            continue
        label = first[j] if has_header and first[j] else ""
        if not label and not (data.iloc[:, j] != "").any():
            continue  # an empty column
        label = label or f"col{j + 1}"
        base, k = label, 2
        while label in used_labels:
            label = f"{base} ({k})"
            k += 1
        used_labels.add(label)
        extras[j] = label

    return ColumnMap(
        has_header=has_header, phone=phone, name=name, address=address, extras=extras,
        header_row=int(df.index[header_pos]) if has_header else None,
    )


def column_labels(df: pd.DataFrame, columns: ColumnMap) -> list[str]:
    """A display label per column: the header cell, or ``col1``, ``col2``, ..."""
    header = df.loc[columns.header_row].tolist() if columns.header_row is not None else []
    labels = []
    for j in range(df.shape[1]):
        label = str(header[j]).strip() if j < len(header) else ""
        labels.append(label or f"col{j + 1}")
    return labels
