"""Korean phone number normalisation.

Canonical form: the domestic digits only, e.g. ``01012345678``, ``0212345678``,
``0311234567``, ``07012345678``, ``15881234``.

Two implementations of the same rules:

- :func:`normalize` / :func:`classify` for one value (forms, API, tests);
- :func:`normalize_series` for a whole pandas Series at once, vectorised with
  numpy on a character matrix, for call lists of a million rows.

They must agree on every input; ``tests/test_phone_numbers.py`` checks that on a
large mixed list.

The rules, in order:

1. Anything other than digits (ASCII or full-width), whitespace, ``-`` ``.``
   ``(`` ``)`` (and their dash/full-width look-alikes) and one leading ``+`` makes
   the value ``not_a_number``.
2. An Excel numeric cell read as text (``1012345678.0``: eight or more digits,
   one ``.``, only zeros after it) loses its ``.0``.
3. No digits at all: ``empty``.
4. Country code: ``+82``, ``0082`` or a bare leading ``82`` is stripped; any
   other ``+CC`` or ``00CC`` is ``foreign``.
5. A number that lost its leading zero (Excel drops it: ``1012345678``) gets it
   back, except representative numbers (``1588-1234``: 8 digits or fewer
   starting 15/16/18).
6. Length and prefix: fewer than 8 digits ``too_short``, more than 12
   ``too_long``, an unknown prefix ``unknown_prefix``, then the prefix's own
   length range (010: 11; 011/016-019: 10-11; 02: 9-10; 031-064: 10-11;
   070: 11; 050x: 11-12; 15xx/16xx/18xx: 8).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "InvalidNumber",
    "REASONS",
    "classify",
    "normalize",
    "normalize_series",
    "normalize_array",
    "format_display",
    "mask",
]

# Reason code -> message shown to the manager (rejects list, import preview).
REASONS: dict[str, str] = {
    "empty": "The phone number is empty.",
    "not_a_number": "Not a phone number: it contains letters or other characters.",
    "too_short": "Too few digits for a Korean phone number.",
    "too_long": "Too many digits for a Korean phone number.",
    "unknown_prefix": (
        "Unknown prefix: a Korean number starts with 010, 011, 016-019, 02, "
        "031-064, 070, 050x or 15xx/16xx/18xx."
    ),
    "foreign": "Foreign number: only Korean numbers (+82) can be called.",
}


class InvalidNumber(ValueError):
    """A value that is not a callable Korean phone number."""

    def __init__(self, reason_code: str, message: str | None = None):
        self.reason_code = reason_code
        self.message = message or REASONS.get(reason_code, reason_code)
        super().__init__(reason_code, self.message)

    def __str__(self) -> str:  # pragma: no cover - trivial
        return f"{self.reason_code}: {self.message}"


# --------------------------------------------------------------------------
# Character classes, shared by both implementations.

_OTHER, _DIGIT, _WS, _SEP, _DOT, _PLUS = 0, 1, 2, 3, 4, 5

_WS_CHARS = " \t\n\r\x0b\x0c\x00\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
# Separators people put into phone numbers: hyphens and dashes, parentheses,
# full-width forms. The ASCII dot has its own class (Excel float rule).
_SEP_CHARS = "-()\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d\uff08\uff09\uff0e\u30fc"
_PLUS_CHARS = "+\uff0b"

_CLASS_TABLE = np.zeros(0x10000, dtype=np.uint8)  # default: _OTHER
_DIGIT_TABLE = np.full(0x10000, 255, dtype=np.uint8)
for _i in range(10):
    for _base in (ord("0"), 0xFF10):  # ASCII and full-width digits
        _CLASS_TABLE[_base + _i] = _DIGIT
        _DIGIT_TABLE[_base + _i] = _i
for _c in _WS_CHARS:
    _CLASS_TABLE[ord(_c)] = _WS
for _c in _SEP_CHARS:
    _CLASS_TABLE[ord(_c)] = _SEP
for _c in _PLUS_CHARS:
    _CLASS_TABLE[ord(_c)] = _PLUS
_CLASS_TABLE[ord(".")] = _DOT
_CLASS_TABLE[0xFFFF] = _OTHER  # every code point above the BMP is clipped to this

# One table for the vectorised path, over every code point: 0-9 = that digit,
# then the classes below. 1.1 MB, and a single lookup per character.
_C_WS, _C_SEP, _C_DOT, _C_PLUS, _C_OTHER = 10, 11, 12, 13, 14
_CODE_TABLE = np.full(0x110000, _C_OTHER, dtype=np.uint8)
_CODE_TABLE[:0x10000] = np.where(
    _CLASS_TABLE == _DIGIT,
    _DIGIT_TABLE,
    np.array([_C_OTHER, 0, _C_WS, _C_SEP, _C_DOT, _C_PLUS], dtype=np.uint8)[_CLASS_TABLE],
)
# (order matters: a code >= _C_DOT marks a row that needs the rarer rules)
_KEEP = 16  # digits kept per row: a 4-digit country prefix + 12

_CHAR_CLASS: dict[str, int] = {chr(i): int(_CLASS_TABLE[i]) for i in np.nonzero(_CLASS_TABLE)[0]}
_CHAR_DIGIT: dict[str, str] = {chr(i): str(int(_DIGIT_TABLE[i])) for i in np.nonzero(_DIGIT_TABLE != 255)[0]}

_AREA_CODES = ("031", "032", "033", "041", "042", "043", "044",
               "051", "052", "053", "054", "055", "061", "062", "063", "064")
_MOBILE_OLD = ("011", "016", "017", "018", "019")
_REPRESENTATIVE = ("15", "16", "18")


def _length_range(n: str) -> tuple[int, int] | None:
    """Allowed (min, max) length for a number by its prefix, or None."""
    if n[:2] in _REPRESENTATIVE:
        return (8, 8)
    p3 = n[:3]
    if p3 == "010":
        return (11, 11)
    if p3 in _MOBILE_OLD:
        return (10, 11)
    if n[:2] == "02":
        return (9, 10)
    if p3 in _AREA_CODES:
        return (10, 11)
    if p3 == "070":
        return (11, 11)
    if p3 == "050":
        return (11, 12)
    return None


# The same table for the vectorised path, indexed by the 3-digit prefix value
# (0..999); 1000 means "fewer than three digits". 0 in _MIN = unknown prefix.
_MIN = np.zeros(1001, dtype=np.int16)
_MAX = np.zeros(1001, dtype=np.int16)
for _p in range(1000):
    _r = _length_range(f"{_p:03d}")
    if _r:
        _MIN[_p], _MAX[_p] = _r


def _to_text(raw) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, float) and math.isnan(raw):
        return ""
    if raw is pd.NA or raw is pd.NaT:
        return ""
    return str(raw)


# --------------------------------------------------------------------------
# Scalar implementation.


def classify(raw) -> tuple[str | None, str | None]:
    """Return ``(canonical, None)`` for a valid number, ``(None, reason_code)`` otherwise."""
    text = _to_text(raw)
    classes = [_CHAR_CLASS.get(ch, _OTHER) for ch in text]
    if _OTHER in classes:
        return None, "not_a_number"

    # Rule 2: an Excel float such as "1012345678.0".
    keep_digits_upto = len(text)
    if classes.count(_DOT) == 1 and _SEP not in classes and _PLUS not in classes:
        dot = classes.index(_DOT)
        before = [ch for ch, c in zip(text[:dot], classes[:dot]) if c == _DIGIT]
        after = [ch for ch, c in zip(text[dot + 1:], classes[dot + 1:]) if c == _DIGIT]
        if len(before) >= 8 and after and all(_CHAR_DIGIT[ch] == "0" for ch in after):
            keep_digits_upto = dot

    digit_positions = [i for i, c in enumerate(classes) if c == _DIGIT and i < keep_digits_upto]
    plus_positions = [i for i, c in enumerate(classes) if c == _PLUS]
    if len(plus_positions) > 1:
        return None, "not_a_number"
    has_plus = bool(plus_positions)
    if has_plus and digit_positions and digit_positions[0] < plus_positions[0]:
        return None, "not_a_number"

    digits = "".join(_CHAR_DIGIT[text[i]] for i in digit_positions)
    if not digits:
        return None, "empty"

    # Rule 4: country code.
    if has_plus:
        if not digits.startswith("82"):
            return None, "foreign"
        national = digits[2:]
    elif digits.startswith("00") and len(digits) > 4:
        if not digits.startswith("0082"):
            return None, "foreign"
        national = digits[4:]
    elif digits.startswith("82"):
        national = digits[2:]
    else:
        national = digits

    # Rule 5: a leading zero lost in Excel.
    if national.startswith("0"):
        number = national
    elif national[:2] in _REPRESENTATIVE and len(national) <= 8:
        number = national
    else:
        number = "0" + national

    # Rule 6: length and prefix.
    n = len(number)
    if n < 8:
        return None, "too_short"
    if n > 12:
        return None, "too_long"
    allowed = _length_range(number)
    if allowed is None:
        return None, "unknown_prefix"
    if n < allowed[0]:
        return None, "too_short"
    if n > allowed[1]:
        return None, "too_long"
    return number, None


def normalize(raw) -> str:
    """Canonical digits for a Korean number; raises :class:`InvalidNumber`."""
    number, reason = classify(raw)
    if reason is not None:
        raise InvalidNumber(reason, REASONS[reason])
    return number  # type: ignore[return-value]


# --------------------------------------------------------------------------
# Vectorised implementation.

# Strings longer than this go through the scalar path (there are few of them:
# the longest plausible phone value, "+82 (0)10 - 1234 - 5678", is 23 chars).
_MAX_WIDTH = 32
_REASON_CODES = np.array(
    [None, "not_a_number", "empty", "foreign", "too_short", "too_long", "unknown_prefix"],
    dtype=object,
)
_R_OK, _R_NAN, _R_EMPTY, _R_FOREIGN, _R_SHORT, _R_LONG, _R_PREFIX = range(7)


def _as_text_array(s: pd.Series) -> np.ndarray:
    if not (pd.api.types.is_string_dtype(s.dtype) and s.dtype != object):
        if s.dtype == object:
            # mixed Python objects: make each the same text the scalar path sees
            s = s.map(_to_text, na_action="ignore")
        else:
            s = s.astype("str")
    return s.to_numpy(dtype=object, na_value="")


def normalize_series(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`classify` over a Series.

    Returns ``(canonical, reason)``, two ``str`` Series on ``s.index``:
    canonical is NA where the value is invalid, reason is NA where it is valid.
    """
    canonical, reason, _keys = normalize_array(_as_text_array(s))
    return (
        pd.Series(canonical, index=s.index, dtype="str"),
        pd.Series(reason, index=s.index, dtype="str"),
    )


def normalize_array(values: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The engine of :func:`normalize_series`, on an object array of ``str`` (or a Series).

    Returns three arrays: canonical numbers (object, None where invalid),
    reason codes (object, None where valid) and int64 keys (the canonical
    number as an integer, -1 where invalid). A canonical number never has
    two leading zeros, so equal keys mean equal numbers: de-duplicate on keys.
    """
    if isinstance(values, pd.Series):
        values = _as_text_array(values)
    n = len(values)
    canonical = np.full(n, None, dtype=object)
    reason = np.zeros(n, dtype=np.int8)
    keys = np.full(n, -1, dtype=np.int64)
    if n:
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=n)
        width = int(max(1, min(lengths.max(), _MAX_WIDTH)))
        _normalize_block(values, width, canonical, reason, keys)
        long_rows = np.flatnonzero(lengths > _MAX_WIDTH)
        if len(long_rows):
            # A handful of overlong cells (notes pasted into the phone column):
            # the scalar rules, on those rows only.
            codes = {code: i for i, code in enumerate(_REASON_CODES) if code}
            for i in long_rows:
                number, why = classify(values[i])
                canonical[i] = number
                reason[i] = codes[why] if why else _R_OK
                keys[i] = int(number) if number else -1
    return canonical, _REASON_CODES[reason], keys


def _normalize_block(
    values: np.ndarray, width: int, canonical: np.ndarray, reason: np.ndarray, keys: np.ndarray
) -> None:
    """The rules of :func:`classify` for rows no longer than ``width`` chars.

    Works on a (width, n) matrix of character codes, one numpy operation per
    character position over all rows at once.
    """
    n = len(values)
    chars = values.astype(f"<U{width}").view(np.uint32).reshape(n, width)
    codes = np.ascontiguousarray(_CODE_TABLE[chars].T)  # (width, n), see _CODE_TABLE
    del chars

    idx_type = np.int32 if (_KEEP + 1) * n < 2**31 else np.int64
    rows = np.arange(n, dtype=idx_type)
    n_digits = np.zeros(n, dtype=idx_type)
    # packed[k] holds the k-th digit of each row (255 = none); row _KEEP is a
    # scratch row that receives the non-digits.
    packed = np.full((_KEEP + 1, n), 255, dtype=np.uint8)
    flat = packed.reshape(-1)
    for j in range(width):
        code = codes[j]
        is_digit = code < 10
        target = np.where(is_digit, np.minimum(n_digits, _KEEP), _KEEP)
        target *= n
        target += rows
        flat[target] = code
        n_digits += is_digit
    n_digits = n_digits.astype(np.int64)

    # Rows with a dot, a plus or another character need more rules; they are
    # usually few, so those rules run on them only.
    other = np.zeros(n, dtype=bool)
    n_plus = np.zeros(n, dtype=np.int16)
    plus_after_digit = np.zeros(n, dtype=bool)
    special = np.flatnonzero((codes >= _C_DOT).any(axis=0))
    if len(special):
        sub = codes[:, special]
        m = len(special)
        s_other = np.zeros(m, dtype=bool)
        s_dot = np.zeros(m, dtype=np.int16)
        s_sep = np.zeros(m, dtype=np.int16)
        s_plus = np.zeros(m, dtype=np.int16)
        s_plus_after_digit = np.zeros(m, dtype=bool)
        s_digits = np.zeros(m, dtype=np.int64)
        seen_dot = np.zeros(m, dtype=bool)
        before_dot = np.zeros(m, dtype=np.int64)
        digit_after_dot = np.zeros(m, dtype=bool)
        nonzero_after_dot = np.zeros(m, dtype=bool)
        for j in range(width):
            code = sub[j]
            is_digit = code < 10
            s_other |= code == _C_OTHER
            is_dot = code == _C_DOT
            s_dot += is_dot
            s_sep += code == _C_SEP
            is_plus = code == _C_PLUS
            s_plus += is_plus
            s_plus_after_digit |= is_plus & (s_digits > 0)
            seen_dot |= is_dot
            before_dot += is_digit & ~seen_dot
            digit_after = is_digit & seen_dot
            digit_after_dot |= digit_after
            nonzero_after_dot |= digit_after & (code != 0)
            s_digits += is_digit
        # Rule 2: Excel float "1012345678.0": the digits after the dot do not
        # count (they sit after the others in `packed`: a shorter count drops them).
        float_like = (
            (s_dot == 1) & (s_sep == 0) & (s_plus == 0)
            & (before_dot >= 8) & digit_after_dot & ~nonzero_after_dot
        )
        n_digits[special] = np.where(float_like, before_dot, s_digits)
        other[special] = s_other
        n_plus[special] = s_plus
        plus_after_digit[special] = s_plus_after_digit
    del codes

    bad_plus = (n_plus > 1) | plus_after_digit
    has_plus = n_plus == 1

    d0, d1, d2, d3 = packed[0], packed[1], packed[2], packed[3]
    starts82 = (d0 == 8) & (d1 == 2)
    intl00 = (d0 == 0) & (d1 == 0) & (n_digits > 4)
    foreign = (has_plus & ~starts82) | (~has_plus & intl00 & ~((d2 == 8) & (d3 == 2)))
    skip = np.where(has_plus, 2, np.where(intl00, 4, np.where(starts82, 2, 0))).astype(np.int64)

    f0 = flat[skip * n + rows]
    f1 = flat[(skip + 1) * n + rows]
    f2 = flat[(skip + 2) * n + rows]
    national_len = n_digits - skip
    lead0 = f0 == 0
    representative = ~lead0 & (f0 == 1) & ((f1 == 5) | (f1 == 6) | (f1 == 8)) & (national_len <= 8)
    add0 = (~lead0 & ~representative).astype(np.int64)
    length = national_len + add0

    p0 = np.where(add0 == 1, 0, f0).astype(np.int64)
    p1 = np.where(add0 == 1, f0, f1).astype(np.int64)
    p2 = np.where(add0 == 1, f1, f2).astype(np.int64)
    three = (p0 < 10) & (p1 < 10) & (p2 < 10)
    prefix = np.where(three, p0 * 100 + p1 * 10 + p2, 1000)
    lo, hi = _MIN[prefix], _MAX[prefix]

    reason[:] = np.select(
        [
            other | bad_plus,
            n_digits == 0,
            foreign,
            length < 8,
            length > 12,
            lo == 0,
            length < lo,
            length > hi,
        ],
        [_R_NAN, _R_EMPTY, _R_FOREIGN, _R_SHORT, _R_LONG, _R_PREFIX, _R_SHORT, _R_LONG],
        default=_R_OK,
    )

    ok = np.flatnonzero(reason == _R_OK)
    if len(ok):
        start = skip[ok] - add0[ok]
        ok_len = length[ok]
        zero_first = add0[ok] == 1
        out = np.zeros((len(ok), 12), dtype=np.uint32)
        key = np.zeros(len(ok), dtype=np.int64)
        for j in range(12):
            src = np.minimum(start + j, _KEEP)
            digit = flat[src * n + ok].astype(np.int64)
            if j == 0:
                digit[zero_first] = 0
            inside = j < ok_len
            out[:, j] = np.where(inside, digit + 48, 0)
            key = np.where(inside, key * 10 + digit, key)
        canonical[ok] = out.view("<U12").ravel()
        keys[ok] = key


# --------------------------------------------------------------------------
# Display.


def _groups(number: str) -> list[str] | None:
    n = len(number)
    if not number.isdigit():
        return None
    if number.startswith("02") and n in (9, 10):
        return [number[:2], number[2:-4], number[-4:]]
    if number[:2] in _REPRESENTATIVE and n == 8:
        return [number[:4], number[4:]]
    if number.startswith("050") and n in (11, 12):
        return [number[:4], number[4:-4], number[-4:]]
    if number.startswith("0") and n in (10, 11):
        return [number[:3], number[3:-4], number[-4:]]
    return None


def format_display(canonical: str) -> str:
    """``01012345678`` -> ``010-1234-5678``; other values are normalised first.

    A value that is not a valid number comes back unchanged.
    """
    number = canonical if isinstance(canonical, str) else _to_text(canonical)
    groups = _groups(number)
    if groups is None:
        fixed, _ = classify(number)
        groups = _groups(fixed) if fixed else None
    return "-".join(groups) if groups else number


def mask(canonical: str) -> str:
    """For logs: ``010-****-5678``, ``02-***-4567``, ``1588-****``."""
    number = canonical if isinstance(canonical, str) else _to_text(canonical)
    groups = _groups(number)
    if groups is None:
        fixed, _ = classify(number)
        groups = _groups(fixed) if fixed else None
    if groups is None:
        digits = "".join(ch for ch in number if ch.isdigit())
        return "*" * max(0, len(digits) - 2) + digits[-2:]
    if len(groups) == 2:
        return f"{groups[0]}-{'*' * len(groups[1])}"
    return f"{groups[0]}-{'*' * len(groups[1])}-{groups[2]}"
