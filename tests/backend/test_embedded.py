"""The embedded PostgreSQL starts once and is reused (the default when DATABASE_URL is unset)."""

from __future__ import annotations

import os

import asyncpg
import pytest

from backend.db.embedded import ensure_running
from backend.settings import AppSettings

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="DATABASE_URL points at another server"
)


async def test_second_start_reuses_the_running_server(settings: AppSettings) -> None:
    first = ensure_running(settings.data_dir, settings.embedded_pg_port)
    second = ensure_running(settings.data_dir, settings.embedded_pg_port)
    assert first == second
    conn = await asyncpg.connect(first.url().replace("+asyncpg", ""))
    try:
        version = await conn.fetchval("SHOW server_version_num")
        assert int(version) >= 150000
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
    finally:
        await conn.close()
