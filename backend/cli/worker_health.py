"""``/healthz`` and ``/readyz`` of ``mhi worker --health-port PORT``, for an orchestrator's
probes (infra/k8s, infra/compose.yaml).

The worker serves no other HTTP, so this is a few lines of asyncio rather than an ASGI app.
Both answers come from the worker's own event loop: a loop stuck in a blocking call stops
answering ``/healthz`` and the liveness probe restarts the process.  ``/readyz`` asks the
caller's check (the database answers and is migrated; not stopping).  Off by default:
``make run`` starts the worker beside the API and needs no probes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("mhi.worker")

READ_SECONDS = 5.0
CHECK_SECONDS = 3.0
_REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}

ReadyCheck = Callable[[], Awaitable[bool]]


async def serve_probes(host: str, port: int, ready: ReadyCheck) -> asyncio.Server:
    """Start answering ``GET /healthz`` (200 while the loop runs) and ``GET /readyz`` (200 when
    ``ready()`` says so within ``CHECK_SECONDS``, else 503) on ``host:port``."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), READ_SECONDS)
            status, body = await _route(line, ready)
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass  # a client that said nothing or left: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(answer, host, port)
    log.info("worker probes on http://%s:%d/healthz and /readyz", host, port)
    return server


async def _route(line: bytes, ready: ReadyCheck) -> tuple[int, dict[str, str]]:
    parts = line.decode("latin-1").split()
    path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
    if path == "/healthz":
        return 200, {"status": "ok"}
    if path != "/readyz":
        return 404, {"status": "not found"}
    try:
        ok = await asyncio.wait_for(ready(), CHECK_SECONDS)
    except Exception:  # the database is away or slow: not ready
        ok = False
    return (200, {"status": "ready"}) if ok else (503, {"status": "unavailable"})
