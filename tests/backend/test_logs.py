"""Personal data never reaches a log line."""

from __future__ import annotations

import pytest

from backend.logs import redact


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Key (iin)=(790303402568) already exists.", "Key (iin)=([iin]) already exists."),
        ("sms to +77011234567 sent", "sms to [phone] sent"),
        ("sms to 8 (701) 123-45-67 sent", "sms to [phone] sent"),
        ("bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "bearer [token]"),
        ("refresh rt.Zm9vYmFyYmF6cXV4cXV1eGNvcmdl_-x1 reused", "refresh [secret] reused"),
        ("client cs_c2VjcmV0c2VjcmV0c2VjcmV0c2Vj failed", "client [secret] failed"),
        ("1234567890123 is thirteen digits", "1234567890123 is thirteen digits"),
        ("inserted 1000 rows in 12.5 s", "inserted 1000 rows in 12.5 s"),
    ],
)
def test_redact(line: str, expected: str) -> None:
    assert redact(line) == expected
