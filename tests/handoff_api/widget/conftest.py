"""Fixtures: a seeded SQLite template per session, a fresh copy and app per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from handoff_api.client_tokens import issue_client_token
from tests.handoff_api.widget.support import FakeBot, app_settings, build_app, copy_database, make_seeded_database


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_seeded_database(tmp_path_factory.mktemp("widget-template") / "template.db")


@pytest.fixture
def database(seeded_template: Path, tmp_path: Path) -> Path:
    return copy_database(seeded_template, tmp_path / "engine.db")


@pytest.fixture
def fake_bot() -> FakeBot:
    return FakeBot()


@pytest.fixture
def app(database: Path, fake_bot: FakeBot) -> FastAPI:
    return build_app(database, app_settings(), fake_bot)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def token_for(app: FastAPI):
    settings = app_settings()

    def make(client_id: str) -> str:
        return issue_client_token(settings, client_id, datetime.now(UTC))

    return make
