"""``GET /log/proof/{kind}/{id}``: the proof file of one of the signed-in citizen's records.

The file (C2SP ``tlog-proof``, ``backend.tlog.prooffile``) carries the record and its salt so
that its holder can check the commitment: it is the person's data, so it is given only with
the app's bearer token, only for the person's own receipt (``contribution``), covered service
(``service_payment``) or access-log entry (``access``), and never cached
(``private, no-store``).  Another person's record and a record that does not exist get the
same 404 (no existence oracle); a record not yet in a published checkpoint is a 404 that says
so; a proof that does not verify is never served (409, ``LOG_MISMATCH``).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from auth.principals import Citizen
from backend.gql.context import language_from_header
from backend.tlog.prooffile import FILE_EXTENSION
from backend.tlog.proofs import FAMILIES, LogProofs, ProofUnverified, RecordRef, owns

MEDIA_TYPE = "text/plain; charset=utf-8"
PRIVATE = "private, no-store"
_MAX_ID = 2**63 - 1

NOT_YET: dict[str, str] = {
    "kk": "Бұл жазба журналдың куәгерлер растаған бақылау нүктесіне әлі кірген жоқ; "
          "бір минуттан кейін қайталаңыз.",
    "ru": "Эта запись ещё не вошла в контрольную точку журнала, заверенную свидетелями; "
          "повторите через минуту.",
    "en": "This record is not in a checkpoint the witnesses cosigned yet; try again in a "
          "minute.",
}
NOT_FOUND: dict[str, str] = {
    "kk": "Мұндай жазбаңыз жоқ.", "ru": "У вас нет такой записи.",
    "en": "You have no such record.",
}
SIGN_IN: dict[str, str] = {
    "kk": "Жүйеге кіріңіз.", "ru": "Войдите в приложение.", "en": "Sign in to the app.",
}


def _error(status: int, code: str, text: str, headers: dict[str, str] | None = None
           ) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": text}}, status_code=status,
                        headers={"Cache-Control": PRIVATE, **(headers or {})})


def file_name(family: str, record_id: int) -> str:
    """The name the file is saved under."""
    return f"mhi-{family.replace('_', '-')}-{record_id}{FILE_EXTENSION}"


def add_proof_download(app: FastAPI, proofs: LogProofs) -> None:
    """Mount ``GET /log/proof/{kind}/{id}`` on ``app`` (its runtime's reads and identity)."""

    @app.get("/log/proof/{family}/{record_id}", include_in_schema=False)
    async def proof_file(family: str, record_id: str, request: Request) -> Response:
        language = language_from_header(request.headers.get("accept-language"))
        runtime = request.app.state.runtime
        principal = await runtime.auth.principal_from_header(
            request.headers.get("authorization"))
        if not isinstance(principal, Citizen):
            return _error(401, "UNAUTHENTICATED", SIGN_IN[language],
                          {"WWW-Authenticate": "Bearer"})
        if (family not in FAMILIES or not (record_id.isascii() and record_id.isdigit())
                or len(record_id) > 19 or int(record_id) > _MAX_ID):
            return _error(404, "NOT_FOUND", NOT_FOUND[language])
        ref = RecordRef(family, int(record_id))
        async with runtime.reads.connection() as db:
            if not await owns(db, ref, principal.person_id):
                return _error(404, "NOT_FOUND", NOT_FOUND[language])
            try:
                text = await proofs.proof_file(db, ref)
            except ProofUnverified as refused:
                return _error(refused.status_code, refused.code, refused.message_in(language))
        if text is None:
            return _error(404, "NOT_FOUND", NOT_YET[language], {"Retry-After": "30"})
        return Response(text, media_type=MEDIA_TYPE, headers={
            "Cache-Control": PRIVATE,
            "Content-Disposition": f'attachment; filename="{file_name(family, ref.record_id)}"',
        })
