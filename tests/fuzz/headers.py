"""Hostile request headers: ``Accept-Language`` that is not a language list, and bearer tokens
that are not our tokens (forged, truncated, ``alg: none``, a deeply nested payload, huge).

Header values stay printable (a client cannot send CR, LF or NUL in a header), but may be any
UTF-8 text.
"""

from __future__ import annotations

import base64
import json
from functools import cache

from hypothesis import strategies as st

Header = tuple[str, bytes]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(header: object, payload: str, signature: str = "c2ln") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(payload.encode())}.{signature}"


FORGED_TOKENS = (
    _jwt({"alg": "none", "typ": "JWT"}, '{"sub":"x","aud":"mobile"}', ""),
    _jwt({"alg": "EdDSA", "kid": "../../etc/passwd"}, '{"sub":"x"}'),
    _jwt({"alg": "EdDSA", "kid": 123}, '{"sub":"x"}'),
    _jwt({"alg": "EdDSA", "kid": None}, "[]"),
    _jwt({"alg": "HS256"}, '{"aud":"integrator","scope":"stats:read","rpm":"Infinity"}'),
    _jwt({"alg": "EdDSA"}, "[" * 3000 + "]" * 3000),
    _jwt({"alg": "EdDSA"}, '{"exp": 1e999, "iat": "NaN", "sub": {"a": 1}}'),
    _jwt(["not", "an", "object"], "{}"),
    "a.b.c", "....", "e30", "A" * 10_000, ".".join(["A" * 3000] * 3), "ey.ey.ey",
)
AUTHORIZATIONS = (
    *(f"Bearer {token}" for token in FORGED_TOKENS),
    "Bearer", "Bearer ", "bearer  x", "Basic Zm9vOmJhcg==", "Token abc", "Bearer é", "Bearer\t1",
)
LANGUAGES = ("", "*", "kk", "ru;q=0.5, en;q=Infinity", "en;q=NaN", "xx-YY", "ru;q=2",
             "en;q=-1", ",,,", "kk-Cyrl-KZ;q=0.9", "zh-Hant-TW", ";q=1", "ru" * 2000,
             ", ".join(["en"] * 500), "в", "\u0301")


def _printable(text: str) -> bytes:
    return "".join(ch for ch in text if ch.isprintable()).encode("utf-8")


@cache
def extra_headers() -> st.SearchStrategy[tuple[Header, ...]]:
    """Usually none; sometimes a hostile ``Accept-Language``, ``Authorization`` or both."""
    language = st.one_of(st.sampled_from(LANGUAGES), st.text(max_size=40)).map(_printable)
    authorization = st.one_of(st.sampled_from(AUTHORIZATIONS),
                              st.text(max_size=60).map(lambda text: "Bearer " + text)
                              ).map(_printable)
    return st.one_of(
        st.just(()),
        st.tuples(st.tuples(st.just("Accept-Language"), language)),
        st.tuples(st.tuples(st.just("Authorization"), authorization)),
    )
