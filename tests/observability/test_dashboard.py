"""The Grafana dashboard parses, every PromQL expression in it is one Prometheus accepts,
and every metric it names is one the app and the worker export (read from the registry)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.observability.conftest import (
    Metered,
    exported_names,
    free_port,
    prometheus_binary,
    running,
    scrape,
)

DASHBOARD = Path(__file__).resolve().parents[2] / "infra" / "grafana" / "mhi-backend.json"
PROMETHEUS_OWN = {"up"}
"""Series Prometheus writes itself for every target."""
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
             "unless", "bool", "offset", "inf", "nan"}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGES = re.compile(r"\[[^\]]*\]")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, expr) for every query of every panel, rows' nested panels included."""
    stack = list(dashboard["panels"])
    while stack:
        panel = stack.pop()
        stack.extend(panel.get("panels", ()))
        for target in panel.get("targets", ()):
            yield panel["title"], target["expr"]


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are neither functions
    (followed by a parenthesis), nor keywords, nor inside strings, label matchers, grouping
    clauses or ranges."""
    bare = _RANGES.sub(" ", _GROUPING.sub(" ", _MATCHERS.sub(" ", _STRINGS.sub('""', expr))))
    names = set()
    for found in _IDENTIFIER.finditer(bare):
        rest = bare[found.end():].lstrip()
        if rest.startswith("(") or found.group(0).lower() in _KEYWORDS:
            continue
        names.add(found.group(0))
    return names


def test_metric_names_are_found_in_promql() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, operation) (rate('
            'mhi_graphql_request_duration_seconds_bucket{code=~"A|B",x="up"}[5m]))) '
            '/ on (job) group_left max without (pool) (up) or vector(0)')
    assert metric_names(expr) == {"mhi_graphql_request_duration_seconds_bucket", "up"}


def test_the_dashboard_parses_and_every_panel_queries_something() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "mhi-backend"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(panels) >= 20
    for panel in panels:
        assert panel["targets"], f"{panel['title']} queries nothing"
        assert panel["datasource"]["uid"] == "${datasource}"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


async def test_every_metric_on_the_dashboard_is_exported(metered: Metered) -> None:
    """The names come from the registry of a process that runs the app (its lifespan
    started) and an instrumented worker: what /metrics would answer, families not yet
    observed included."""
    exported = exported_names(await scrape()) | PROMETHEUS_OWN
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    missing = {(title, name) for title, expr in expressions(dashboard)
               for name in metric_names(expr) if name not in exported}
    assert missing == set()
    used = {name for _, expr in expressions(dashboard) for name in metric_names(expr)}
    assert {"mhi_graphql_request_duration_seconds_bucket", "mhi_notify_outbox_lag_seconds",
            "mhi_notify_push_deliveries_total", "mhi_db_pool_waiting",
            "mhi_status_refresh_behind_seconds", "mhi_ingest_records_total"} <= used


async def test_prometheus_accepts_every_expression(tmp_path: Path) -> None:
    """Each expression is sent to a real (empty) Prometheus: a syntax error is its 400."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\n", encoding="utf-8")
    argv = [prometheus_binary(), f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    base = f"http://127.0.0.1:{port}"
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    async with (
        running("prometheus", argv, {}, tmp_path / "prometheus.log", f"{base}/-/ready"),
        httpx.AsyncClient(base_url=base, timeout=10.0) as http,
    ):
        for title, expr in expressions(dashboard):
            answer = (await http.get("/api/v1/query", params={"query": expr})).json()
            assert answer["status"] == "success", (title, expr, answer.get("error"))
