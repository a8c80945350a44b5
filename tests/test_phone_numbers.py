"""Korean phone number normalisation: accepted forms, rejects, display, and the
vectorised path agreeing with the scalar one."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from server.contacts.phone_numbers import (
    REASONS,
    InvalidNumber,
    classify,
    format_display,
    mask,
    normalize,
    normalize_array,
    normalize_series,
)

ACCEPTED = [
    # mobile 010
    ("010-1234-5678", "01012345678"),
    ("01012345678", "01012345678"),
    ("010 1234 5678", "01012345678"),
    ("010.1234.5678", "01012345678"),
    ("(010) 1234-5678", "01012345678"),
    ("  010-1234-5678  ", "01012345678"),
    ("010\u20111234\u20135678", "01012345678"),  # non-breaking hyphen, en dash
    ("０１０－１２３４－５６７８", "01012345678"),  # full-width
    # international forms
    ("+82 10 1234 5678", "01012345678"),
    ("+82-10-1234-5678", "01012345678"),
    ("+821012345678", "01012345678"),
    ("82-10-1234-5678", "01012345678"),
    ("821012345678", "01012345678"),
    ("0082 10 1234 5678", "01012345678"),
    ("0082-10-1234-5678", "01012345678"),
    ("+82 (0)10 1234 5678", "01012345678"),
    ("+82 (0)2 123 4567", "021234567"),
    ("+82 2-1234-5678", "0212345678"),
    ("+82 1588 1234", "15881234"),
    # the leading zero Excel drops, and Excel's numeric cells as text
    ("1012345678", "01012345678"),
    ("1012345678.0", "01012345678"),
    ("1012345678.00", "01012345678"),
    ("212345678", "0212345678"),
    ("21234567", "021234567"),
    ("311234567", "0311234567"),
    ("7012345678", "07012345678"),
    # old mobile prefixes, 10 or 11 digits
    ("011-123-4567", "0111234567"),
    ("011-1234-5678", "01112345678"),
    ("016-123-4567", "0161234567"),
    ("017-1234-5678", "01712345678"),
    ("018-123-4567", "0181234567"),
    ("019-1234-5678", "01912345678"),
    ("161234567", "0161234567"),  # 016 that lost its zero (9 digits: not a 16xx number)
    # Seoul 02, 9 or 10 digits
    ("02-123-4567", "021234567"),
    ("02-1234-5678", "0212345678"),
    ("(02)123-4567", "021234567"),
    ("(02) 1234 5678", "0212345678"),
    # area codes
    ("031-123-4567", "0311234567"),
    ("031-1234-5678", "03112345678"),
    ("032-123-4567", "0321234567"),
    ("033-123-4567", "0331234567"),
    ("041-123-4567", "0411234567"),
    ("042-1234-5678", "04212345678"),
    ("043-123-4567", "0431234567"),
    ("044-123-4567", "0441234567"),
    ("051-123-4567", "0511234567"),
    ("052-123-4567", "0521234567"),
    ("053-1234-5678", "05312345678"),
    ("054-123-4567", "0541234567"),
    ("055-123-4567", "0551234567"),
    ("061-123-4567", "0611234567"),
    ("062-123-4567", "0621234567"),
    ("063-123-4567", "0631234567"),
    ("064-123-4567", "0641234567"),
    # internet phones and personal numbers
    ("070-1234-5678", "07012345678"),
    ("0505-123-4567", "05051234567"),
    ("0504-1234-5678", "050412345678"),
    # representative numbers
    ("1588-1234", "15881234"),
    ("1577-1234", "15771234"),
    ("1544-1234", "15441234"),
    ("1566-1234", "15661234"),
    ("1600-1234", "16001234"),
    ("1644-1234", "16441234"),
    ("1661-1234", "16611234"),
    ("1670-1234", "16701234"),
    ("1688-1234", "16881234"),
    ("1800-1234", "18001234"),
    ("1833-1234", "18331234"),
    ("1855-1234", "18551234"),
    ("1877-1234", "18771234"),
    ("1899-1234", "18991234"),
    ("15881234", "15881234"),
]

REJECTED = [
    ("", "empty"),
    ("   ", "empty"),
    ("-", "empty"),
    ("()", "empty"),
    (None, "empty"),
    (float("nan"), "empty"),
    ("abc", "not_a_number"),
    ("010-1234-567O", "not_a_number"),  # letter O
    ("없음", "not_a_number"),
    ("010-1234-5678 (집)", "not_a_number"),
    ("tel:01012345678", "not_a_number"),
    ("010/1234/5678", "not_a_number"),
    ("1.012345678E+09", "not_a_number"),  # Excel lost the digits
    ("010-1234-5678+", "not_a_number"),  # a plus after digits
    ("++82 10 1234 5678", "not_a_number"),
    ("1", "too_short"),
    ("0", "too_short"),
    ("00", "too_short"),
    ("010-123", "too_short"),
    ("010-123-4567", "too_short"),  # 010 has 11 digits
    ("02-12-345", "too_short"),
    ("031-12-3456", "too_short"),
    ("1588-123", "too_short"),
    ("070-123-4567", "too_short"),
    ("010-1234-56789", "too_long"),
    ("02-12345-6789", "too_long"),
    ("031-12345-6789", "too_long"),
    ("0505-12345-67890", "too_long"),
    ("010123456789012345", "too_long"),
    ("099-123-4567", "unknown_prefix"),
    ("012-345-6789", "unknown_prefix"),
    ("080-123-4567", "unknown_prefix"),
    ("060-123-4567", "unknown_prefix"),
    ("12345678", "unknown_prefix"),
    ("+1 212 555 0100", "foreign"),
    ("+81 3-1234-5678", "foreign"),
    ("001 212 555 0100", "foreign"),
    ("0081 3 1234 5678", "foreign"),
]


@pytest.mark.parametrize("raw, expected", ACCEPTED)
def test_accepted_forms_normalise(raw, expected):
    assert normalize(raw) == expected
    assert classify(raw) == (expected, None)


@pytest.mark.parametrize("raw, reason", REJECTED)
def test_rejects_have_reason_codes(raw, reason):
    with pytest.raises(InvalidNumber) as info:
        normalize(raw)
    assert info.value.reason_code == reason
    assert info.value.message == REASONS[reason]
    assert classify(raw) == (None, reason)


def test_every_reason_has_a_message():
    assert set(REASONS) == {"empty", "not_a_number", "too_short", "too_long", "unknown_prefix", "foreign"}
    assert all(msg.endswith(".") and len(msg) > 10 for msg in REASONS.values())
    assert set(r for _, r in REJECTED) == set(REASONS)


def test_numbers_from_excel_numeric_cells():
    assert normalize(1012345678) == "01012345678"
    assert normalize(1012345678.0) == "01012345678"
    assert normalize(15881234) == "15881234"


@pytest.mark.parametrize(
    "canonical, shown, masked",
    [
        ("01012345678", "010-1234-5678", "010-****-5678"),
        ("0111234567", "011-123-4567", "011-***-4567"),
        ("021234567", "02-123-4567", "02-***-4567"),
        ("0212345678", "02-1234-5678", "02-****-5678"),
        ("0311234567", "031-123-4567", "031-***-4567"),
        ("03112345678", "031-1234-5678", "031-****-5678"),
        ("07012345678", "070-1234-5678", "070-****-5678"),
        ("05051234567", "0505-123-4567", "0505-***-4567"),
        ("050412345678", "0504-1234-5678", "0504-****-5678"),
        ("15881234", "1588-1234", "1588-****"),
    ],
)
def test_display_and_mask(canonical, shown, masked):
    assert format_display(canonical) == shown
    assert mask(canonical) == masked


def test_display_normalises_other_forms_and_leaves_garbage():
    assert format_display("+82 10 1234 5678") == "010-1234-5678"
    assert format_display("not a number") == "not a number"
    assert "1234" not in mask("010-1234-5678")
    assert mask("12345").endswith("45") and "123" not in mask("12345")


def test_series_keeps_index_and_marks_na():
    s = pd.Series(["010-1234-5678", "abc", "", "02-123-4567"], index=[10, 11, 12, 13], dtype="str")
    canonical, reason = normalize_series(s)
    assert list(canonical.index) == [10, 11, 12, 13]
    assert canonical[10] == "01012345678" and canonical[13] == "021234567"
    assert canonical.isna().tolist() == [False, True, True, False]
    assert reason.isna().tolist() == [True, False, False, True]
    assert reason[11] == "not_a_number" and reason[12] == "empty"


def test_series_of_numbers_and_objects():
    canonical, reason = normalize_series(pd.Series([1012345678, 21234567]))
    assert canonical.tolist() == ["01012345678", "021234567"]
    mixed = pd.Series([1012345678.0, None, "010-1234-5678", float("nan")], dtype=object)
    canonical, reason = normalize_series(mixed)
    assert canonical[0] == "01012345678" and canonical[2] == "01012345678"
    assert reason[1] == "empty" and reason[3] == "empty"
    empty_c, empty_r = normalize_series(pd.Series([], dtype="str"))
    assert len(empty_c) == 0 and len(empty_r) == 0


def test_array_keys_identify_numbers():
    canonical, reason, keys = normalize_array(
        np.array(["010-1234-5678", "+82 10 1234 5678", "x", "1588-1234"], dtype=object))
    assert keys[0] == keys[1] == 1012345678
    assert keys[2] == -1 and reason[2] == "not_a_number"
    assert keys[3] == 15881234 and canonical[3] == "15881234"


def _mixed_inputs(count: int, seed: int = 20240410) -> list:
    """Valid numbers in every format, their near misses, and garbage."""
    rnd = random.Random(seed)
    prefixes = ["010", "011", "016", "017", "018", "019", "02", "031", "032", "033", "041", "042",
                "043", "044", "051", "052", "053", "054", "055", "061", "062", "063", "064", "070",
                "0504", "0505", "1588", "1644", "1800", "012", "080", "099", "060"]
    seps = ["-", " ", ".", "", " - ", "\u2013", "\u00a0"]
    out: list = []
    for _ in range(count):
        kind = rnd.random()
        prefix = rnd.choice(prefixes)
        mid = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(2, 5)))
        last = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(3, 5)))
        sep = rnd.choice(seps)
        digits = prefix + mid + last
        if kind < 0.35:
            value = sep.join([prefix, mid, last])
        elif kind < 0.45:
            value = rnd.choice(["+82 ", "+82-", "82-", "0082 ", "+82 (0)", "+1 ", "+81-", "001 "]) + sep.join(
                [prefix.lstrip("0") if rnd.random() < 0.8 else prefix, mid, last])
        elif kind < 0.52:
            value = f"({prefix}){mid}-{last}"
        elif kind < 0.60:
            value = digits.lstrip("0") + rnd.choice(["", ".0", ".00", ".5", "0"])
        elif kind < 0.65:
            value = f"{digits}{rnd.choice(['x', '번', 'O', '/', '#'])}"
        elif kind < 0.70:
            value = rnd.choice(["", " ", "-", "없음", "N/A", "+", "()", "0", "00", "010"])
        elif kind < 0.75:
            value = "".join(rnd.choice("0123456789 -+.()") for _ in range(rnd.randint(0, 20)))
        elif kind < 0.78:
            value = digits + " " * rnd.randint(25, 40)  # overlong: scalar fallback rows
        elif kind < 0.81:
            value = "".join(chr(0xFF10 + int(c)) for c in digits)
        elif kind < 0.84:
            value = rnd.randint(0, 10**12)
        elif kind < 0.86:
            value = float(rnd.randint(10**7, 10**11))
        elif kind < 0.87:
            value = None
        else:
            value = f" {sep.join([prefix, mid, last])}\t"
        out.append(value)
    return out


def test_vectorised_agrees_with_scalar():
    values = _mixed_inputs(60_000)
    canonical, reason = normalize_series(pd.Series(values, dtype=object))
    got = list(zip(canonical.astype(object).where(canonical.notna(), None),
                   reason.astype(object).where(reason.notna(), None)))
    expected = [classify(v) for v in values]
    mismatches = [(v, e, g) for v, e, g in zip(values, expected, got) if e != g]
    assert mismatches[:10] == []
    # the sample really covers every outcome
    outcomes = {r for _, r in expected}
    assert outcomes == {None, *REASONS}
    assert sum(1 for c, _ in expected if c) > 15_000


def test_vectorised_agrees_on_string_dtype():
    values = [v if isinstance(v, str) else "" for v in _mixed_inputs(20_000, seed=7)]
    canonical, reason = normalize_series(pd.Series(values, dtype="str"))
    for value, c, r in zip(values, canonical.tolist(), reason.tolist()):
        expected = classify(value)
        assert (None if pd.isna(c) else c, None if pd.isna(r) else r) == expected, value
