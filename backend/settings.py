"""Settings of the `backend` package (prefix ``APP_``), read once and passed into factories."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr
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
    database_replica_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_REPLICA_URL", "APP_DATABASE_REPLICA_URL"),
        description="A hot standby of DATABASE_URL that serves the citizens' screens "
                    "(docs/scaling.md#reads-from-a-replica); unset: every read on the primary.")
    replica_max_lag_seconds: float = Field(
        default=2.0, gt=0,
        description="A replica further behind the primary than this serves no reads until "
                    "it has caught up.")
    replica_wait_seconds: float = Field(
        default=0.1, ge=0,
        description="How long a citizen's read after their own write waits for the replica "
                    "to replay it before it goes to the primary instead.")
    replica_poll_seconds: float = Field(
        default=0.25, gt=0,
        description="How often the replica's replay position and lag are measured.")
    replica_retry_seconds: float = Field(
        default=5.0, gt=0,
        description="After the replica failed (refused, timed out), reads stay on the primary "
                    "this long before it is tried again.")
    replica_connect_timeout_seconds: float = Field(
        default=1.0, gt=0,
        description="A connection to the replica not made within this counts as a failure.")
    replica_statement_timeout_seconds: float = Field(
        default=5.0, gt=0,
        description="A read on the replica that has not answered by then (a hung standby) "
                    "is read on the primary instead, and the replica set aside.")
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

    graphql_fast_path: bool = Field(
        default=True,
        description="Answer a citizen's persisted query (the app's manifest) by its compiled "
                    "plan (backend/gql/fastpath.py); off: every request takes the generic "
                    "GraphQL path (the answers are the same bytes either way).")
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


class WitnessAddress(BaseModel):
    """A witness the log asks to cosign its checkpoints (C2SP ``tlog-witness``)."""

    url: str = Field(description="Where it listens: ``<url>/add-checkpoint`` is posted to.")
    key: str = Field(description="Its verifier key, ``<name>+<hex key id>+<base64 key>``: "
                                 "its cosignatures are checked before they are published.")


class TlogSettings(BaseSettings):
    """The verifiable log (prefix ``TLOG_``, ``docs/verifiable-log.md``): its name, its keys,
    its witnesses, and how often the worker appends and signs."""

    model_config = SettingsConfigDict(env_prefix="TLOG_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        default="development",
        validation_alias=AliasChoices("TLOG_ENVIRONMENT", "APP_ENVIRONMENT"),
        description="Production needs TLOG_SIGNING_KEY and TLOG_PSEUDONYM_KEY; elsewhere "
                    "they are made once under key_dir.")
    origin: str = Field(
        default="mhi.local/log",
        description="The log's name, the first line of every checkpoint (C2SP "
                    "tlog-checkpoint): a schema-less URL, unique to this log.")
    signing_key: SecretStr | None = Field(
        default=None,
        description="The signed-note private key that signs checkpoints "
                    "(``PRIVATE+KEY+<name>+<hex id>+<base64>``).")
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="At least 32 random bytes (base64): the HMAC key of the people's "
                    "pseudonyms in leaves.  Changing it splits everyone's leaves in two.")
    key_dir: Path = Field(
        default=PROJECT_ROOT / ".data" / "tlog",
        description="Outside production, where the two keys are made once (mode 0600), with "
                    "the log's public verifier key beside them (``log.vkey``).")
    witnesses: list[WitnessAddress] = Field(
        default_factory=list,
        description='JSON: ``[{"url": "http://127.0.0.1:8480", "key": "<verifier key>"}]``. '
                    "A checkpoint is published once one of them cosigned it.")
    append_every_seconds: float = Field(
        default=2.0, gt=0,
        description="How long the worker waits between appends once the queue is drained.")
    append_batch: int = Field(default=20_000, gt=0,
                              description="Records appended per transaction.")
    checkpoint_every_seconds: float = Field(
        default=10.0, gt=0,
        description="The worker signs a checkpoint this often when the tree grew (a receipt "
                    "is in a published checkpoint about this long after it is stored) …")
    checkpoint_leaves: int = Field(
        default=10_000, gt=0,
        description="… and at once when this many leaves arrived since the last one.")


class WitnessSettings(BaseSettings):
    """The witness process (prefix ``WITNESS_``, ``mhi witness serve``): where it keeps its key
    and state, where it listens, and the logs whose checkpoints it cosigns."""

    model_config = SettingsConfigDict(env_prefix="WITNESS_", env_file=".env", extra="ignore")

    dir: Path = Field(
        default=PROJECT_ROOT / ".data" / "witness",
        description="Its own storage (never the app's database): its Ed25519 key, made once "
                    "(mode 0600), and the latest checkpoint it cosigned for each log.")
    name: str = Field(
        default="localhost/mhi-witness",
        description="The name of its key when the key is first made (a schema-less URL); an "
                    "existing key keeps its own name.")
    host: str = "127.0.0.1"
    port: int = 8472
    log_keys: str = Field(
        default="",
        description="The verifier keys of the logs it follows, separated by commas or "
                    "spaces; a key's name is its log's origin.  Unset under `mhi dev`: the "
                    "development log's key (TLOG_KEY_DIR/log.vkey).")

    def log_key_list(self) -> list[str]:
        """``log_keys`` split into keys."""
        return self.log_keys.replace(",", " ").split()


class RetentionSettings(BaseSettings):
    """What the worker prunes, when and how much at a time (prefix ``RETENTION_``,
    ``backend.ops.retention``, ``docs/operations.md#retention``).  Ages are counted from each
    table's own clock (a delivery's end, an event's dispatch, an entry's time)."""

    model_config = SettingsConfigDict(env_prefix="RETENTION_", env_file=".env", extra="ignore")

    enabled: bool = Field(default=True, description="The worker prunes (the CLI always can).")
    every_seconds: float = Field(default=300.0, gt=0,
                                 description="How often the worker runs the jobs.")
    batch_rows: int = Field(default=5_000, ge=1, le=100_000,
                            description="Rows deleted per batch: one short transaction each.")
    max_batches: int = Field(
        default=40, ge=1,
        description="Batches per table per worker run (the run's bound); what is left waits "
                    "for the next run.  `mhi retention run` goes on until done.")
    pause_seconds: float = Field(default=0.02, ge=0,
                                 description="Rest between two batches (room for the rest).")
    delivery_days: int = Field(
        default=30, ge=2,
        description="Sent, refused, cancelled and unknown pushes, after they finished.  At "
                    "least 2: a day's digest reads the day's earlier sent pushes.")
    dead_delivery_days: int = Field(
        default=90, ge=2,
        description="Dead-lettered pushes (`mhi notify requeue` can retry them until then).")
    sms_days: int = Field(
        default=30, ge=3,
        description="Finished critical texts, after they were written (at least 3: the "
                    "operator's delivery reports are asked for 48 h).")
    outbox_days: int = Field(
        default=30, ge=15,
        description="Dispatched events whose pushes and text are all pruned, after dispatch. "
                    "At least 15: the dedupe keys of the warnings (14 days ahead) must outlive "
                    "any rerun.")
    inbox_read_days: int = Field(default=365, ge=1,
                                 description="Inbox items the person has read, by their age.")
    inbox_unread_days: int = Field(default=730, ge=1,
                                   description="Inbox items never read, by their age.")
    auth_keep_days: int = Field(
        default=30, ge=1,
        description="Sign-in and consent codes, consent windows, sessions: this long after "
                    "they ended (support can still answer 'was I signed out?').")
    used_refresh_token_days: int = Field(
        default=7, ge=1,
        description="A used refresh token: replayed later, it is refused as unknown instead "
                    "of ending its session (auth.maintenance's trade-off).")
    throttle_hours: int = Field(
        default=48, ge=1,
        description="A throttle window after it began; never less than the longest window.")
    access_log_days: int = Field(
        default=1_826, ge=365,
        description="Entries of who looked at a person's data (5 years: a choice, see "
                    "docs/operations.md#retention; the citizen's 'who looked' shows this far).")
    dev_sms_hours: int = Field(
        default=24, ge=1,
        description="Messages of the development SMS sink (AUTH_DEV_SMS_FILE) kept.")
