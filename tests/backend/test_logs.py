"""Personal data never reaches a log line."""

from __future__ import annotations

import io
import logging

import pytest

from backend.logs import prepare, redact, request_id


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
        ("Key (iin)=(790303 402568)", "Key (iin)=([iin])"),
        ("iin 790-303-402-568 and 7903 0340 2568", "iin [iin] and [iin]"),
        ("sms to 7011234567 sent", "sms to [phone] sent"),
        ("sms to 87011234567 sent", "sms to [phone] sent"),
        ('{"phone": 77011234567}', '{"phone": [phone]}'),
        ("sms to (701) 123-45-67", "sms to ([phone]"),
        # What must stay readable: grouped amounts, tiyn, timestamps, epoch seconds, ids.
        ("paid 100 000 000 000 tiyn", "paid 100 000 000 000 tiyn"),
        ("amount 150000000 tiyn", "amount 150000000 tiyn"),
        ("at 2026-11-23T17:01:12.345678+00:00", "at 2026-11-23T17:01:12.345678+00:00"),
        ("at 2026-11-23 17:01:12,345", "at 2026-11-23 17:01:12,345"),
        ("epoch 1764000000 s, 1764000000123 ms", "epoch 1764000000 s, 1764000000123 ms"),
        ("counts 100 200 300 400", "counts 100 200 300 400"),
        ("id 5b1e4f0a-7011-2345-6789-0a1b2c3d4e5f", "id 5b1e4f0a-7011-2345-6789-0a1b2c3d4e5f"),
    ],
)
def test_redact(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_a_ten_digit_amount_beginning_with_7_is_masked_as_a_phone() -> None:
    """The documented price of catching 10-digit phones: such amounts (70 million tenge and
    more, in tiyn) lose their digits in the log."""
    assert redact("paid 7500000000 tiyn") == "paid [phone] tiyn"


def test_request_ids_are_stamped_on_lines() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.request-id")
    handler = prepare(logging.StreamHandler(stream))
    logger.addHandler(handler)
    token = request_id.set("abcdef0123456789")
    try:
        logger.warning("inside a request")
    finally:
        request_id.reset(token)
        logger.warning("outside")
        logger.removeHandler(handler)
    inside, outside = stream.getvalue().splitlines()
    assert inside.endswith("WARNING tests.request-id [abcdef0123456789]: inside a request")
    assert outside.endswith("WARNING tests.request-id [-]: outside")
