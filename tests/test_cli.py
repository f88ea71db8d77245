"""The command line: tokens for demo people, and loading the demo country only once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.cli import main
from backend.db.admin import drop_database
from backend.db.engine import create_engine
from backend.demo.cast import CAST
from backend.settings import AppSettings
from tests.conftest import throwaway_url


def test_token_for_a_demo_person_verifies(
    settings: AppSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    url = throwaway_url(settings, "cli")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("AUTH_SECRET_KEY_FILE", str(tmp_path / "secret.key"))
    try:
        assert main(["token", "--demo", "2"]) == 0
        token = capsys.readouterr().out.strip()

        async def verify() -> str:
            engine = create_engine(url, pool_size=1, max_overflow=0)
            try:
                auth = await AuthService.open(
                    engine, AuthSettings(secret_key_file=tmp_path / "secret.key"))
                return auth.verifier().verify(token, Audience.MOBILE).subject
            finally:
                await engine.dispose()

        assert uuid.UUID(asyncio.run(verify())) == CAST[1].id
    finally:
        asyncio.run(drop_database(url))


def test_demo_loads_once(
    settings: AppSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = throwaway_url(settings, "cli")
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        args = ["demo", "--people", "40", "--seed", "5", "--as-of", "2026-11-23", "--quiet"]
        assert main(args) == 0
        assert "loaded 40 people" in capsys.readouterr().out
        assert main([*args, "--if-empty"]) == 0
        assert "already loaded (40 people)" in capsys.readouterr().out
        assert main(args) == 1
        assert "--replace" in capsys.readouterr().err
    finally:
        asyncio.run(drop_database(url))


def test_a_stale_demo_is_loaded_again_for_today(
    settings: AppSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = throwaway_url(settings, "cli")
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        old = ["demo", "--people", "30", "--seed", "5", "--as-of", "2026-03-15", "--quiet"]
        assert main(old) == 0
        capsys.readouterr()
        fresh = ["demo", "--people", "30", "--quiet", "--if-empty", "--refresh-after-days", "20"]
        assert main(fresh) == 0
        out = capsys.readouterr().out
        assert "generated around 2026-03" in out and "loaded 30 people" in out
        assert main(fresh) == 0
        assert "reusing it" in capsys.readouterr().out
    finally:
        asyncio.run(drop_database(url))
