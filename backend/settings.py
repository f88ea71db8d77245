"""Settings of the `backend` package (prefix ``APP_``), read once and passed into factories."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class AppSettings(BaseSettings):
    """Everything the API, the CLI and the worker need to start, from the environment."""

    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "APP_DATABASE_URL"),
        description="PostgreSQL URL; unset means the embedded server under data_dir.",
    )
    data_dir: Path = PROJECT_ROOT / ".data"
    embedded_pg_port: int = 54329
    db_pool_size: int = 20
    db_max_overflow: int = 0
    db_pool_pre_ping: bool = Field(
        default=False,
        description="Ping each pooled connection before use (a round trip per session; "
                    "off by default: a dropped connection fails one request, then the pool "
                    "is discarded and rebuilt).",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    download_url: str = Field(
        default="https://msqory.kz",
        description="Where the desk's printed handouts send a phone to get the app (their QR "
                    "code): the Fund's page with the official store links.")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For is believed (comma-separated, or *): behind "
                    "a load balancer set its addresses, or every client shares its address and "
                    "the per-address sign-in throttles become one budget for everyone.",
    )
    graphiql: bool | None = None
    ingest_max_body_bytes: int = Field(
        default=1024 ** 3, gt=0,
        description="A file to /ingest/* larger than this is refused (413) once this much "
                    "has arrived; nothing of it is stored.")
    ingest_issues_per_code: int = Field(
        default=100, ge=0,
        description="An ingestion answer lists at most this many records of each refusal "
                    "code and each flag; all are counted.")

    dispute_daily_limit: int = Field(
        default=5, ge=1,
        description="Reports about services (\"I did not receive this\") one citizen may "
                    "send a day, for themself and their children together.")

    @property
    def graphiql_enabled(self) -> bool:
        """GraphiQL is on in development unless switched off, off elsewhere unless switched on."""
        if self.graphiql is not None:
            return self.graphiql
        return self.environment == "development"
