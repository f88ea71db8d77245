"""The notification commands: an announcement from the command line, delivery stats, dead
letters and requeueing them."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from backend.cli import main
from backend.db.admin import drop_database
from backend.db.engine import create_engine
from backend.settings import AppSettings
from tests.conftest import throwaway_url

TEXTS = ["--title-kk", "Жаңалық", "--title-ru", "Новость", "--title-en", "News",
         "--body-kk", "Мәтін", "--body-ru", "Текст", "--body-en", "Text"]


async def execute(url: str, sql: str) -> list[tuple[object, ...]]:
    """Run ``sql`` on the throwaway database; its rows."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


def test_announce_stats_dead_and_requeue(
    settings: AppSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = throwaway_url(settings, "cli_notify")
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        assert main(["demo", "--people", "30", "--seed", "2", "--as-of", "2026-11-23",
                     "--quiet"]) == 0
        capsys.readouterr()
        assert main(["announce", *TEXTS, "--region", "KZ-75", "--rate", "50"]) == 0
        said = capsys.readouterr().out
        [(region_people,)] = asyncio.run(execute(
            url, "SELECT count(*) FROM core.person WHERE region_code = 'KZ-75'"
                 " AND death_date IS NULL"))
        assert f"{region_people:,} recipients" in said
        assert "50/s" in said
        [(events,)] = asyncio.run(execute(
            url, "SELECT count(*) FROM notify.outbox WHERE kind = 'announcement.published'"))
        assert events == region_people

        assert main(["announce", *TEXTS[:-1], "  "]) == 2  # English body blank
        assert "all three languages" in capsys.readouterr().out

        asyncio.run(execute(url, (
            "INSERT INTO notify.device (person_id, token, platform, app_version, language,"
            " time_zone) SELECT id, 'cli-phone', 'android', '1.0', 'en', 'Asia/Almaty'"
            " FROM core.person LIMIT 1")))
        asyncio.run(execute(url, (
            "INSERT INTO notify.delivery (event_id, device_id, person_id, kind, category,"
            " state, due_at, attempts, last_error) SELECT 1, d.id, d.person_id,"
            " 'announcement.published', 'announcements', 'dead', now(), 8,"
            " 'UNAVAILABLE after 8 attempts' FROM notify.device d")))
        assert main(["notify", "stats"]) == 0
        stats = capsys.readouterr().out
        assert "dead" in stats and f"{events:,} not yet expanded" in stats
        assert main(["notify", "dead"]) == 0
        assert "UNAVAILABLE after 8 attempts" in capsys.readouterr().out
        assert main(["notify", "requeue"]) == 0
        assert "1 dead deliveries queued again" in capsys.readouterr().out
        assert asyncio.run(execute(url, "SELECT state, attempts FROM notify.delivery")) == [
            ("pending", 0)]
    finally:
        asyncio.run(drop_database(url))
