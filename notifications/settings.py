"""Settings of the ``notifications`` package (prefix ``NOTIFY_``), read once and passed in.

Development and tests send to ``fcm-local`` (``fcm_local_url``); production sets
``NOTIFY_SERVICE_ACCOUNT_FILE`` and the same code sends to Google.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    """Devices, the dispatcher, retries and the FCM gateway."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", env_file=".env", extra="ignore")

    project_id: str = Field(default="mhi-local", description="The Firebase project.")
    service_account_file: Path | None = Field(
        default=None, description="A Google service-account JSON: send to Google's FCM. "
                                  "Unset: send to fcm-local at fcm_local_url.")
    fcm_local_url: str = "http://127.0.0.1:8470"
    http_timeout_seconds: int = 30
    connections: int = Field(default=16, ge=1, description="HTTP connections to FCM per "
                             "worker: one call at a time each, so at least the rate times "
                             "FCM's round trip (500/s at 60 ms: 30).")
    transport: Literal["pooled", "httpx"] = Field(
        default="pooled", description="pooled: HTTP/1.1 keep-alive connections tuned for one "
        "small call per message (notifications.transport); httpx: httpx's own transport "
        "(HTTP/2 to Google), as firebase-admin has it.")

    # Devices: a device not seen for ``stale_after_days`` gets no pushes (its token is most
    # likely dead; the app re-registers at every start); it is deleted after ``prune_after_days``.
    stale_after_days: int = 30
    prune_after_days: int = 270

    # The dispatcher.
    expand_batch: int = 1000
    send_batch: int = Field(
        default=50, ge=1, le=500,
        description="Deliveries per send_each call (FCM allows 500). With the pooled "
                    "transport 50 and 500 cost the same CPU a message (0.13 and 0.16 ms, "
                    "docs/performance.md#pushes); 50 keeps a round's claim short.")
    senders: int = Field(default=2, ge=1, description="Concurrent send loops per worker.")
    idle_poll_seconds: float = 0.5
    digest_window_seconds: int = Field(
        default=60, description="Service-payment pushes wait this long so that a burst on one "
                                "day becomes one digest push.")
    max_attempts: int = 8
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 900.0
    lease_seconds: int = Field(
        default=120, description="A delivery still 'sending' after this long belonged to a "
                                 "worker that died mid-call: its outcome is unknown and it is "
                                 "not sent again (no doubles).")
    broadcast_rate_per_second: int = 200

    # Critical notices by SMS (``notifications.sms``): to a person with no live device at once,
    # else when no push of the event went out within ``sms_after_seconds``.
    sms_fallback: bool = Field(default=True, description="Write an SMS for each critical "
                               "notice (sent when the push does not reach the person).")
    sms_after_seconds: int = Field(
        default=900, ge=0, description="How long a critical push may stay undelivered (and "
                                       "unread in the app) before the SMS goes.")
    sms_batch: int = Field(default=20, ge=1, le=500, description="SMS claimed per round.")
    sms_concurrency: int = Field(default=4, ge=1, description="SMS calls in flight per "
                                 "send loop.")
    sms_max_attempts: int = 5
    sms_report_hours: int = Field(default=48, ge=1, description="How long after sending the "
                                  "operator's delivery report is asked for.")
    sms_report_batch: int = Field(default=200, ge=1, le=1000)
