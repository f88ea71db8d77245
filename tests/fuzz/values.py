"""Hostile values for the fuzz run: strings, numbers and scalar texts that have broken APIs
before (NUL, lone surrogates, digits that are not ASCII, ids of ``Infinity``, huge numbers),
JSON of the wrong shape for a variable, and raw JSON tokens that only a lenient parser reads.

A value drawn here is JSON-ready, except ``RawJson``: a token written into the request body as
is (``NaN``, a 5,000-digit number, a 3,000-deep array), which ``json.dumps`` cannot produce.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

import graphql
from hypothesis import strategies as st


class RawJson(str):
    """A JSON token sent verbatim in the body (see ``body_bytes``)."""

    __slots__ = ()


RAW_TOKENS: tuple[RawJson, ...] = tuple(RawJson(token) for token in (
    "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1.0e-400", "1" + "0" * 5000,
    "[" * 3000 + "]" * 3000, '{"a":' * 2000 + "1" + "}" * 2000,
))

NODE_TYPES = ("Citizen", "Contribution", "CoveredService", "Notification", "Provider",
              "PushDevice", "PatientWindow", "DeviceSession", "HelpArticle", "Announcement",
              "Nope", "")
CURSOR_KINDS = ("help", "help_search", "covered_service", "access", "notification", "anomaly",
                "contribution", "")
ODD_KEYS: tuple[Any, ...] = (
    "Infinity", "-Infinity", "NaN", "²", "١٢", "𝟗", "1" * 30, str(2 ** 63), "-1", "0", "",
    "\x00", "1e5", " 1", "00000000-0000-0000-0000-000000000000",
    "00000000-0000-0000-0000-00000000000g", "a:b:c", "%00", "../1",
)
ODD_CURSOR_VALUES: tuple[Any, ...] = (
    None, True, 2 ** 63, -(2 ** 63) - 1, 10 ** 30, 1.5, 1e308, "Infinity", "²", "", [], {},
    "2026-13-45", "9999-12-31T23:59:59", "\x00", "0" * 100,
)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def _cursor(value: list[Any]) -> str:
    raw = json.dumps(value).encode()  # Infinity stays a token Python's json.loads accepts
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CRAFTED_IDS = tuple(_b64(f"{type_name}:{key}") for type_name in NODE_TYPES
                    for key in ODD_KEYS if isinstance(key, str))
CRAFTED_CURSORS = tuple(
    [_cursor([kind, value]) for kind in CURSOR_KINDS for value in ODD_CURSOR_VALUES]
    + [_cursor([kind, value, value]) for kind in CURSOR_KINDS[:2] for value in ODD_CURSOR_VALUES]
    + [_cursor([kind]) for kind in CURSOR_KINDS]
    + ["=", "====", "!!", "e30", _b64("x" * 3000), "W10", "bnVsbA", "MQ"])

HOSTILE_STRINGS: tuple[str, ...] = (
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\udbff\udfff", "\ufffe", "\uffff",
    "\u202egnp.exe", "\u200b", "\ufeff", "e\u0301", "🏥🇰🇿", "ǅ", "Ⅻ", "²", "٣", "𝟗", "１２３",
    "Infinity", "-Infinity", "NaN", "1e309", "-0", "9" * 40, str(2 ** 63), str(-(2 ** 63) - 1),
    "0x10", " 1 ", "\t", "\r\n", "%00", "' OR 1=1 --", "\\", '"', "{{7*7}}", "A" * 5000,
    "Ж" * 300, "Asia", "Asia/Almaty", "UTC", "Etc/GMT+14", "../../etc/passwd", "A" * 300,
    "790303402568", "+77011234567", "87011234567", "7011234567", "7903 0340 2568",
    "ABCD-EFGH", "000000", "0000000", "cl_0000", "Bearer x", "eyJhbGciOiJub25lIn0.e30.",
)
"""Strings that broke this API or others: NUL and lone surrogates, digits that are not ASCII,
numbers beyond 64 bits, time zones that are not zones, very long texts, IIN and phone shapes."""
BROKEN_TEXT = ("\x00", "a\x00b", "\ud800", "x\udfffy", "\udbff\udfff", "\udc00\ud800", "ok\x00")
"""NUL and lone surrogates, the two that Python and PostgreSQL disagree about, drawn often."""

DATES = ("2026-11-23", "2026-02-30", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01",
         "2026-1-1", "+2026-11-23", "2026-11-23T10:00:00", "２０２６-１１-２３", "1969-12-31")
DATETIMES = ("2026-11-23T10:00:00Z", "2026-11-23T10:00:00+14:00", "2026-11-23T25:00:00Z",
             "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-11-23",
             "2026-11-23T10:00:00+99:99", "now")
TIMES = ("00:00", "23:59", "22:00:00", "07:00:00", "25:00:00", "24:00", "23:59:60",
         "12:00:00.123456789", "12", "-01:00", "12:00+05:00", "１２:００")
YEAR_MONTHS = ("2026-11", "2026-13", "2026-00", "0000-01", "9999-12", "10000-01", "2026-1",
               "-2026-01", "２０２６-１１", "2026-١١", "2026-11-01")
DECIMALS = ("0", "0.01", "-1", "1e400", "NaN", "Infinity", "-0", "1" * 60, "12400.00",
            "0.001", "sNaN", "1_000", "١٢")
SCALAR_TEXTS: dict[str, tuple[str, ...]] = {
    "Date": DATES, "DateTime": DATETIMES, "Time": TIMES, "YearMonth": YEAR_MONTHS,
    "Decimal": DECIMALS}

INT_EDGES = (0, -1, 1, 100, 101, 500, 501, 1000, 1001, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1,
             2 ** 53 + 1, 2 ** 63, 2 ** 64, 10 ** 30, 1969, 9998, 9999, 10000)


@cache
def texts(known: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """Strings: hostile ones, crafted ids and cursors, this run's real values, and random text
    (lone surrogates included, which ``st.text()`` leaves out by default)."""
    options = [
        st.sampled_from(BROKEN_TEXT),
        st.sampled_from(HOSTILE_STRINGS),
        st.sampled_from(CRAFTED_IDS),
        st.sampled_from(CRAFTED_CURSORS),
        st.text(max_size=20),
        st.text(st.characters(categories=["Cs", "Cc", "Cf", "Zs", "Nd", "No"]), max_size=8),
    ]
    if known:
        options.insert(0, st.sampled_from(known))
    return st.one_of(options)


@cache
def integers() -> st.SearchStrategy[int]:
    """32-bit integers, the edges of every limit in the schema, and integers of any size."""
    return st.one_of(st.sampled_from(INT_EDGES), st.integers(-(2 ** 31), 2 ** 31 - 1),
                     st.integers())


@cache
def scalar_text(name: str, known: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """A text for a custom scalar: plausible forms, near misses, or any hostile string."""
    return st.one_of(st.sampled_from(SCALAR_TEXTS.get(name, ("",))), texts(known))


@cache
def wrong_json(known: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    """Any JSON value (of whatever type the variable is not), or a raw token."""
    leaves = st.one_of(st.none(), st.booleans(), integers(),
                       st.floats(allow_nan=False, allow_infinity=False), texts(known))
    return st.one_of(
        st.recursive(leaves, lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=6),
        st.sampled_from(RAW_TOKENS),
    )


_json_strategies: dict[tuple[str, tuple[str, ...], int, bool], st.SearchStrategy[Any]] = {}


def json_for(type_: graphql.GraphQLInputType, known: tuple[str, ...] = (), depth: int = 0,
             long_lists: bool = True) -> st.SearchStrategy[Any]:
    """A JSON value shaped like ``type_`` (null allowed where the type allows it), with hostile
    leaves; with ``long_lists``, lists are sometimes one past the schema's largest limit."""
    key = (str(type_), known, depth, long_lists)
    if key not in _json_strategies:
        if isinstance(type_, graphql.GraphQLNonNull):
            strategy = _json_for_named(type_.of_type, known, depth, long_lists)
        else:
            strategy = st.one_of(st.none(), _json_for_named(type_, known, depth, long_lists))
        _json_strategies[key] = strategy
    return _json_strategies[key]


def _json_for_named(type_: graphql.GraphQLInputType, known: tuple[str, ...], depth: int,
                    long_lists: bool) -> st.SearchStrategy[Any]:
    if isinstance(type_, graphql.GraphQLList):
        item = json_for(type_.of_type, known, depth + 1, long_lists)
        if not long_lists:
            return st.one_of(st.lists(item, max_size=3), item)
        return st.one_of(st.lists(item, max_size=3), item,
                         item.map(lambda value: [value] * 1001))
    if isinstance(type_, graphql.GraphQLEnumType):
        return st.one_of(st.sampled_from(tuple(type_.values)), texts(known))
    if isinstance(type_, graphql.GraphQLInputObjectType):
        return _object_for(type_, known, depth, long_lists)
    assert isinstance(type_, graphql.GraphQLScalarType), type_
    name = type_.name
    if name == "Int":
        return integers()
    if name == "Float":
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False), integers())
    if name == "Boolean":
        return st.booleans()
    if name in ("String", "ID"):
        return texts(known)
    return scalar_text(name, known)


def _object_for(type_: graphql.GraphQLInputObjectType, known: tuple[str, ...], depth: int,
                long_lists: bool) -> st.SearchStrategy[Any]:
    if depth > 3:
        return st.just({})
    required = {name: json_for(field.type, known, depth + 1, long_lists)
                for name, field in type_.fields.items()
                if graphql.is_required_input_field(field)}
    optional = {name: json_for(field.type, known, depth + 1, long_lists)
                for name, field in type_.fields.items() if name not in required}
    return st.fixed_dictionaries(required, optional=optional)


def body_bytes(payload: Any) -> bytes:
    """``payload`` as a JSON body: ASCII-escaped (so lone surrogates travel as ``\\ud800``),
    with every ``RawJson`` written verbatim."""
    raws: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, RawJson):
            raws.append(str(value))
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(value, list):
            return [swap(item) for item in value]
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        return value

    text = json.dumps(swap(payload), ensure_ascii=True)
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{index}\x00"), raw, 1)
    return text.encode("ascii")
