"""Settings of the ``auth`` package (prefix ``AUTH_``).

One secret, ``AUTH_SECRET_KEY`` (at least 32 random bytes, base64), is the root of everything
``auth`` keeps hidden: the key that encrypts the signing keys at rest and the pepper of every
stored code and secret hash are derived from it (HKDF, one label each).  Production refuses to
start without it; development and tests create one on first use in a git-ignored file (0600).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_DEFAULT_SECRET_FILE = Path(__file__).resolve().parent.parent / ".data" / "auth" / "secret.key"


class AuthSettings(BaseSettings):
    """Tokens, keys, login codes, throttles and sessions."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    environment: Literal["development", "test", "production"] = Field(
        default="development",
        description="Production needs AUTH_SECRET_KEY and a real SMS gateway.",
        validation_alias=AliasChoices("AUTH_ENVIRONMENT", "APP_ENVIRONMENT"),
    )
    issuer: str = "https://mhi.local"
    secret_key: SecretStr | None = None
    secret_key_file: Path = _DEFAULT_SECRET_FILE

    access_token_ttl_seconds: int = 900
    clock_leeway_seconds: int = 30
    # Verified access tokens each process remembers (``auth.tokens``): about 1 KB each.
    token_cache_size: int = 10_000

    # Signing keys: a key signs for ``key_rotation_days``; its successor is published in the
    # JWKS ``key_prepublish_seconds`` before it starts signing (caches pick it up first), and a
    # retired key still verifies for ``key_overlap_seconds`` (tokens it signed run out).
    key_rotation_days: int = 30
    key_prepublish_seconds: int = 3600
    key_overlap_seconds: int = 86_400
    keyring_refresh_seconds: int = 300

    # Citizen login by one-time code.  Every budget is counted per requester (the client
    # address, alone or with the IIN) so that nobody spends another's; the two per-person
    # figures (SMS per day, wrong codes per hour from everyone) only stop floods and
    # distributed guessing, and the SMS ceiling never stops a code already sent from working.
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_sends_per_iin: int = 3  # per IIN with phone, from one client address
    otp_sends_per_iin_window_seconds: int = 900
    otp_sends_per_ip: int = 30
    otp_sends_per_ip_window_seconds: int = 3600
    otp_sms_per_subject: int = 10  # SMS per IIN with its phone on record per window
    otp_sms_window_seconds: int = 86_400
    otp_failures_per_source: int = 10  # wrong codes per IIN with phone, from one address
    otp_failures_per_iin: int = 50  # wrong codes per IIN with phone, from every address
    otp_failures_window_seconds: int = 3600
    verifies_per_ip: int = 60
    verifies_per_ip_window_seconds: int = 900
    sms_gateway: Literal["dev", "disabled", "mobizon"] = "dev"
    dev_sms_file: Path = Path(__file__).resolve().parent.parent / ".data" / "dev-sms.jsonl"
    # The operator (``AUTH_SMS_GATEWAY=mobizon``, docs/sms.md): Mobizon's HTTP API at
    # ``sms_api_url`` (sms-local in development and tests), the account's API key, the
    # registered alphanumeric sender (the account's default when unset), how long the
    # operator keeps trying a phone that is off (60-1440 minutes; the operator's default,
    # a day, when unset), and the HTTP client's timeouts and connection pool.
    sms_api_url: str = "https://api.mobizon.kz"
    sms_api_key: SecretStr | None = None
    sms_sender: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,10}$")
    sms_validity_minutes: int | None = Field(default=None, ge=60, le=1440)
    sms_timeout_seconds: float = Field(default=10.0, gt=0)
    sms_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    sms_connections: int = Field(default=20, ge=1)

    # Sessions: a refresh token lives ``refresh_idle_days`` unused; a family (one device's
    # sign-in) at most ``session_max_days`` before the person signs in again.
    refresh_idle_days: int = 30
    session_max_days: int = 90

    # Registry-desk staff: wrong passwords per client address with the name, per client
    # address, and per name from every address (a ceiling against distributed guessing only).
    staff_failures_per_source: int = 10
    staff_failures_per_address: int = 50
    staff_failures_per_name: int = 100
    staff_sign_ins_window_seconds: int = 900
    consent_code_ttl_seconds: int = 600
    consent_window_seconds: int = 900
    consent_failures_per_staff: int = 10
    consent_failures_window_seconds: int = 900
    onboarding_code_ttl_seconds: int = 600
    # Consent for a patient without the app: a code by SMS to the phone on record, read out.
    consent_sms_ttl_seconds: int = 300
    consent_sms_max_attempts: int = 5
    consent_sms_per_staff: int = 20  # SMS a worker may have sent per hour
    consent_sms_per_person: int = 5  # consent SMS one patient may receive per day

    # The desk console in a browser: a session ends after ``desk_idle_seconds`` untouched or
    # ``desk_session_max_seconds`` after sign-in (a shift), whichever comes first.  A password
    # code from an administrator works once, for ``staff_setup_code_ttl_seconds``.
    desk_idle_seconds: int = 900
    desk_session_max_seconds: int = 10 * 3600
    staff_setup_code_ttl_seconds: int = 86_400
    desk_checks_per_person: int = 3  # test pushes to one patient per hour

    # Integrators: token requests per client address with the client id; wrong secrets per
    # client address and per client id from every address (a load ceiling: secrets are 256
    # random bits, so guessing them is hopeless anyway).
    client_token_requests_per_minute: int = 30
    client_secret_failures_per_address: int = 30
    client_secret_failures_per_client: int = 1000
    default_client_requests_per_minute: int = 600
