"""Checkpoints: signed by the log, cosigned by witnesses, then published.

``checkpoint`` (the worker's job, ``mhi log checkpoint``) under an advisory lock, so one
process signs at a time:

1. if the tree grew past the last signed checkpoint (and it is due: ``due``), sign a C2SP
   ``tlog-checkpoint`` of the current size and root (``tlog.checkpoint.signed``);
2. send the newest signed checkpoint not yet published to every witness (C2SP
   ``tlog-witness``: ``POST <url>/add-checkpoint`` with ``old <size>``, the consistency proof
   from the size that witness last cosigned, and the signed note); a 409 says the witness's
   size, and the request is made once more from there;
3. check each cosignature with the witness's key (``TLOG_WITNESSES``), and once at least one
   verified, store the note with the cosignature lines and publish it: ``/log/checkpoint``
   serves the newest published checkpoint.

A witness that is away delays publication (the signed checkpoint waits, and is offered again
on the next run), never the appends.  The signing key's name is the log's origin, as C2SP and
``backend.tlog.checkpoint.open_checkpoint`` require.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import TlogSettings, WitnessAddress
from backend.tlog.checkpoint import Checkpoint, open_checkpoint
from backend.tlog.leaves import MissingKey, kept_secret
from backend.tlog.note import (
    Ed25519Signer,
    Ed25519Verifier,
    NoteError,
    generate_key,
    new_signer,
    new_verifier,
    open_note,
    sign_note,
)
from backend.tlog.store import Driver, consistency_proof, driver_of, root_hash, tree_size

log = logging.getLogger("mhi.tlog")

PUBLISH_LOCK = 0x746C_6F67_0002
"""The advisory lock key of the checkpoint signer (``tlog`` in ASCII, then 2)."""
SIGNING_KEY_FILE = "log.key"
VERIFIER_KEY_FILE = "log.vkey"
WITNESS_TIMEOUT = 10.0
SIZE_TYPE = "text/x.tlog.size"


def log_signer(settings: TlogSettings) -> Ed25519Signer:
    """The log's signing key: ``TLOG_SIGNING_KEY``; outside production, ``<key_dir>/log.key``
    (made once, named after ``TLOG_ORIGIN``, its verifier key written beside it)."""
    if settings.signing_key is not None:
        text = settings.signing_key.get_secret_value()
    elif settings.environment == "production":
        raise MissingKey("production needs TLOG_SIGNING_KEY (a signed-note private key)")
    else:
        text = kept_secret(settings.key_dir / SIGNING_KEY_FILE,
                           lambda: generate_key(settings.origin)[0])
    signer = new_signer(text.strip())
    if signer.name != settings.origin:
        raise MissingKey(f"the signing key is named {signer.name!r} but TLOG_ORIGIN is "
                         f"{settings.origin!r}: a checkpoint is signed under its origin")
    if settings.signing_key is None:
        vkey = settings.key_dir / VERIFIER_KEY_FILE
        if not vkey.exists() or vkey.read_text().strip() != signer.verifier().vkey:
            vkey.write_text(signer.verifier().vkey + "\n")
    return signer


@dataclass
class PublishReport:
    """What one run of :func:`checkpoint` did."""

    size: int = 0
    signed: bool = False
    """A new checkpoint was signed (the tree had grown and one was due)."""
    cosigned_by: list[str] = field(default_factory=list)
    published: int | None = None
    """The size now published, if this run published one."""
    refused: list[str] = field(default_factory=list)
    """Witnesses that did not cosign, and why."""
    busy: bool = False

    def __str__(self) -> str:
        if self.busy:
            return "another process is signing"
        parts = [f"size {self.size:,}", "signed" if self.signed else "nothing new to sign"]
        if self.published is not None:
            parts.append(f"published, cosigned by {', '.join(self.cosigned_by)}")
        parts.extend(f"not cosigned by {why}" for why in self.refused)
        return "checkpoint: " + "; ".join(parts)


@dataclass(frozen=True)
class _Signed:
    size: int
    note: str
    published: bool
    age: float


async def _latest(driver: Driver) -> _Signed | None:
    rows = await driver.fetch(
        "SELECT size, signed, published_at IS NOT NULL AS published,"
        " extract(epoch FROM now() - signed_at)::float8 AS age"
        " FROM tlog.checkpoint ORDER BY size DESC LIMIT 1")
    if not rows:
        return None
    row = rows[0]
    return _Signed(row["size"], row["signed"], row["published"], row["age"])


def due(size: int, latest: _Signed | None, settings: TlogSettings) -> bool:
    """Whether a new checkpoint is due: the tree grew, and the last one is older than
    ``checkpoint_every_seconds`` or ``checkpoint_leaves`` arrived since."""
    if latest is None:
        return size > 0
    if size <= latest.size:
        return False
    return (latest.age >= settings.checkpoint_every_seconds
            or size - latest.size >= settings.checkpoint_leaves)


async def checkpoint(engine: AsyncEngine, signer: Ed25519Signer,
                     witnesses: Sequence[WitnessAddress], client: httpx.AsyncClient,
                     settings: TlogSettings, *, force: bool = False) -> PublishReport:
    """Sign a checkpoint when one is due (``force``: whenever the tree grew), and get the
    newest unpublished one cosigned and published (see the module's docstring)."""
    report = PublishReport()
    async with engine.connect() as conn:
        driver = await driver_of(conn)
        if not await driver.fetchval("SELECT pg_try_advisory_lock($1)", PUBLISH_LOCK):
            report.busy = True
            return report
        try:
            await _sign_and_publish(driver, signer, witnesses, client, settings, force,
                                    report)
        finally:
            await driver.execute("SELECT pg_advisory_unlock($1)", PUBLISH_LOCK)
    return report


async def _sign_and_publish(driver: Driver, signer: Ed25519Signer,
                            witnesses: Sequence[WitnessAddress], client: httpx.AsyncClient,
                            settings: TlogSettings, force: bool, report: PublishReport) -> None:
    report.size = await tree_size(driver)
    latest = await _latest(driver)
    grew = report.size > (latest.size if latest else 0)
    if (force and grew) or due(report.size, latest, settings):
        root = await root_hash(driver, report.size)
        note = sign_note(Checkpoint(settings.origin, report.size, root).text(), [signer])
        await driver.execute(
            "INSERT INTO tlog.checkpoint (size, root_hash, signed) VALUES ($1, $2, $3)",
            report.size, root, note)
        report.signed = True
        latest = _Signed(report.size, note, False, 0.0)
    if latest is None or latest.published:
        return
    lines: list[str] = []
    for witness in witnesses:
        try:
            line = await _cosign(driver, witness, latest, client)
        except (httpx.HTTPError, NoteError, WitnessRefused) as error:
            report.refused.append(f"{witness.url}: {error}")
            log.warning("witness %s did not cosign size %d: %s", witness.url, latest.size,
                        error)
            continue
        lines.append(line)
        report.cosigned_by.append(new_verifier(witness.key).name)
    if lines:
        cosigned = latest.note + "".join(lines)
        open_checkpoint(cosigned, signer.verifier(),
                        [new_verifier(w.key) for w in witnesses], quorum=1)
        await driver.execute(
            "UPDATE tlog.checkpoint SET cosigned = $2, published_at = now() WHERE size = $1",
            latest.size, cosigned)
        report.published = latest.size


class WitnessRefused(RuntimeError):
    """A witness answered with a refusal (or an answer that is not a cosignature)."""


async def _cosign(driver: Driver, witness: WitnessAddress, signed: _Signed,
                  client: httpx.AsyncClient) -> str:
    """The witness's verified cosignature line for ``signed`` (asking again once from the
    size its 409 names)."""
    verifier = new_verifier(witness.key)
    old = await driver.fetchval("SELECT size FROM tlog.witness WHERE name = $1",
                                verifier.name) or 0
    for _ in range(2):
        answer = await client.post(f"{witness.url.rstrip('/')}/add-checkpoint",
                                   content=await _request(driver, old, signed),
                                   timeout=WITNESS_TIMEOUT)
        if answer.status_code == 409 and answer.headers.get(
                "content-type", "").startswith(SIZE_TYPE):
            theirs = int(answer.text.strip())
            if theirs > signed.size or theirs == old:
                raise WitnessRefused(f"it has cosigned size {theirs}, ours is {signed.size}")
            old = theirs
            continue
        if answer.status_code != 200:
            raise WitnessRefused(f"HTTP {answer.status_code}: {answer.text.strip()[:200]}")
        line = _verified_line(answer.text, signed.note, verifier)
        await driver.execute(
            "INSERT INTO tlog.witness (name, size) VALUES ($1, $2) ON CONFLICT (name)"
            " DO UPDATE SET size = excluded.size, updated_at = now()",
            verifier.name, signed.size)
        return line
    raise WitnessRefused("it kept answering 409")


async def _request(driver: Driver, old: int, signed: _Signed) -> bytes:
    """The body of ``add-checkpoint``: ``old``, the proof lines, a blank line, the note."""
    proof = (await consistency_proof(driver, old, signed.size)).hashes if old else []
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + signed.note).encode()


def _verified_line(answer: str, note: str, verifier: Ed25519Verifier) -> str:
    """The witness's signature line(s) in ``answer``, checked against ``note``'s text."""
    text = note.split("\n\n", 1)[0] + "\n"
    lines = [line + "\n" for line in answer.splitlines()
             if line.startswith(f"— {verifier.name} ")]
    if not lines:
        raise WitnessRefused("its answer holds no signature line")
    opened = open_note(text + "\n" + "".join(lines), [verifier])
    if not any(sig.name == verifier.name for sig in opened.sigs):
        raise WitnessRefused("its cosignature does not verify")
    return "".join(lines)
