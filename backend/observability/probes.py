"""Gauges computed when Prometheus scrapes: the connection pools, and probes that ask the
database (the outbox lag, the status refresh) or the app (readiness).

**Why at scrape time.**  A gauge refreshed by a loop of its own is as old as the loop's last
turn and costs the database whether anyone looks or not; one computed at scrape time is
fresh, and costs one small query per scrape (every 15 s) per process.  The metrics server
answers in a thread of its own (prometheus-client's), so a probe is run on the process's
event loop (``asyncio.run_coroutine_threadsafe``) and waited for at most
``PROBE_TIMEOUT_SECONDS``; its SQL runs under a ``statement_timeout`` a little shorter.  A probe
that fails or runs out of time leaves its gauges out of that scrape (no stale value is
shown) and says so in ``mhi_probe_success{probe}`` (an alert watches it).  The pools' figures
are plain reads of the pool's counters, no I/O.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from time import perf_counter
from typing import Any, ClassVar

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

log = logging.getLogger(__name__)
PROBE_TIMEOUT_SECONDS = 2.0


class Probe:
    """One scrape-time measurement: ``run`` returns a value for each of its ``families``
    (gauges without labels; a family missing from the answer is left out)."""

    name: ClassVar[str] = "probe"
    families: ClassVar[Mapping[str, str]] = {}
    """Gauge name → its help text."""

    async def run(self) -> dict[str, float]:
        """The values, measured now."""
        raise NotImplementedError


class ProbeCollector(Collector):
    """Runs the attached probes on their event loop at each scrape (see the module)."""

    def __init__(self, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
        self._timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._probes: dict[str, Probe] = {}

    def attach(self, loop: asyncio.AbstractEventLoop, probes: Iterable[Probe]) -> None:
        """Run ``probes`` (replacing any of the same name) on ``loop`` from now on."""
        with self._lock:
            self._loop = loop
            self._probes.update({probe.name: probe for probe in probes})

    def detach(self, *names: str) -> None:
        """Stop running the probes ``names`` (a stopping process)."""
        with self._lock:
            for name in names:
                self._probes.pop(name, None)

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the families depend on what is attached."""
        return []

    def collect(self) -> Iterable[Metric]:
        """The probes' gauges, ``mhi_probe_success`` and ``mhi_probe_duration_seconds``."""
        with self._lock:
            loop, probes = self._loop, list(self._probes.values())
        if loop is None or not probes:
            return []
        results = self._measure(loop, probes)
        success = GaugeMetricFamily("mhi_probe_success", "1 when the scrape-time probe "
                                    "answered in time, else 0 (its gauges are then left out).",
                                    labels=["probe"])
        duration = GaugeMetricFamily("mhi_probe_duration_seconds", "How long the scrape-time "
                                     "probe took.", labels=["probe"])
        found: list[Metric] = [success, duration]
        for probe in probes:
            values, seconds = results.get(probe.name, (None, 0.0))
            success.add_metric([probe.name], 0.0 if values is None else 1.0)
            duration.add_metric([probe.name], seconds)
            for family, text in probe.families.items():
                gauge = GaugeMetricFamily(family, text)
                if values is not None and family in values:
                    gauge.add_metric([], values[family])
                found.append(gauge)
        return found

    def _measure(self, loop: asyncio.AbstractEventLoop, probes: list[Probe]
                 ) -> dict[str, tuple[dict[str, float] | None, float]]:
        try:
            if asyncio.get_running_loop() is loop:
                return {}  # scraped from the loop's own thread: it cannot wait for itself
        except RuntimeError:
            pass
        try:
            future = asyncio.run_coroutine_threadsafe(self._run_all(probes), loop)
        except RuntimeError:  # the loop is closed: the process is stopping
            return {}
        try:
            return future.result(self._timeout + 1.0)
        except Exception:  # the loop is blocked or stopping: nothing this time
            future.cancel()
            log.warning("the scrape-time probes did not answer in time")
            return {}

    async def _run_all(self, probes: list[Probe]
                       ) -> dict[str, tuple[dict[str, float] | None, float]]:
        async def one(probe: Probe) -> tuple[dict[str, float] | None, float]:
            started = perf_counter()
            try:
                values: dict[str, float] | None = await asyncio.wait_for(probe.run(),
                                                                         self._timeout)
            except Exception as error:  # the database is away or slow: say so, go on
                log.warning("the %s probe failed (%s)", probe.name, type(error).__name__)
                values = None
            return values, perf_counter() - started

        answers = await asyncio.gather(*(one(probe) for probe in probes))
        return {probe.name: answer for probe, answer in zip(probes, answers, strict=True)}


class PoolCollector(Collector):
    """The connection pools of the process's engines: in use, idle, the most there can be,
    and the tasks waiting for one (read from the pool, no I/O)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engines: dict[str, Callable[[], Any]] = {}

    def watch(self, name: str, engine: Callable[[], Any]) -> None:
        """Report the pool of the engine that ``engine()`` gives (None: none now) as
        ``pool="name"`` (a later watch of the same name replaces it)."""
        with self._lock:
            self._engines[name] = engine

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the families depend on what is watched."""
        return []

    def collect(self) -> Iterable[Metric]:
        """``mhi_db_pool_connections{state}``, ``_max_connections``, ``_waiting``."""
        with self._lock:
            engines = dict(self._engines)
        if not engines:
            return []
        connections = GaugeMetricFamily(
            "mhi_db_pool_connections", "Connections of the SQLAlchemy pool, by state "
            "(in_use: lent out; idle: open in the pool).", labels=["pool", "state"])
        limit = GaugeMetricFamily("mhi_db_pool_max_connections", "The most connections the "
                                  "pool may open (pool_size + max_overflow).", labels=["pool"])
        waiting = GaugeMetricFamily("mhi_db_pool_waiting", "Tasks waiting for a connection "
                                    "because the pool has lent all it may.", labels=["pool"])
        for name, source in sorted(engines.items()):
            engine = source()
            pool = getattr(engine, "pool", None)
            if pool is None or not hasattr(pool, "checkedout"):
                continue
            connections.add_metric([name, "in_use"], float(pool.checkedout()))
            connections.add_metric([name, "idle"], float(pool.checkedin()))
            limit.add_metric([name], float(pool.size() + max(0, getattr(pool, "_max_overflow",
                                                                         0))))
            waiting.add_metric([name], float(_waiters(pool)))
        return [connections, limit, waiting]


def _waiters(pool: Any) -> int:
    """Tasks blocked in the pool's queue (SQLAlchemy's ``AsyncAdaptedQueue`` wraps an
    ``asyncio.Queue``, made on first use; its getters are the waiting tasks)."""
    queue = getattr(pool, "_pool", None)
    inner = getattr(queue, "__dict__", {}).get("_queue")
    return len(getattr(inner, "_getters", ()))


PROBES = ProbeCollector()
POOLS = PoolCollector()
REGISTRY.register(PROBES)
REGISTRY.register(POOLS)
