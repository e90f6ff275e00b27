from __future__ import annotations

import pickle
import threading
from pathlib import Path

import pytest
from rasa_sdk.executor import ActionExecutor

from bot.actions import deps
from bot.actions.deps import (
    KnowledgeBaseUnavailable,
    LazyRetriever,
    SerializedRetriever,
    resolve,
    retrieve_or_none,
)
from knowledge_base.models import Band
from tests.bot.conftest import FakeRetriever, make_retrieval, provider_of


def test_lazy_retriever_loads_once():
    loads = []
    fake = FakeRetriever(make_retrieval("q", Band.ESCALATE))

    def load():
        loads.append(1)
        return fake

    provider = LazyRetriever(load)

    assert provider() is provider()
    assert len(loads) == 1
    assert provider().retrieve("q").query == "q"
    assert fake.questions == ["q"]


def test_lazy_retriever_retries_after_a_failed_load():
    attempts = []
    fake = FakeRetriever(make_retrieval("q", Band.ESCALATE))

    def load():
        attempts.append(1)
        if len(attempts) == 1:
            raise FileNotFoundError("var/index/meta.json")
        return fake

    provider = LazyRetriever(load)

    with pytest.raises(KnowledgeBaseUnavailable, match=r"meta\.json"):
        provider()
    assert provider().retrieve("q").band is Band.ESCALATE
    assert len(attempts) == 2


def test_serialized_retriever_holds_a_lock_while_retrieving():
    inner_lock_states = []

    class Probe:
        def __init__(self):
            self.outer: SerializedRetriever | None = None

        def retrieve(self, question, k=3):
            assert self.outer is not None
            inner_lock_states.append(self.outer._lock.locked())
            return make_retrieval(question, Band.ESCALATE)

    probe = Probe()
    serialized = SerializedRetriever(probe)
    probe.outer = serialized

    assert serialized.retrieve("q").query == "q"
    assert inner_lock_states == [True]


async def test_retrieve_or_none_runs_off_the_event_loop():
    seen = []

    class ThreadProbe:
        def retrieve(self, question, k=3):
            seen.append(threading.current_thread() is threading.main_thread())
            return make_retrieval(question, Band.ANSWER)

    retrieval = await retrieve_or_none(provider_of(ThreadProbe()), "q")

    assert retrieval is not None
    assert seen == [False]


async def test_retrieve_or_none_swallows_errors():
    assert await retrieve_or_none(provider_of(FakeRetriever(error=ValueError("bad"))), "q") is None


def test_default_retriever_reports_a_missing_index(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "no-index-here"))
    provider = LazyRetriever(deps.load_faq_service)

    with pytest.raises(KnowledgeBaseUnavailable):
        provider()


def test_resolve_prefers_the_injected_provider():
    injected = provider_of(FakeRetriever())
    assert resolve(injected) is injected
    assert resolve(None) is deps.default_retriever


def test_lazy_retriever_pickles_without_its_lock_or_loaded_service():
    provider = LazyRetriever(_load_fake)
    loaded = provider()

    copy = pickle.loads(pickle.dumps(provider))

    assert copy._retriever is None
    assert copy() is not loaded
    assert copy().retrieve("q").band is Band.ESCALATE


def _load_fake():
    return FakeRetriever(make_retrieval("q", Band.ESCALATE))


def test_registered_executor_survives_pickling_for_spawned_workers():
    executor = ActionExecutor()
    executor.register_package("bot.actions")

    copy = pickle.loads(pickle.dumps(executor))

    assert {"action_answer_faq", "action_feedback", "action_request_handoff"} <= set(copy.actions)
