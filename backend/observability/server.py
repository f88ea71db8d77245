"""Where Prometheus scrapes: ``/metrics`` on a port of its own, never on the public one.

The API's port is public (behind the load balancer); its metrics are not: they name every
operation's latency and error rate, which help an attacker aim.  So each process serves its
metrics on ``METRICS_PORT`` (unset: none), bound to ``METRICS_HOST`` (``127.0.0.1`` by
default; ``0.0.0.0`` in a pod, where a NetworkPolicy lets only Prometheus reach the port).
``make run`` uses 9464 for the API and 9465 for the worker.

**One port per process.**  ``mhi serve`` runs one uvicorn process; more load means more
processes (pods, or ``mhi serve`` with another ``APP_PORT`` and ``METRICS_PORT``), each
scraped on its own: prometheus-client's multiprocess mode (one registry in files shared by
the workers of ``uvicorn --workers N``) is not used, since it cannot serve the scrape-time
gauges (the pool, the outbox lag) that live in each process's memory and event loop.  Do not
run the API with ``uvicorn --workers``: each worker would try the same metrics port.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.observability import metrics

log = logging.getLogger(__name__)


class MetricsSettings(BaseSettings):
    """``METRICS_PORT`` and ``METRICS_HOST`` (no prefix: every process reads its own)."""

    model_config = SettingsConfigDict(env_prefix="METRICS_", env_file=".env", extra="ignore")

    port: int | None = Field(default=None, ge=1, le=65535,
                             description="Serve /metrics here (unset: no metrics server).")
    host: str = Field(default="127.0.0.1", description="The address the metrics server "
                      "binds (0.0.0.0 in a pod; never the public load balancer's).")
    required: bool = Field(default=True, description="A taken port stops the process (off "
                           "in `make run`, which goes on without metrics then).")


@dataclass
class MetricsServer:
    """A running metrics server (``close`` stops it)."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The port it listens on (useful when 0 asked for a free one)."""
        return int(self.server.server_address[1])

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_metrics(settings: MetricsSettings, *, process: str) -> MetricsServer | None:
    """Serve ``/metrics`` as ``settings`` say (None when no port is set).  ``process``
    (``api``, ``worker``) is logged and exported in ``mhi_build_info``.  When the port is
    taken: raise if ``settings.required`` (a deployment's mistake must stop it), else log
    and go on without metrics (``make run`` beside another checkout's)."""
    metrics.BUILD.info({"version": _version(), "process": process})
    if settings.port is None:
        return None
    try:
        server, thread = start_http_server(settings.port, addr=settings.host)
    except OSError as error:
        if settings.required:
            raise
        log.warning("metrics not served: %s:%d is taken (%s)", settings.host, settings.port,
                    error.strerror)
        return None
    log.info("%s metrics at http://%s:%d/metrics", process, settings.host, settings.port)
    return MetricsServer(server, thread)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mhi")
    except PackageNotFoundError:
        return "unknown"
