"""A small index built with the fast character encoder, and API workers that serve it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from handoff_api.local_tier1 import LocalTier1
from handoff_api.main import create_app
from handoff_api.settings import Settings
from knowledge_base.builder import BuildOptions, build
from knowledge_base.index import read_index
from knowledge_base.service import FaqService
from routing.settings import RoutingSettings
from tests.knowledge_base.conftest import SAMPLE_YAML, CharEncoder

OFF_TOPIC = "今天天气怎么样\n给我讲个笑话\n附近有什么好吃的\n周末去哪玩\n推荐一部电影\n"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    directory = tmp_path / "faq"
    directory.mkdir()
    (directory / "sample.yml").write_text(SAMPLE_YAML, encoding="utf-8")
    return directory


@pytest.fixture
def index_dir(tmp_path: Path, corpus: Path) -> Path:
    off_topic = tmp_path / "off_topic.txt"
    off_topic.write_text(OFF_TOPIC, encoding="utf-8")
    out = tmp_path / "index"
    options = BuildOptions(encoder="test-chars", off_topic_file=off_topic)
    build([corpus], out, options, encoder=CharEncoder(), log=lambda _: None)
    return out


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The workers' shared database (a module may parametrise it over PostgreSQL too)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}"


@pytest.fixture
def learning_settings(tmp_path: Path, corpus: Path, index_dir: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        kb_index_dir=index_dir,
        kb_faq_paths=str(corpus),
        learning_index_root=tmp_path / "live",
        learning_watch_seconds=0.05,
        redis_url=None,
        tick_seconds=0.2,
    )


Worker = Callable[[], TestClient]


@pytest.fixture
def workers(learning_settings: Settings, index_dir: Path) -> Iterator[Worker]:
    """Start API workers on one database, each with its own copy of the index (as separate processes have)."""
    with ExitStack() as stack:

        def start() -> TestClient:
            kb = FaqService(read_index(index_dir), CharEncoder())
            app = create_app(
                learning_settings,
                bot=LocalTier1(kb.retrieve),
                routing_settings=RoutingSettings(always_open=True),
                knowledge_base=kb,
            )
            return stack.enter_context(TestClient(app))

        yield start
