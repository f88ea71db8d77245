"""The gateway's two configurations: fcm-local (tests elsewhere send through it) and Google
with a service account, which must point at Google and nowhere else, with the SDK's own
retries off either way."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import credentials, messaging

from notifications.fcm_client import CachedCredentialAuth, FcmHttpClient
from notifications.gateway import StaticTokenCredential, close_app, open_app
from notifications.settings import NotifySettings
from notifications.transport import PooledTransport

GOOGLE = "https://fcm.googleapis.com/v1/projects/mhi-prod/messages:send"


def service_account(path: Path) -> Path:
    """A service-account file shaped like Google's (a fresh key; it signs nothing here)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "mhi-prod", "private_key_id": "k1",
        "private_key": pem, "client_email": "push@mhi-prod.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}))
    return path


async def test_a_service_account_sends_to_google_with_no_sdk_retries(tmp_path: Path) -> None:
    settings = NotifySettings(project_id="mhi-prod",
                              service_account_file=service_account(tmp_path / "sa.json"))
    app = open_app(settings)
    try:
        service = messaging._get_messaging_service(app)
        assert service._fcm_url == GOOGLE
        assert isinstance(app.credential, credentials.Certificate)
        assert isinstance(service._async_client, FcmHttpClient)
        assert service._async_client._retry_config.retries_left == 0
        client = service._async_client._async_client  # the path for anything but a send
        assert client._transport is service._async_client.transport
        assert isinstance(client._transport, PooledTransport)  # HTTP/1.1 over TLS
        assert client._transport.connections == settings.connections
        assert isinstance(client.auth, CachedCredentialAuth)
    finally:
        await close_app(app)


async def test_httpx_transport_is_firebase_admins_own_with_http2_to_google(
        tmp_path: Path) -> None:
    settings = NotifySettings(project_id="mhi-prod", transport="httpx",
                              service_account_file=service_account(tmp_path / "sa.json"))
    app = open_app(settings)
    try:
        service = messaging._get_messaging_service(app)
        assert service._async_client._retry_config.retries_left == 0
        pool = service._async_client._async_client._transport._pool
        assert pool._max_connections == settings.connections
        assert pool._http2 is True  # Google multiplexes over HTTP/2
    finally:
        await close_app(app)


async def test_fcm_local_is_the_default_and_needs_no_google_credential() -> None:
    settings = NotifySettings(fcm_local_url="http://127.0.0.1:8470/")
    app = open_app(settings)
    try:
        service = messaging._get_messaging_service(app)
        assert service._fcm_url == \
            "http://127.0.0.1:8470/v1/projects/mhi-local/messages:send"
        assert isinstance(app.credential, StaticTokenCredential)
        token = app.credential.get_credential()
        token.refresh(None)  # type: ignore[no-untyped-call]  # a 401 refreshes: no raise
        assert token.token == "fcm-local"
    finally:
        await close_app(app)
