"""The composition root's safe defaults: API docs only when allowed, and production refuses demo accounts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handoff_api.main import create_app
from handoff_api.settings import Settings
from handoff_api.startup_checks import UnsafeForProduction
from routing.directory_import import seed_demo
from routing.passwords import hash_password
from routing.settings import RoutingSettings
from routing.sql_record import SqlRecord, create_engine_for, migrate
from tests.handoff_api.conftest import ScriptedBot

DOCS = ("/docs", "/redoc", "/openapi.json")


def production_settings(tmp_path: Path, **changes: Any) -> Settings:
    return Settings(
        _env_file=None,
        app_mode="production",
        staff_token_secret="staff-" + "s" * 40,
        client_token_secret="client-" + "c" * 40,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}",
        kb_index_dir=tmp_path / "no-index",
        redis_url=None,
        **changes,
    )


def started(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, bot=ScriptedBot(), routing_settings=RoutingSettings(always_open=True)))


async def _prepare(url: str, keep_demo_password: tuple[str, ...]) -> None:
    """The demo directory, with a real password for everyone except `keep_demo_password`."""
    engine = create_engine_for(url)
    try:
        record = SqlRecord(engine)
        await seed_demo(record)
        strong = hash_password("a-real-password-for-production")
        for member in await record.list_staff():
            if member.id not in keep_demo_password:
                await record.set_password_hash(member.id, strong)
    finally:
        await engine.dispose()


def test_development_serves_the_api_docs(settings: Settings) -> None:
    with started(settings) as client:
        for path in DOCS:
            assert client.get(path).status_code == 200, path


def test_production_serves_no_api_docs_unless_told_and_seeds_nothing(tmp_path: Path) -> None:
    with started(production_settings(tmp_path)) as client:
        for path in DOCS:
            assert client.get(path).status_code == 404, path
        assert client.post("/api/v1/staff/login", json={"staff_id": "admin", "password": "demo1234"}).status_code == 401
        assert asyncio.run(_staff_count(production_settings(tmp_path).database_url)) == 0
    with started(production_settings(tmp_path, api_docs=True)) as client:
        assert client.get("/openapi.json").status_code == 200


async def _staff_count(url: str) -> int:
    engine = create_engine_for(url)
    try:
        return len(await SqlRecord(engine).list_staff())
    finally:
        await engine.dispose()


def test_production_refuses_to_start_while_staff_have_the_demo_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = production_settings(tmp_path)
    migrate(settings.database_url)
    asyncio.run(_prepare(settings.database_url, keep_demo_password=("admin", "svc02")))
    client = started(settings)
    with pytest.raises(
        UnsafeForProduction, match=r"2 staff account\(s\) still have the demo password \(admin, svc02\)"
    ):
        client.__enter__()
    assert "python -m routing set-password" in caplog.text


def test_production_starts_once_no_demo_password_is_left(tmp_path: Path) -> None:
    settings = production_settings(tmp_path)
    migrate(settings.database_url)
    asyncio.run(_prepare(settings.database_url, keep_demo_password=()))
    with started(settings) as client:
        assert client.get("/health/live").status_code == 200
