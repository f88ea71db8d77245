"""The FCM gateway: firebase-admin's ``send_each_async`` and what its answers mean for us.

Development and tests point firebase-admin 7.7.0 at ``fcm-local``: the app gets a credential
whose ``get_credential()`` is a static OAuth token, and its messaging service posts to
``fcm_local_url`` instead of Google.  With ``NOTIFY_SERVICE_ACCOUNT_FILE`` set it is a
service-account credential and Google's URL: nothing else differs.

Both hooks are private to firebase-admin (``_MessagingService._fcm_url`` and its
``_async_client``), so the version is pinned and ``tests/notifications`` fails if they move.
The SDK's own retries (HTTP 500/503, no jitter, ``Retry-After`` ignored) are switched off:
the dispatcher owns retries (``Outcome``).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import firebase_admin
import google.auth.exceptions
import google.oauth2.credentials
import httpx
from firebase_admin import credentials, exceptions, messaging
from firebase_admin._http_client import GoogleAuthCredentialFlow, HttpxAsyncClient
from firebase_admin._retry import HttpxRetry

from notifications.fcm_client import FcmHttpClient
from notifications.settings import NotifySettings

_apps = itertools.count(1)
# Transport failures after the request may have reached FCM: retrying could push twice.
_MAYBE_DELIVERED = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError,
                    httpx.RemoteProtocolError)
TRANSIENT_CODES = frozenset({"UNAVAILABLE", "INTERNAL", "QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED",
                             "DEADLINE_EXCEEDED", "NETWORK", "UNKNOWN", "UNAUTHENTICATED",
                             "PERMISSION_DENIED"})


class _StaticToken(google.oauth2.credentials.Credentials):
    """One OAuth token that never expires and whose refresh does nothing.

    firebase-admin refreshes the credential when an answer is 401 (FCM's
    THIRD_PARTY_AUTH_ERROR is one): a plain ``Credentials(token=...)`` cannot refresh and
    raises ``RefreshError``, which escapes ``send_each_async`` and fails the whole batch,
    pushes already accepted included."""

    def refresh(self, request: object) -> None:
        """Nothing to refresh: fcm-local accepts any bearer token."""


class StaticTokenCredential(credentials.Base):  # type: ignore[misc]
    """A credential that always presents one OAuth token (fcm-local accepts any)."""

    def __init__(self, token: str = "fcm-local") -> None:  # noqa: S107 (not a secret)
        self._credential = _StaticToken(token=token)  # type: ignore[no-untyped-call]

    def get_credential(self) -> google.oauth2.credentials.Credentials:
        """The google-auth credential firebase-admin signs requests with."""
        return self._credential


class Verdict(enum.Enum):
    """What to do with a delivery after FCM answered."""

    SENT = "sent"
    RETRY = "retry"  # transient: try again later (backoff, Retry-After)
    RETIRE = "retire"  # the token is dead: retire the device, never retry
    FAIL = "fail"  # our message is wrong or the project is misconfigured: dead-letter now
    UNKNOWN = "unknown"  # the request left and no answer came: FCM may have it; not resent


@dataclass(frozen=True)
class Outcome:
    """FCM's answer to one message."""

    verdict: Verdict
    message_name: str | None = None
    error: str | None = None
    retry_after: float | None = None


def open_app(settings: NotifySettings) -> firebase_admin.App:
    """A firebase-admin app of its own (several can live in one process, as in tests)."""
    name = f"mhi-notify-{next(_apps)}"
    options = {"projectId": settings.project_id, "httpTimeout": settings.http_timeout_seconds}
    if settings.service_account_file is not None:
        credential: credentials.Base = credentials.Certificate(
            str(settings.service_account_file))
    else:
        credential = StaticTokenCredential()
    app = firebase_admin.initialize_app(credential, options, name=name)
    service = messaging._get_messaging_service(app)
    if settings.service_account_file is None:
        service._fcm_url = (f"{settings.fcm_local_url.rstrip('/')}/v1/projects/"
                            f"{settings.project_id}/messages:send")
    if settings.transport == "pooled":
        # One call per message: a pool of HTTP/1.1 connections handed over in O(1), the
        # credential's headers kept for the token's life, the request made without httpx's
        # client machinery (notifications.fcm_client; what each gave:
        # docs/performance.md#pushes).
        service._async_client = FcmHttpClient(service._credential,
                                              settings.http_timeout_seconds,
                                              settings.connections)
        return app
    client = HttpxAsyncClient(credential=service._credential,
                              timeout=settings.http_timeout_seconds,
                              retry_config=HttpxRetry(max_retries=0))
    # NOTIFY_TRANSPORT=httpx: httpx's own transport (httpcore; HTTP/2 to Google), as
    # firebase-admin has it, with the pool the worker used before (bench/notify.py's old floor)
    client._async_client = httpx.AsyncClient(
        http2=settings.service_account_file is not None,
        timeout=settings.http_timeout_seconds, headers=client._headers,
        auth=GoogleAuthCredentialFlow(service._credential),
        limits=httpx.Limits(max_connections=settings.connections,
                            max_keepalive_connections=settings.connections))
    service._async_client = client
    return app


async def close_app(app: firebase_admin.App) -> None:
    """Close the app's HTTP client on this loop, then forget the app (firebase-admin's own
    close runs ``asyncio.run``, which cannot run inside a loop)."""
    await messaging._get_messaging_service(app)._async_client.aclose()
    await asyncio.to_thread(firebase_admin.delete_app, app)


class Gateway:
    """Sends messages through one firebase-admin app and classifies the answers."""

    def __init__(self, app: firebase_admin.App) -> None:
        self.app = app

    async def send(self, messages: Sequence[messaging.Message]) -> list[Outcome]:
        """One outcome per message, in order (at most 500 messages)."""
        if not messages:
            return []
        try:
            batch = await messaging.send_each_async(list(messages), app=self.app)
        except exceptions.FirebaseError as error:
            # One message's call raised something firebase-admin does not map; the others
            # ran on.  Before any request left (the credential could not be refreshed),
            # nothing was sent: retry all.  Otherwise some may have been: retry none.
            if isinstance(error.cause, google.auth.exceptions.RefreshError):
                return [Outcome(Verdict.RETRY, error="CREDENTIAL_REFRESH")] * len(messages)
            return [Outcome(Verdict.UNKNOWN, error=f"BATCH_FAILED ({error})")] * len(messages)
        return [Outcome(Verdict.SENT, message_name=response.message_id) if response.success
                else classify(response.exception) for response in batch.responses]


def classify(error: BaseException | None) -> Outcome:
    """What a firebase-admin exception means for the delivery (FCM's documented codes)."""
    if isinstance(error, messaging.UnregisteredError):
        return Outcome(Verdict.RETIRE, error="UNREGISTERED")
    if isinstance(error, messaging.SenderIdMismatchError):
        return Outcome(Verdict.RETIRE, error="SENDER_ID_MISMATCH")
    if isinstance(error, messaging.ThirdPartyAuthError):
        return Outcome(Verdict.FAIL, error="THIRD_PARTY_AUTH_ERROR")
    if isinstance(error, exceptions.InvalidArgumentError):
        if _names_the_token(error):
            return Outcome(Verdict.RETIRE, error="INVALID_TOKEN")
        return Outcome(Verdict.FAIL, error="INVALID_ARGUMENT")
    if isinstance(error, messaging.QuotaExceededError):
        return Outcome(Verdict.RETRY, error="QUOTA_EXCEEDED", retry_after=_retry_after(error))
    if isinstance(error, exceptions.FirebaseError):
        if isinstance(error.cause, _MAYBE_DELIVERED):
            return Outcome(Verdict.UNKNOWN, error=f"NO_ANSWER ({type(error.cause).__name__})")
        code = "NETWORK" if _is_network(error) else str(error.code)
        if code in TRANSIENT_CODES:
            return Outcome(Verdict.RETRY, error=code, retry_after=_retry_after(error))
        return Outcome(Verdict.FAIL, error=code)
    return Outcome(Verdict.RETRY, error=type(error).__name__ if error else "UNKNOWN")


def _names_the_token(error: exceptions.InvalidArgumentError) -> bool:
    """FCM says INVALID_ARGUMENT both for a malformed token and for a malformed message; only
    the first retires the device.  The body's field violation (or its message) tells."""
    response = error.http_response
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        for detail in (body.get("error") or {}).get("details") or []:
            for violation in detail.get("fieldViolations") or []:
                if violation.get("field") in ("message.token", "message.fid"):
                    return True
    return "registration token" in str(error).lower()


def _retry_after(error: exceptions.FirebaseError) -> float | None:
    """``Retry-After`` in seconds (FCM sends seconds; an HTTP date is not used by FCM)."""
    response = error.http_response
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _is_network(error: exceptions.FirebaseError) -> bool:
    cause = error.cause
    return isinstance(cause, httpx.TransportError) or (
        error.http_response is None and isinstance(error, exceptions.UnavailableError))
