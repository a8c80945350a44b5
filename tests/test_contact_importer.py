"""Import plans (valid rows, rejects, counts), the rejects workbook, and the
all-or-nothing bulk insert into a real SQLite file."""

from __future__ import annotations

import json
import sqlite3

import openpyxl
import pytest

from server import db
from server.contacts.plan import (
    REJECT_COLUMNS,
    VALID_COLUMNS,
    prepare_import,
    write_rejects_xlsx,
)
from server.db import store_contacts
from server.contacts.reader import ReadError

# Row numbers as the manager sees them in the spreadsheet (header = row 1).
MIXED = [
    ("이름", "전화번호", "주소", "메모"),               # 1
    ("홍길동", "010-1234-5678", "서울시 종로구 1", "지지자"),  # 2 ok
    ("김철수", "+82 10 2222 3333", "부산시 해운대구 2", ""),   # 3 ok
    ("이영희", "abc", "대구시 중구 3", ""),               # 4 not_a_number
    ("박민수", "010-123", "인천시 남동구 4", ""),          # 5 too_short
    ("최지우", "01012345678", "서울시 종로구 5", ""),       # 6 duplicate of 2
    ("정하나", "", "광주시 서구 6", ""),                  # 7 empty
    ("", "", "", ""),                                   # 8 blank: skipped
    ("강두리", "02-123-4567", "서울시 중구 8", "주의"),     # 9 ok
    ("조세희", "+1 212 555 0100", "뉴욕", ""),            # 10 foreign
    ("윤수민", "010-9999-0000", "수원시 팔달구 10", ""),     # 11 do-not-call
    ("  장미  ", "(010) 2222-3333", "부산시 11", ""),      # 12 duplicate of 3
    ("한결", "099-123-4567", "", ""),                   # 13 unknown_prefix
    ("오늘", "010-1234-56789", "", ""),                 # 14 too_long
    ("임꺽정", "010.9999.0000", "", ""),                 # 15 do-not-call again
    ("   ", " ", "  ", ""),                             # 16 spaces only: skipped
    ("서동", "1012345679", "경주시 17", ""),               # 17 ok (lost leading zero)
]


def write_csv(path, rows, encoding="utf-8"):
    path.write_bytes(("\n".join(",".join(r) for r in rows) + "\n").encode(encoding))
    return path


@pytest.fixture
def mixed_plan(tmp_path):
    path = write_csv(tmp_path / "upload.bin", MIXED)
    return prepare_import(path, "선거 명단.csv", do_not_call={"01099990000"})


def test_counts(mixed_plan):
    plan = mixed_plan
    assert plan.rows == 14  # rows 2-17 less the two blank ones
    assert (plan.imported, plan.invalid, plan.duplicates, plan.do_not_call) == (4, 6, 2, 2)
    assert plan.imported + plan.invalid + plan.duplicates + plan.do_not_call == plan.rows
    assert plan.counts() == {"rows": 14, "imported": 4, "invalid": 6, "duplicates": 2, "do_not_call": 2}


def test_valid_rows(mixed_plan):
    valid = mixed_plan.valid
    assert list(valid.columns) == VALID_COLUMNS
    assert valid["row_number"].tolist() == [2, 3, 9, 17]
    assert valid["phone"].tolist() == ["01012345678", "01022223333", "021234567", "01012345679"]
    assert valid["name"].tolist() == ["홍길동", "김철수", "강두리", "서동"]
    assert valid["address"].tolist() == ["서울시 종로구 1", "부산시 해운대구 2", "서울시 중구 8", "경주시 17"]
    extras = valid["extra"].tolist()
    assert json.loads(extras[0]) == {"메모": "지지자"}
    assert extras[1] is None and extras[3] is None
    assert "주의" in extras[2]  # ensure_ascii=False: Korean stays readable


def test_rejects(mixed_plan):
    rejects = mixed_plan.rejects
    assert list(rejects.columns) == REJECT_COLUMNS
    got = [(r.row_number, r.value, r.reason) for r in rejects.itertuples()]
    assert got == [
        (4, "abc", "not_a_number"),
        (5, "010-123", "too_short"),
        (6, "01012345678", "duplicate"),
        (7, "", "empty"),
        (10, "+1 212 555 0100", "foreign"),
        (11, "010-9999-0000", "do_not_call"),
        (12, "(010) 2222-3333", "duplicate"),
        (13, "099-123-4567", "unknown_prefix"),
        (14, "010-1234-56789", "too_long"),
        (15, "010.9999.0000", "do_not_call"),
    ]
    messages = dict(zip(rejects["row_number"], rejects["message"]))
    assert messages[6] == "Duplicate: the same number is already on row 2."
    assert messages[12] == "Duplicate: the same number is already on row 3."
    assert "do-not-call" in messages[11]
    assert "letters" in messages[4]
    assert all(isinstance(m, str) and m for m in rejects["message"])


def test_columns_headers_and_preview(mixed_plan):
    plan = mixed_plan
    assert plan.columns.has_header and (plan.columns.phone, plan.columns.name, plan.columns.address) == (1, 0, 2)
    assert plan.columns.extras == {3: "메모"}
    assert plan.headers == ["이름", "전화번호", "주소", "메모"]
    preview = plan.preview
    assert [p["row_number"] for p in preview] == [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 17]
    first = preview[0]
    assert first == {"row_number": 2, "phone_raw": "010-1234-5678", "phone": "01012345678", "name": "홍길동",
                     "address": "서울시 종로구 1", "extra": {"메모": "지지자"}, "reason": None, "message": None}
    by_row = {p["row_number"]: p for p in preview}
    assert by_row[6]["reason"] == "duplicate" and by_row[6]["phone"] is None
    assert by_row[11]["reason"] == "do_not_call"
    assert by_row[12]["name"] == "장미"


def test_first_occurrence_wins_across_formats(tmp_path):
    rows = [("전화번호",), ("1012345678",), ("+82-10-1234-5678",), ("010 1234 5678",), ("010-1234-5678",)]
    plan = prepare_import(write_csv(tmp_path / "d.csv", rows), "d.csv")
    assert plan.valid["row_number"].tolist() == [2]
    assert plan.rejects["row_number"].tolist() == [3, 4, 5]
    assert set(plan.rejects["message"]) == {"Duplicate: the same number is already on row 2."}


def test_do_not_call_beats_duplicate(tmp_path):
    rows = [("전화번호",), ("010-1111-2222",), ("01011112222",), ("010-3333-4444",)]
    plan = prepare_import(write_csv(tmp_path / "d.csv", rows), "d.csv",
                          do_not_call=["+82 10 1111 2222", "not a number"])
    assert (plan.imported, plan.do_not_call, plan.duplicates) == (1, 2, 0)


def test_headerless_number_list(tmp_path):
    path = tmp_path / "numbers.txt"
    path.write_text("010-1234-5678\n\n01022223333\nabc\n", encoding="utf-8")
    plan = prepare_import(path, "numbers.txt")
    assert not plan.columns.has_header
    assert plan.headers == ["col1"]
    assert plan.valid["row_number"].tolist() == [1, 3]
    assert plan.valid["name"].tolist() == [None, None]
    assert plan.rejects[["row_number", "reason"]].values.tolist() == [[4, "not_a_number"]]


def test_xlsx_import_with_numeric_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["성명", "휴대폰", "주소"])
    ws.append(["홍길동", 1012345678, "서울시 종로구 1"])
    ws.append(["김철수", "010-2222-3333", None])
    ws.append(["이영희", 1012345678, "서울시 중구 3"])
    wb.save(tmp_path / "list.xlsx")
    plan = prepare_import(tmp_path / "list.xlsx", "list.xlsx")
    assert plan.valid[["row_number", "phone", "name", "address"]].values.tolist() == [
        [2, "01012345678", "홍길동", "서울시 종로구 1"],
        [3, "01022223333", "김철수", None],
    ]
    assert plan.rejects[["row_number", "value", "reason"]].values.tolist() == [[4, "1012345678", "duplicate"]]


def test_progress_stages(tmp_path):
    seen = []
    prepare_import(write_csv(tmp_path / "p.csv", MIXED), "p.csv", progress=lambda s, f: seen.append((s, f)))
    stages = [s for s, _ in seen]
    assert stages.index("read") < stages.index("normalise") < stages.index("dedupe")
    for stage in ("read", "normalise", "dedupe"):
        fractions = [f for s, f in seen if s == stage]
        assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_unusable_file_raises_read_error(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04 but not really a zip")
    with pytest.raises(ReadError, match="올바른 .xlsx 파일이 아닙니다"):
        prepare_import(path, "x.xlsx")
    with pytest.raises(ReadError, match="제목 행만 있고"):
        prepare_import(write_csv(tmp_path / "h.csv", [("이름", "전화번호")]), "h.csv")


# -- rejects workbook -------------------------------------------------------------------


def test_rejects_workbook_reads_back(tmp_path, mixed_plan):
    path = tmp_path / "rejects.xlsx"
    write_rejects_xlsx(mixed_plan.rejects, path)
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("행 번호", "값", "사유", "설명")
    assert len(rows) == 1 + len(mixed_plan.rejects)
    assert rows[1] == (4, "abc", "전화번호 아님", "전화번호가 아닙니다: 글자나 다른 문자가 들어 있습니다.")
    by_row = {r[0]: r for r in rows[1:]}
    assert by_row[6][2] == "목록 안 중복" and by_row[6][3] == "2행에 같은 번호가 이미 있습니다."
    assert by_row[11][2] == "수신거부 번호"
    assert by_row[7][1] in ("", None)


def test_rejects_workbook_keeps_values_as_text(tmp_path):
    rows = [("전화번호",), ("=HYPERLINK(\"http://x\",\"y\")",), ("0101234",), ("010-1234-5678",)]
    plan = prepare_import(write_csv(tmp_path / "f.csv", rows), "f.csv")
    path = tmp_path / "rejects.xlsx"
    write_rejects_xlsx(plan.rejects, path)
    ws = openpyxl.load_workbook(path).active
    assert ws["B2"].value == '=HYPERLINK("http://x","y")' and ws["B2"].data_type == "s"
    assert ws["B3"].value == "0101234" and ws["B3"].data_type == "s"


def test_empty_rejects_workbook(tmp_path, mixed_plan):
    path = tmp_path / "none.xlsx"
    write_rejects_xlsx(mixed_plan.rejects.iloc[0:0], path)
    assert list(openpyxl.load_workbook(path).active.iter_rows(values_only=True)) == [("행 번호", "값", "사유", "설명")]


# -- storing ----------------------------------------------------------------------------


def open_db(path, isolation_level=""):
    """The project's schema (its migrations), two lists, a plain sqlite3 connection."""
    db.init_db(path)
    conn = sqlite3.connect(path, isolation_level=isolation_level)
    conn.execute("INSERT INTO contact_list (id, name, created_at) VALUES (1, 'list', '2024-01-01')")
    conn.execute("INSERT INTO contact_list (id, name, created_at) VALUES (2, 'other', '2024-01-01')")
    conn.commit()
    return conn


def refuse_number(conn, phone: str) -> None:
    """Make SQLite itself refuse one row (a trigger), to fail an insert part-way."""
    conn.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON contact WHEN NEW.phone = '{phone}' "
                 "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END")
    conn.commit()


def big_plan(tmp_path, n=1200):
    rows = [("이름", "전화번호", "주소", "메모")] + [
        (f"사람{i}", f"010-{i // 10000:04d}-{i % 10000:04d}", f"서울시 종로구 {i}", "메모" if i % 2 else "")
        for i in range(n)]
    return prepare_import(write_csv(tmp_path / "big.csv", rows), "big.csv")


@pytest.mark.parametrize("isolation_level", ["", None])
def test_store_contacts(tmp_path, mixed_plan, isolation_level):
    conn = open_db(tmp_path / "ars.db", isolation_level)
    stages = []
    n = store_contacts(conn, 1, mixed_plan.contact_columns(), progress=lambda s, f: stages.append((s, f)))
    assert n == 4
    assert not conn.in_transaction
    rows = conn.execute(
        "SELECT list_id, row_number, phone, name, address, extra, status, attempts FROM contact ORDER BY id").fetchall()
    assert rows[0] == (1, 2, "01012345678", "홍길동", "서울시 종로구 1", '{"메모": "지지자"}', "pending", 0)
    assert [r[1] for r in rows] == [2, 3, 9, 17]
    assert rows[1][5] is None
    assert stages[-1] == ("store", 1.0)
    # committed: another connection sees the rows
    other = sqlite3.connect(tmp_path / "ars.db")
    assert other.execute("SELECT count(*) FROM contact").fetchone()[0] == 4


def test_store_many_chunks_in_file_order(tmp_path):
    plan = big_plan(tmp_path)
    conn = open_db(tmp_path / "ars.db")
    cache_before = conn.execute("PRAGMA cache_size").fetchone()[0]
    assert store_contacts(conn, 1, plan.contact_columns(), chunk_size=100) == 1200
    assert conn.execute("SELECT count(*), min(row_number), max(row_number) FROM contact").fetchone() == (1200, 2, 1201)
    ids = [r[0] for r in conn.execute("SELECT row_number FROM contact ORDER BY id")]
    assert ids == sorted(ids)
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == cache_before


def test_store_is_all_or_nothing_when_a_row_fails_in_the_last_chunk(tmp_path):
    plan = big_plan(tmp_path)
    conn = open_db(tmp_path / "ars.db")
    refuse_number(conn, plan.valid["phone"].iloc[-1])
    with pytest.raises(sqlite3.IntegrityError, match="refused by test trigger"):
        store_contacts(conn, 1, plan.contact_columns(), chunk_size=100)
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM contact").fetchone()[0] == 0
    conn.execute("DROP TRIGGER refuse")
    assert store_contacts(conn, 2, plan.contact_columns(), chunk_size=100) == 1200


def test_store_is_all_or_nothing_on_schema_error(tmp_path):
    conn = sqlite3.connect(tmp_path / "ars.db")
    conn.execute("CREATE TABLE contact (id INTEGER PRIMARY KEY, list_id INTEGER, row_number INTEGER, "
                 "phone TEXT, name TEXT, address TEXT)")   # an old layout without 'extra'
    with pytest.raises(sqlite3.OperationalError, match="extra"):
        store_contacts(conn, 1, big_plan(tmp_path).contact_columns(), chunk_size=100)
    assert conn.execute("SELECT count(*) FROM contact").fetchone()[0] == 0


def test_store_inside_the_callers_transaction(tmp_path):
    plan = big_plan(tmp_path, n=300)
    conn = open_db(tmp_path / "ars.db", isolation_level=None)
    refuse_number(conn, plan.valid["phone"].iloc[200])
    conn.execute("BEGIN")
    conn.execute("INSERT INTO contact_list (id, name, created_at) VALUES (3, 'new', 'now')")
    conn.execute("INSERT INTO contact (list_id, row_number, phone) VALUES (3, 1, '01000000000')")
    with pytest.raises(sqlite3.IntegrityError):
        store_contacts(conn, 3, plan.contact_columns(), chunk_size=50)
    # only the importer's part was undone; the caller still decides
    assert conn.in_transaction
    assert conn.execute("SELECT count(*) FROM contact WHERE list_id = 3").fetchone()[0] == 1
    conn.execute("DROP TRIGGER refuse")
    assert store_contacts(conn, 3, plan.contact_columns(), chunk_size=50) == 300
    assert conn.in_transaction  # not committed by the importer
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT count(*) FROM contact WHERE list_id = 3").fetchone()[0] == 0


def test_store_nothing(tmp_path, mixed_plan):
    conn = open_db(tmp_path / "ars.db")
    assert store_contacts(conn, 1, [[], [], [], [], []]) == 0
    assert conn.execute("SELECT count(*) FROM contact").fetchone()[0] == 0


def test_title_row_above_the_header(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "2024년 지방선거 홍보 명단"
    ws.append([])
    ws.append(["이름", "연락처", "주소", "비고"])
    ws.append(["홍길동", "010-1234-5678", "서울시 종로구 1", "VIP"])
    ws.append(["김철수", "없음", "부산시 해운대구 2", None])
    wb.save(tmp_path / "titled.xlsx")
    plan = prepare_import(tmp_path / "titled.xlsx", "titled.xlsx")
    assert plan.columns.header_row == 3
    assert plan.headers == ["이름", "연락처", "주소", "비고"]
    assert plan.rows == 2
    assert plan.valid[["row_number", "phone", "extra"]].values.tolist() == [[4, "01012345678", '{"비고": "VIP"}']]
    assert plan.rejects[["row_number", "value", "reason"]].values.tolist() == [[5, "없음", "not_a_number"]]
