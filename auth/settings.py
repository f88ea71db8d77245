"""Settings of the ``auth`` package (prefix ``AUTH_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

_DEFAULT_KEY = Path(__file__).resolve().parent.parent / ".data" / "auth" / "signing-key.pem"


class AuthSettings(BaseSettings):
    """Token issuing and verification."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", env_file=".env", extra="ignore")

    issuer: str = "https://mhi.local"
    access_token_ttl_seconds: int = 900
    clock_leeway_seconds: int = 30
    signing_key_file: Path = _DEFAULT_KEY
