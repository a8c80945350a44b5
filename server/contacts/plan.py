"""Turn an uploaded call list into an import plan.

:func:`prepare_import` reads the file, finds the columns, normalises every
phone number, drops duplicates and do-not-call numbers, and returns an
:class:`ImportPlan`: the rows to import, the rejects with the reason for each,
and the counts. Nothing is written here (``server/contacts/importer.py``
stores a plan through ``db.import_contact_list``);
:func:`write_rejects_xlsx` writes the rejects for the manager to download.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..reports import labels
from . import phone_numbers
from .reader import ColumnMap, column_labels, detect_columns, read_table

__all__ = [
    "ImportPlan",
    "REJECT_MESSAGES",
    "REJECT_LABELS_KO",
    "prepare_import",
    "write_rejects_xlsx",
]

Progress = Callable[[str, float], None]

REJECT_MESSAGES: dict[str, str] = {
    **phone_numbers.REASONS,
    "duplicate": "Duplicate: the same number is already on an earlier row.",
    "do_not_call": "On the do-not-call list (수신거부): this number must not be called.",
}

# The 사유 column of the rejects workbook: the words the preview shows too.
REJECT_LABELS_KO: dict[str, str] = labels.REJECT_REASONS

PREVIEW_ROWS = 20
VALID_COLUMNS = ["row_number", "phone", "name", "address", "extra"]
REJECT_COLUMNS = ["row_number", "value", "reason", "message"]


@dataclass
class ImportPlan:
    """What an import would do. ``valid`` and ``rejects`` are sorted by row number."""

    columns: ColumnMap
    headers: list[str]
    preview: list[dict]
    rows: int
    valid: pd.DataFrame
    rejects: pd.DataFrame
    imported: int
    invalid: int
    duplicates: int
    do_not_call: int
    timings: dict[str, float] = field(default_factory=dict)

    def contact_columns(self) -> list[list]:
        """The valid rows as ``db.store_contacts`` takes them: row numbers,
        phones, names, addresses and extra fields, in file order."""
        valid = self.valid
        return [valid["row_number"].to_numpy(dtype=np.int64).tolist(),
                *(valid[c].to_numpy(dtype=object, na_value=None).tolist()
                  for c in ("phone", "name", "address", "extra"))]

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "invalid": self.invalid,
            "duplicates": self.duplicates,
            "do_not_call": self.do_not_call,
        }


def _noop(stage: str, fraction: float) -> None:
    pass


def _text_or_none(values: np.ndarray | None, n: int) -> np.ndarray:
    """Stripped text as an object array, None for empty cells (all None without a column)."""
    out = np.empty(n, dtype=object)
    if values is not None and n:
        out[:] = [v.strip() or None for v in values]
    return out


def prepare_import(
    path: str | os.PathLike,
    filename: str | None = None,
    do_not_call: Iterable[str] = frozenset(),
    progress: Progress | None = None,
) -> ImportPlan:
    """Read ``path`` (uploaded as ``filename``) and plan its import.

    ``do_not_call``: numbers (any format) that must not be imported.
    ``progress(stage, fraction)`` is called with stages "read", "normalise"
    and "dedupe". Raises :class:`ReadError` for a file that cannot be used
    at all; a partly bad file gives a plan with rejects.
    """
    progress = progress or _noop
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    progress("read", 0.0)
    df = read_table(path, filename)
    columns = detect_columns(df)
    headers = column_labels(df, columns)
    data = columns.data_rows(df)
    del df
    progress("read", 1.0)
    timings["read"] = time.perf_counter() - t0

    progress("normalise", 0.0)
    t1 = time.perf_counter()
    phone_raw = data[columns.phone].to_numpy(dtype=object, na_value="")
    canon, reason, keys = phone_numbers.normalize_array(phone_raw)

    # A row whose cells are only spaces is a blank row, not a reject.
    empty_rows = np.flatnonzero(reason == "empty")
    if len(empty_rows):
        blank = np.ones(len(empty_rows), dtype=bool)
        for j in range(data.shape[1]):
            cells = data.iloc[empty_rows, j].to_numpy(dtype=object, na_value="")
            blank &= np.array([not v.strip() for v in cells], dtype=bool)
        if blank.any():
            keep = np.ones(len(data), dtype=bool)
            keep[empty_rows[blank]] = False
            data = data.iloc[keep]
            phone_raw, canon, reason, keys = phone_raw[keep], canon[keep], reason[keep], keys[keep]
    progress("normalise", 1.0)
    timings["normalise"] = time.perf_counter() - t1

    progress("dedupe", 0.0)
    t2 = time.perf_counter()
    n = len(data)
    row_numbers = data.index.to_numpy(dtype=np.int64)
    valid_mask = keys >= 0

    # Number each distinct number in order of first appearance (int keys: fast).
    valid_idx = np.flatnonzero(valid_mask)
    codes, uniques = pd.factorize(keys[valid_idx])

    # Do-not-call numbers, compared in canonical form.
    dnc_mask = np.zeros(n, dtype=bool)
    dnc_values = [str(v) for v in do_not_call if v is not None]
    if dnc_values and len(valid_idx):
        _, _, dnc_keys = phone_numbers.normalize_array(np.array(dnc_values, dtype=object))
        blocked = np.isin(uniques, dnc_keys[dnc_keys >= 0])
        dnc_mask[valid_idx[blocked[codes]]] = True
    progress("dedupe", 0.3)

    # Duplicates among the rest; the first occurrence wins.
    dup_mask = np.zeros(n, dtype=bool)
    first_of = np.zeros(n, dtype=np.int64)
    rest = ~dnc_mask[valid_idx]
    rest_idx, rest_codes = valid_idx[rest], codes[rest]
    if len(rest_idx):
        # Codes count up in order of first appearance (do-not-call removed
        # whole numbers, which keeps that order): a row is the first of its
        # number exactly when its code is larger than every code before it.
        seen_max = np.maximum.accumulate(rest_codes)
        is_first = np.empty(len(rest_codes), dtype=bool)
        is_first[0] = True
        is_first[1:] = rest_codes[1:] > seen_max[:-1]
        if not is_first.all():
            first_row_of_code = np.zeros(len(uniques), dtype=np.int64)
            first_row_of_code[rest_codes[is_first]] = row_numbers[rest_idx[is_first]]
            dups = rest_idx[~is_first]
            dup_mask[dups] = True
            first_of[dups] = first_row_of_code[rest_codes[~is_first]]
    progress("dedupe", 0.6)

    keep_idx = np.flatnonzero(valid_mask & ~dnc_mask & ~dup_mask)

    def kept_column(j: int | None) -> np.ndarray | None:
        if j is None:
            return None
        return data[j].to_numpy(dtype=object, na_value="")[keep_idx]

    k = len(keep_idx)
    valid = pd.DataFrame(
        {
            "row_number": row_numbers[keep_idx],
            "phone": pd.Series(canon[keep_idx], dtype=object),
            "name": pd.Series(_text_or_none(kept_column(columns.name), k), dtype=object),
            "address": pd.Series(_text_or_none(kept_column(columns.address), k), dtype=object),
            "extra": pd.Series(_extra_json([kept_column(j) for j in columns.extras], list(columns.extras.values()), k),
                               dtype=object),
        },
        columns=VALID_COLUMNS,
    )
    rejects = _rejects(phone_raw, row_numbers, reason, dnc_mask, dup_mask, first_of)
    progress("dedupe", 1.0)
    timings["dedupe"] = time.perf_counter() - t2

    preview = _preview(data.head(PREVIEW_ROWS), columns, canon, reason, dnc_mask, dup_mask, first_of)
    return ImportPlan(
        columns=columns,
        headers=headers,
        preview=preview,
        rows=n,
        valid=valid,
        rejects=rejects,
        imported=len(valid),
        invalid=int(n - valid_mask.sum()),
        duplicates=int(dup_mask.sum()),
        do_not_call=int(dnc_mask.sum()),
        timings=timings,
    )


def _extra_json(columns: list[np.ndarray], labels: list[str], n: int) -> np.ndarray:
    """One JSON object per row of the non-empty extra fields (None when there are none)."""
    out = np.full(n, None, dtype=object)
    if not columns or not n:
        return out
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    for i, cells in enumerate(zip(*columns)):
        record = {label: v.strip() for label, v in zip(labels, cells) if v and not v.isspace()}
        if record:
            out[i] = dumps(record)
    return out


def _duplicate_message(first_row: int) -> str:
    # Stored with the reject; labels.reject_explained reads "row N" back for the Korean sentence.
    return f"Duplicate: the same number is already on row {first_row}."


def _rejects(phone_raw, row_numbers, reason_arr, dnc_mask, dup_mask, first_of) -> pd.DataFrame:
    reasons = np.asarray(reason_arr, dtype=object).copy()
    reasons[dnc_mask] = "do_not_call"
    reasons[dup_mask] = "duplicate"
    idx = np.flatnonzero(pd.notna(reasons)) if len(reasons) else np.zeros(0, dtype=np.int64)
    reason_sel = reasons[idx]
    messages = pd.Series(reason_sel, dtype=object).map(REJECT_MESSAGES).to_numpy(dtype=object)
    dup_sel = np.flatnonzero(dup_mask[idx])
    if len(dup_sel):
        messages[dup_sel] = [_duplicate_message(int(r)) for r in first_of[idx[dup_sel]]]
    return pd.DataFrame(
        {
            "row_number": row_numbers[idx],
            "value": phone_raw[idx],
            "reason": reason_sel,
            "message": messages,
        },
        columns=REJECT_COLUMNS,
    )


def _preview(head, columns, canon_arr, reason_arr, dnc_mask, dup_mask, first_of) -> list[dict]:
    rows = []
    for i, (row_number, cells) in enumerate(zip(head.index.tolist(), head.itertuples(index=False, name=None))):
        reason = reason_arr[i]
        message = REJECT_MESSAGES.get(reason) if reason else None
        if dnc_mask[i]:
            reason, message = "do_not_call", REJECT_MESSAGES["do_not_call"]
        elif dup_mask[i]:
            reason, message = "duplicate", _duplicate_message(int(first_of[i]))

        def cell(j):
            if j is None:
                return None
            v = str(cells[j]).strip()
            return v or None

        rows.append(
            {
                "row_number": int(row_number),
                "phone_raw": cells[columns.phone],
                "phone": canon_arr[i] if reason is None else None,
                "name": cell(columns.name),
                "address": cell(columns.address),
                "extra": {label: cell(j) for j, label in columns.extras.items() if cell(j)},
                "reason": reason,
                "message": message,
            }
        )
    return rows


# --------------------------------------------------------------------------


def write_rejects_xlsx(rejects: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the rejects as a workbook: 행 번호, 값, 사유, 설명."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("제외된 번호")
    for letter, width in zip("ABCD", (10, 24, 16, 70)):
        ws.column_dimensions[letter].width = width
    bold = Font(bold=True)
    header = []
    for title in ("행 번호", "값", "사유", "설명"):
        c = WriteOnlyCell(ws, value=title)
        c.font = bold
        header.append(c)
    ws.append(header)

    def text_cell(value) -> WriteOnlyCell:
        # Always text: never a formula (the value came from an upload), never a number.
        c = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value)))
        c.data_type = "s"
        return c

    for row_number, value, reason, message in rejects[REJECT_COLUMNS].itertuples(index=False, name=None):
        ws.append([int(row_number), text_cell(value), labels.reject_reason(reason),
                   text_cell(labels.reject_explained(reason, message))])
    wb.save(os.fspath(path))
