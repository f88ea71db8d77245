"""JSON log lines: their fields, redaction in every field, the format setting, the processes
that write them, and a worker's rounds named in them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from backend.db.engine import create_engine
from backend.logs import RequestContext, request_id
from backend.observability.logs import JsonLogFormatter, LogSettings, configure_logging
from backend.observability.traces import TraceSettings, start_tracing
from backend.observability.traces_worker import name_jobs
from notifications.gateway import Gateway, close_app, open_app
from notifications.settings import NotifySettings
from notifications.worker import Dispatcher
from tests.api.test_log_paths import VARIANTS, survivors
from tests.log_audit import findings
from tests.observability.conftest import MHI, ROOT, free_port

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
FCM = "dGhpc2lzYW5pbnN0YW5jZQ:APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8OvPVGJ"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What a handler with the JSON formatter (as ``mhi`` installs it) writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(RequestContext())
    logger = logging.getLogger("mhi.json-test")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def entries(stream: io.StringIO) -> list[dict[str, object]]:
    """Each line parsed (every line must be one JSON object)."""
    parsed = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert all(isinstance(entry, dict) for entry in parsed)
    return parsed


class TestTheLine:
    def test_the_fields_in_order(self, lines: io.StringIO) -> None:
        logging.getLogger("mhi.json-test").info("%d pushes sent", 3,
                                                extra={"batch": 7, "kinds": ["sent"]})
        [entry] = entries(lines)
        assert list(entry)[:4] == ["time", "level", "logger", "message"]
        assert entry["level"] == "INFO" and entry["logger"] == "mhi.json-test"
        assert entry["message"] == "3 pushes sent"
        assert entry["batch"] == 7 and entry["kinds"] == ["sent"], "extras are fields"
        assert "request_id" not in entry and "trace_id" not in entry, "outside a request"
        stamp = str(entry["time"])
        assert RFC3339_UTC.fullmatch(stamp), stamp
        assert abs(datetime.fromisoformat(stamp) - datetime.now(UTC)).total_seconds() < 60

    def test_the_request_id_inside_a_request(self, lines: io.StringIO) -> None:
        token = request_id.set("abcdef0123456789")
        try:
            logging.getLogger("mhi.json-test").warning("inside")
        finally:
            request_id.reset(token)
        [entry] = entries(lines)
        assert entry["request_id"] == "abcdef0123456789"

    def test_an_exception_is_a_field(self, lines: io.StringIO) -> None:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("mhi.json-test").exception("failed")
        [entry] = entries(lines)
        assert "ValueError: boom" in str(entry["exception"])

    def test_a_span_names_its_trace(self, lines: io.StringIO) -> None:
        tracing = start_tracing("mhi-api", TraceSettings(_env_file=None), batch=False,
                                exporter=InMemorySpanExporter())
        assert tracing is not None
        try:
            with tracing.tracer("test").start_as_current_span("notify.x") as span:
                logging.getLogger("mhi.json-test").warning("inside a span")
        finally:
            tracing.shutdown()
        [entry] = entries(lines)
        assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
        assert entry["span_id"] == format(span.get_span_context().span_id, "016x")


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_field_is_redacted(lines: io.StringIO, variant: str) -> None:
    """A variant in the message, an argument, an extra string, a nested extra, a key, an
    exception's text: none survives, whatever JSON escapes (a no-break space)."""
    logger = logging.getLogger("mhi.json-test")
    digits = int("".join(filter(str.isdigit, variant)))
    try:
        raise RuntimeError(f"Key (iin)=({variant}) already exists")
    except RuntimeError:
        logger.exception("storing %s failed", variant, extra={
            "phone": variant, "number": digits, "nested": {"values": [variant], variant: 1},
            "device": FCM})
    [entry] = entries(lines)
    dumped = json.dumps(entry, ensure_ascii=False)
    assert survivors(dumped) == []
    assert FCM not in dumped
    assert findings(entry) == []


class TestTheSetting:
    @pytest.mark.parametrize(("environment", "format_", "json_lines"), [
        ("development", None, False), ("test", None, True), ("production", None, True),
        ("development", "json", True), ("production", "text", False)])
    def test_the_default_follows_the_environment(self, environment: str, format_: str | None,
                                                  json_lines: bool) -> None:
        settings = LogSettings(_env_file=None, APP_ENVIRONMENT=environment, format=format_)
        assert settings.json_lines is json_lines

    def test_configure_logging_formats_every_root_handler(self) -> None:
        root = logging.getLogger()
        saved, level = list(root.handlers), root.level
        stream = io.StringIO()
        root.handlers = [logging.StreamHandler(stream)]
        try:
            configure_logging(logging.INFO, LogSettings(_env_file=None, format="json"))
            logging.getLogger("mhi.json-test").info("one line for %s", "+77011234567")
        finally:
            root.handlers = saved
            root.setLevel(level)
        [entry] = entries(stream)
        assert entry["message"] == "one line for [phone]"


def _process_lines(env: dict[str, str], port: int) -> list[str]:
    """What ``mhi fcm-local`` writes to stderr from start to a Ctrl-C."""
    process = subprocess.Popen(  # noqa: S603 (our own command)
        [str(MHI), "fcm-local"], cwd=ROOT, stderr=subprocess.PIPE, text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith(("APP_", "LOG_"))},
             "FCM_LOCAL_PORT": str(port), **env})
    assert process.stderr is not None
    first = process.stderr.readline()
    for _ in range(300):  # serving: uvicorn's own Ctrl-C handling is in place
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    return [first, *rest.splitlines()]


class TestTheProcesses:
    def test_mhi_writes_json_lines_outside_development(self) -> None:
        written = _process_lines({"APP_ENVIRONMENT": "production"}, free_port())
        parsed = [json.loads(line) for line in written if line.strip()]
        assert str(parsed[0]["message"]).startswith("fcm-local on http://")
        assert any(str(entry["message"]).startswith("fcm-local stopped") for entry in parsed)

    def test_text_when_asked(self) -> None:
        written = _process_lines({"APP_ENVIRONMENT": "production", "LOG_FORMAT": "text"},
                                 free_port())
        assert " INFO notifications.fcm_local [-]: fcm-local on http://" in written[0]


async def test_each_worker_round_logs_under_an_id_of_its_own() -> None:
    """The dispatcher's loop logs a failed round (the database is away) after the round
    raised: the line carries that round's id, and each round gets a new one."""
    engine = create_engine("postgresql+asyncpg://mhi@127.0.0.1:9/nowhere", pool_size=1,
                           max_overflow=0)
    notify = NotifySettings(fcm_local_url="http://127.0.0.1:9")
    firebase = open_app(notify)
    dispatcher = Dispatcher(engine, Gateway(firebase), notify)
    name_jobs(dispatcher)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(RequestContext())
    logger = logging.getLogger("mhi.notify")
    logger.addHandler(handler)
    stop = asyncio.Event()
    seen: list[str] = []

    async def round_ids() -> None:
        for _ in range(2):
            with pytest.raises(OSError):
                await dispatcher.expand_once()
            seen.append(request_id.get())

    try:
        await asyncio.create_task(round_ids())
        loop = asyncio.create_task(dispatcher._loop(stop, dispatcher._expand_round))
        for _ in range(200):
            if "a dispatcher round failed" in stream.getvalue():
                break
            await asyncio.sleep(0.05)
        stop.set()
        await loop
    finally:
        logger.removeHandler(handler)
        await close_app(firebase)
        await engine.dispose()
    assert len(set(seen)) == 2 and all(re.fullmatch(r"[0-9a-f]{32}", s) for s in seen)
    [failed] = [json.loads(line) for line in stream.getvalue().splitlines()
                if "a dispatcher round failed" in line]
    assert re.fullmatch(r"[0-9a-f]{32}", str(failed["request_id"]))
    assert failed["request_id"] not in seen
    assert "exception" in failed
    assert request_id.get() == "-", "a round's id stays in its own task"
