"""The log's side of C2SP ``tlog-witness``: ask a witness to cosign a checkpoint.

The log (``backend/tlog/publish.py``) calls :func:`request_cosignature` with the size it
believes the witness cosigned last and a consistency proof from there.  Three outcomes:

- the cosignature line(s) (``bytes``, each line ``— <witness> <base64>\\n``), to be checked
  with the witness's verifier key before they are added to the published checkpoint (a
  client must ignore cosignatures from keys it does not know);
- :class:`WitnessConflict` with the witness's size (its 409): the log computes a proof from
  that size and asks again; a size larger than the log's own means the witness has seen a
  longer tree than the log has, which the log must never paper over;
- :class:`WitnessError` for every other answer or a network failure (with the status and the
  witness's reason), so the caller can retry later or publish without this witness.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final

import httpx

DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=3.0)
"""A witness answers in milliseconds (a signature check, a proof, an fsync); a slow one must
not hold the log's publishing for long."""


@dataclass(frozen=True)
class WitnessConflict:
    """The witness's 409: the size of the latest checkpoint it cosigned for this log."""

    size: int


class WitnessError(Exception):
    """The witness did not cosign: ``status`` is its HTTP status (``None``: no answer)."""

    def __init__(self, status: int | None, reason: str) -> None:
        super().__init__(f"witness refused ({status}): {reason}" if status
                         else f"witness unreachable: {reason}")
        self.status = status
        self.reason = reason


def add_checkpoint_body(old_size: int, proof: list[bytes], signed_checkpoint: bytes) -> bytes:
    """The request body: ``old <size>``, one base64 line per proof hash, an empty line, the
    signed checkpoint note."""
    if old_size < 0:
        raise ValueError("old size must not be negative")
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n").encode() + signed_checkpoint


def _conflict(response: httpx.Response) -> WitnessConflict:
    text = response.text
    if not text.endswith("\n") or not text[:-1].isdigit():
        raise WitnessError(409, f"a 409 without a tree size: {text[:100]!r}")
    return WitnessConflict(int(text[:-1]))


async def request_cosignature(
    client: httpx.AsyncClient,
    url: str,
    old_size: int,
    proof: list[bytes],
    signed_checkpoint: bytes,
    *,
    timeouts: httpx.Timeout | float = DEFAULT_TIMEOUT,
) -> bytes | WitnessConflict:
    """Post the checkpoint to the witness at ``url`` (its submission prefix, e.g.
    ``http://127.0.0.1:8472``); the cosignature line(s) or the witness's size on a 409.
    ``timeouts`` are httpx's (seconds, or an ``httpx.Timeout``): connecting, sending, each read.

    Raises :class:`WitnessError` for any other answer, a timeout or a failed connection."""
    target = url.rstrip("/") + "/add-checkpoint"
    body = add_checkpoint_body(old_size, proof, signed_checkpoint)
    try:
        response = await client.post(target, content=body, timeout=timeouts,
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
    except httpx.HTTPError as error:
        raise WitnessError(None, f"{type(error).__name__}: {error}") from error
    if response.status_code == 409:
        return _conflict(response)
    if response.status_code != 200:
        raise WitnessError(response.status_code, response.text.strip()[:500])
    lines = response.content
    if not lines.startswith("— ".encode()) or not lines.endswith(b"\n"):
        raise WitnessError(200, "the answer is not signature lines")
    return lines
