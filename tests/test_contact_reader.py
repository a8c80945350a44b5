"""Reading call list files: encodings, delimiters, Excel, headers, columns, errors.

Every file is written here, into tmp_path, the way a manager's tools write it.
"""

from __future__ import annotations

import base64
import gzip
import zipfile

import openpyxl
import pytest

from server.contacts.phone_numbers import normalize
from server.contacts.reader import ColumnMap, ReadError, column_labels, detect_columns, read_table

ROWS = [
    ("홍길동", "010-1234-5678", "서울특별시 종로구 세종대로 1"),
    ("김철수", "01098765432", "부산광역시 해운대구 해운대로 22"),
    ("이영희", "+82 10 5555 6666", "경기도 수원시 팔달구 효원로 3"),
]

# A real .xls (BIFF8), made with xlwt 1.3.0 (also installed by the test extra):
#   wb = xlwt.Workbook(encoding="utf-8"); ws = wb.add_sheet("calls")
#   header 이름, 전화번호, 주소; row 홍길동, "010-1234-5678", 서울특별시 종로구 세종대로 1;
#   row 김철수, 1098765432 (a number), 부산광역시 해운대구 해운대로 2
XLS_FIXTURE_GZ_B64 = (
    "H4sIAAAAAAACA+1YTUhUURT+7ps3joozzphGWsggZGVK/vQzGx0NypViERQh2KizCAeNyRa1ydKB"
    "oIKgVdEiwU0LJ8OoGTJwpGwWgmJkFAUztYwWQUEL9XXueW9My4UDJSXve9xzzz33fPfed8+99/3M"
    "TLsSgw+KkvgFdbBgUctCxjKboJSVKjhB9Zom1VSeSUkz8V8hK5MCmWHFE/uUTcZQxjsJBSNqjCTw"
    "gVIrzqC5p9vvXkcc5DH4hBxDLUmBO2RxoJBHlceyg+UmlvfZc4xlPVuus6wl34Q4iWlvc5nHWMUn"
    "lBKuc0C2+5g5b9lShQLE5Sq+eEPovlY0BE/7Av9mRbGagyFQ3Br93f6gL5BAPgVwCN80N/A1tVPH"
    "3aZ9fe0CZP++0m5bxX5TUYE+aKd4gYdgxx5V1ljR4QsEzs7jKp+pMpFD74uBqAqhxo/NXRnzzJFl"
    "Pn4tZoFomvOE34zagcqqyoqq6pq9Ffv2H/A4IbbFIpPR2Wdj7ybcCMVbI4FhNzyxUByjrRE3LXbi"
    "1ofvTm2ZcEH0PR0Zdw1/fi59e189nMSo9NY16V2NbHn883HhXHFc2Hkb5ZDsRC7rLt5MThr4/L0v"
    "s03tLd42tvTxregPku3y3qHhkmQQ2cE1liVZxozdLC9zq1tZL2KZT3NEeWlLgaEc7mefAa4tpX5q"
    "GC+9O5bpO0kPfToSKQ599O4iPdyYvJAffu0dRAk92DqJL69+lItycfuWRNSbyoVx6LxnWfjbAZSp"
    "OI2xa8bTMhcLPGeg+ZDQS3J2xFJJMeZKssUqbMFsi+EvmK0ulSTbarCVVdgKs2WMLIrDiAyh+Fzb"
    "TINeL1uQgaxT8vBIutPh+RPZMGHChAkTJkyYMLHBIPglVH/lVvnTQ3+ptxn/dRYoLZq/STYsjqKH"
    "rl76MD2EbsqDOJ/W+tkMq0i1JdbISf0vlDhOvQfRhXYeR1fa65c+ysTy+1kz0fnntlC6/S+mM86/"
    "3P8PoF3ArgAWAAA="
)


def write_text(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def csv_text(rows, header=("이름", "전화번호", "주소"), sep=","):
    lines = [sep.join(header)] if header else []
    lines += [sep.join(r) for r in rows]
    return "\n".join(lines) + "\n"


def cells(df, row_number):
    return df.loc[row_number].tolist()


# -- text files ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949", "euc-kr"])
def test_csv_in_korean_encodings(tmp_path, encoding):
    path = write_text(tmp_path / "list.csv", csv_text(ROWS), encoding)
    df = read_table(path)
    assert df.shape == (4, 3)
    assert cells(df, 1) == ["이름", "전화번호", "주소"]
    assert cells(df, 2) == list(ROWS[0])
    assert list(df.index) == [1, 2, 3, 4]
    cols = detect_columns(df)
    assert cols == ColumnMap(has_header=True, phone=1, name=0, address=2, extras={}, header_row=1)


def test_cp949_only_characters(tmp_path):
    # 똠 is in CP949 (Windows Korean) but not in EUC-KR's KS X 1001 set
    path = write_text(tmp_path / "list.csv", "이름,전화번호\n똠방각하,010-1111-2222\n", "cp949")
    df = read_table(path)
    assert cells(df, 2) == ["똠방각하", "010-1111-2222"]


def test_utf16_tab_text_from_excel(tmp_path):
    # Excel's "Unicode text" export: UTF-16 with BOM, tab-delimited
    path = write_text(tmp_path / "list.txt", csv_text(ROWS, sep="\t"), "utf-16")
    df = read_table(path)
    assert cells(df, 3) == list(ROWS[1])


def test_tab_delimited_txt_with_commas_inside(tmp_path):
    rows = [("홍길동", "010-1234-5678", "서울시 강남구, 역삼동 1"), ("김철수", "010-2222-3333", "부산시, 해운대구 2")]
    path = write_text(tmp_path / "list.txt", csv_text(rows, sep="\t"))
    df = read_table(path)
    assert df.shape == (3, 3)
    assert cells(df, 2) == list(rows[0])


@pytest.mark.parametrize("sep", [";", "|"])
def test_semicolon_and_pipe(tmp_path, sep):
    path = write_text(tmp_path / "list.csv", csv_text(ROWS, sep=sep))
    df = read_table(path)
    assert df.shape == (4, 3)
    assert detect_columns(df).phone == 1


def test_quoted_fields(tmp_path):
    text = '이름,전화번호,주소\n"홍, 길동","010-1234-5678","서울시 종로구, 1"\n'
    df = read_table(write_text(tmp_path / "list.csv", text))
    assert cells(df, 2) == ["홍, 길동", "010-1234-5678", "서울시 종로구, 1"]


def test_headerless_single_column_of_numbers(tmp_path):
    path = write_text(tmp_path / "numbers.txt", "01012345678\n010-2222-3333\n\n1012345678\n")
    df = read_table(path)
    assert df.shape == (3, 1)
    assert list(df.index) == [1, 2, 4]  # the blank line 3 is skipped, numbering kept
    assert df[0].tolist() == ["01012345678", "010-2222-3333", "1012345678"]
    assert detect_columns(df) == ColumnMap(has_header=False, phone=0, name=None, address=None, extras={})


def test_leading_zeros_survive(tmp_path):
    df = read_table(write_text(tmp_path / "l.csv", "전화번호,우편번호\n01012345678,01234\n"))
    assert cells(df, 2) == ["01012345678", "01234"]


def test_ragged_rows_and_trailing_delimiters(tmp_path):
    text = "이름,전화번호\n홍길동,010-1234-5678,메모 있음\n김철수\n이영희,010-5555-6666,\n"
    df = read_table(write_text(tmp_path / "l.csv", text))
    assert df.shape == (4, 3)
    assert cells(df, 3) == ["김철수", "", ""]
    assert cells(df, 2) == ["홍길동", "010-1234-5678", "메모 있음"]


def test_windows_line_endings(tmp_path):
    df = read_table(write_text(tmp_path / "l.csv", csv_text(ROWS).replace("\n", "\r\n"), "cp949"))
    assert cells(df, 4) == list(ROWS[2])


# -- Excel ----------------------------------------------------------------------------


def write_xlsx(path, rows, start="A1", sheets_before=0):
    wb = openpyxl.Workbook()
    ws = wb.active
    for i in range(sheets_before):
        ws.title = f"empty{i}"
        ws = wb.create_sheet("data")
    col0 = ord(start[0]) - ord("A") + 1
    row0 = int(start[1:])
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            ws.cell(row=row0 + i, column=col0 + j, value=value)
    wb.save(path)
    return path


def test_xlsx_with_numeric_phone_cells(tmp_path):
    rows = [("이름", "전화번호", "주소"), ("홍길동", 1012345678, "서울시 종로구 세종대로 1"),
            ("김철수", "010-2222-3333", "부산시 해운대구 해운대로 2"), ("박민수", 21234567.0, "서울시 중구 을지로 3")]
    df = read_table(write_xlsx(tmp_path / "list.xlsx", rows))
    assert cells(df, 2) == ["홍길동", "1012345678", "서울시 종로구 세종대로 1"]
    assert normalize(df.loc[2, 1]) == "01012345678"
    assert normalize(df.loc[4, 1]) == "021234567"
    assert detect_columns(df) == ColumnMap(has_header=True, phone=1, name=0, address=2, extras={}, header_row=1)


def test_xlsx_row_numbers_follow_the_sheet(tmp_path):
    rows = [("이름", "전화번호"), ("홍길동", "010-1234-5678"), (None, None), ("김철수", "010-2222-3333")]
    df = read_table(write_xlsx(tmp_path / "list.xlsx", rows, start="B3", sheets_before=1))
    # data starts on sheet row 3; the empty row 5 is skipped
    assert list(df.index) == [3, 4, 6]
    assert cells(df, 6) == ["김철수", "010-2222-3333"]


def test_xlsx_other_cell_types(tmp_path):
    import datetime

    rows = [("전화번호", "가입일", "점수", "동의"),
            ("010-1234-5678", datetime.date(2024, 3, 1), 3.5, True)]
    df = read_table(write_xlsx(tmp_path / "list.xlsx", rows))
    assert cells(df, 2) == ["010-1234-5678", "2024-03-01", "3.5", "TRUE"]


def test_xls_fixture(tmp_path):
    path = tmp_path / "list.xls"
    path.write_bytes(gzip.decompress(base64.b64decode("".join(XLS_FIXTURE_GZ_B64))))
    df = read_table(path)
    assert df.shape == (3, 3)
    assert cells(df, 3) == ["김철수", "1098765432", "부산광역시 해운대구 해운대로 2"]
    assert detect_columns(df) == ColumnMap(has_header=True, phone=1, name=0, address=2, extras={}, header_row=1)


def test_xls_written_by_xlwt(tmp_path):
    import xlwt  # installed by the test extra
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("호출자료")
    for i, row in enumerate([("Name", "Mobile")] + [(n, p) for n, p, _ in ROWS]):
        for j, value in enumerate(row):
            ws.write(i, j, value)
    ws.write(4, 0, "최민호")
    ws.write(4, 1, 1077778888)
    wb.save(str(tmp_path / "list.xls"))
    df = read_table(tmp_path / "list.xls")
    assert cells(df, 5) == ["최민호", "1077778888"]
    assert detect_columns(df).phone == 1


# -- columns ----------------------------------------------------------------------------


def test_english_headers_any_case(tmp_path):
    text = csv_text(ROWS, header=(" NAME ", "Phone Number", "address"))
    df = read_table(write_text(tmp_path / "l.csv", text))
    cols = detect_columns(df)
    assert cols == ColumnMap(has_header=True, phone=1, name=0, address=2, extras={}, header_row=1)
    assert column_labels(df, cols) == ["NAME", "Phone Number", "address"]


def test_header_synonyms(tmp_path):
    text = "성명,휴대폰 번호,거주지\n홍길동,010-1234-5678,서울\n"
    cols = detect_columns(read_table(write_text(tmp_path / "l.csv", text)))
    assert (cols.name, cols.phone, cols.address) == (0, 1, 2)


def test_extra_columns_are_kept_with_labels(tmp_path):
    text = ("번호,이름,전화번호,주소,성별,메모,\n"
            "1,홍길동,010-1234-5678,서울시 종로구 1,남,지지자,\n"
            "2,김철수,010-2222-3333,부산시 해운대구 2,남,,\n")
    df = read_table(write_text(tmp_path / "l.csv", text))
    cols = detect_columns(df)
    # 번호 (row numbers) is not the phone column even though it is a synonym
    assert cols == ColumnMap(has_header=True, phone=2, name=1, address=3,
                             extras={0: "번호", 4: "성별", 5: "메모"}, header_row=1)


def test_labelled_columns_keep_their_meaning(tmp_path):
    text = "전화번호,메모,비고\n010-1234-5678,지지자,서울시 종로구 세종대로 1\n010-2222-3333,반대,부산시 해운대구 해운대로 2\n"
    cols = detect_columns(read_table(write_text(tmp_path / "l.csv", text)))
    # 메모 (short words) is not taken for a name; 비고 holding addresses is the address
    assert (cols.phone, cols.name, cols.address) == (0, None, 2)
    assert cols.extras == {1: "메모"}


def test_two_phone_columns_prefers_the_mobile_header(tmp_path):
    text = "이름,집전화,휴대폰\n홍길동,02-123-4567,010-1234-5678\n김철수,031-123-4567,010-2222-3333\n"
    cols = detect_columns(read_table(write_text(tmp_path / "l.csv", text)))
    assert cols.phone == 2 and cols.extras == {1: "집전화"}


def test_columns_found_by_content_without_header(tmp_path):
    rows = [("서울특별시 종로구 세종대로 1", "홍길동", "010-1234-5678", "VIP"),
            ("부산광역시 해운대구 해운대로 2", "김철수", "010-2222-3333", ""),
            ("대구광역시 중구 동성로 3", "이영희", "1012345678", "")]
    text = "\n".join(",".join(r) for r in rows) + "\n"
    df = read_table(write_text(tmp_path / "l.csv", text))
    cols = detect_columns(df)
    assert cols == ColumnMap(has_header=False, phone=2, name=1, address=0, extras={3: "col4"})
    assert column_labels(df, cols) == ["col1", "col2", "col3", "col4"]


def test_header_under_a_title_row(tmp_path):
    text = ("2024년 지방선거 유권자 명단,,\n"
            ",,\n"
            "이름,휴대폰,주소\n"
            "홍길동,010-1234-5678,서울시 종로구 1\n"
            "김철수,010-2222-3333,부산시 해운대구 2\n")
    df = read_table(write_text(tmp_path / "l.csv", text))
    cols = detect_columns(df)
    assert cols == ColumnMap(has_header=True, phone=1, name=0, address=2, extras={}, header_row=3)
    assert list(cols.data_rows(df).index) == [4, 5]
    assert column_labels(df, cols) == ["이름", "휴대폰", "주소"]


def test_data_row_is_never_taken_for_a_header(tmp_path):
    # first row: a name, a number and an address, no digits in the text cells
    text = "홍길동,010-1234-5678,서울시 종로구 세종로\n김철수,010-2222-3333,부산시 해운대구 해운대로\n"
    df = read_table(write_text(tmp_path / "l.csv", text))
    cols = detect_columns(df)
    assert not cols.has_header and cols.header_row is None
    assert len(cols.data_rows(df)) == 2


def test_text_column_taken_as_address_when_no_address_words(tmp_path):
    rows = [("홍길동", "010-1234-5678", "강남 지역 모임"), ("김철수", "010-2222-3333", "해운대 봉사단")]
    text = "\n".join(",".join(r) for r in rows) + "\n"
    cols = detect_columns(read_table(write_text(tmp_path / "l.csv", text)))
    assert (cols.has_header, cols.phone, cols.name, cols.address) == (False, 1, 0, 2)


def test_unrecognised_header_over_numbers(tmp_path):
    text = "가입자,회선\n홍길동,010-1234-5678\n김철수,010-2222-3333\n"
    cols = detect_columns(read_table(write_text(tmp_path / "l.csv", text)))
    assert cols.has_header and cols.phone == 1 and cols.name == 0


def test_mostly_invalid_numbers_still_found_by_header(tmp_path):
    text = "이름,연락처\n홍길동,없음\n김철수,010-123\n이영희,010-1234-5678\n"
    cols = detect_columns(read_table(write_text(tmp_path / "l.csv", text)))
    assert cols.has_header and cols.phone == 1


# -- errors ----------------------------------------------------------------------------


def test_garbage_named_xlsx(tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"this is not a spreadsheet\x00\x01\x02" * 20)
    with pytest.raises(ReadError, match=r"올바른 \.xlsx 파일이 아닙니다"):
        read_table(path)


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "list.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ReadError, match=r"올바른 \.xlsx 파일이 아닙니다"):
        read_table(path)


def test_truncated_xlsx(tmp_path):
    path = write_xlsx(tmp_path / "full.xlsx", [("전화번호",), ("010-1234-5678",)])
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ReadError, match=r"올바른 \.xlsx 파일이 아닙니다"):
        read_table(cut)


def test_csv_renamed_xls(tmp_path):
    path = write_text(tmp_path / "list.xls", csv_text(ROWS))
    with pytest.raises(ReadError, match=r"올바른 \.xls 파일이 아닙니다"):
        read_table(path)


def test_uploaded_name_decides_the_format(tmp_path):
    stored = write_text(tmp_path / "3f2a9c", csv_text(ROWS))  # uploads are stored by hash
    assert read_table(stored, filename="명단.csv").shape == (4, 3)
    with pytest.raises(ReadError, match="받을 수 없습니다"):
        read_table(stored)


@pytest.mark.parametrize("name", ["list.pdf", "list.docx", "list"])
def test_unknown_extension(tmp_path, name):
    path = write_text(tmp_path / name, csv_text(ROWS))
    with pytest.raises(ReadError, match="받을 수 없습니다"):
        read_table(path)


@pytest.mark.parametrize("name", ["empty.csv", "empty.txt", "empty.xlsx", "empty.xls"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(ReadError, match="empty"):
        read_table(path)


def test_only_blank_lines(tmp_path):
    with pytest.raises(ReadError, match="비어 있습니다|자료가 없습니다"):
        read_table(write_text(tmp_path / "blank.csv", "\n\n  \n,,\n"))


def test_empty_workbook(tmp_path):
    path = tmp_path / "blank.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(ReadError, match="자료가 없습니다"):
        read_table(path)


def test_header_only(tmp_path):
    df = read_table(write_text(tmp_path / "h.csv", "이름,전화번호,주소\n"))
    with pytest.raises(ReadError, match="제목 행만 있고"):
        detect_columns(df)


def test_no_phone_column(tmp_path):
    text = "이름,주소\n홍길동,서울시 종로구 1\n김철수,부산시 해운대구 2\n"
    df = read_table(write_text(tmp_path / "n.csv", text))
    with pytest.raises(ReadError, match="전화번호 열을 찾지 못했습니다"):
        detect_columns(df)


def test_undecodable_text(tmp_path):
    path = tmp_path / "weird.csv"
    path.write_bytes(b"\x81\x41\xff\xfe\xfd" * 200)
    with pytest.raises(ReadError, match="인코딩을 알 수 없습니다"):
        read_table(path)


def test_binary_named_csv(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(ReadError):
        read_table(path)


def test_read_error_message_names_the_file(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"garbage")
    with pytest.raises(ReadError) as info:
        read_table(path, filename="선거명단.xlsx")
    assert "선거명단.xlsx" in info.value.message
