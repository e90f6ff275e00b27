"""The loop end to end on two API workers sharing one database: a staff label waits in review, approving it
builds a new index version in the background, and both workers answer the question without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.handoff_api.conftest import login
from tests.handoff_api.learning.conftest import Worker
from tests.handoff_api.learning.helpers import approve_all, ask, container, editor, wait_for_version
from tests.net import temporary_postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Both workers share one SQLite file, or one PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}"
        return
    with temporary_postgres_database("tre_learning") as url:
        yield url


QUESTION = "买688的票资格怎么拿到"
PARAPHRASE = "买688的票资格如何拿到"
ENTRY = "bg-kcb-threshold"


def test_a_labelled_question_is_answered_by_both_workers_after_review(workers: Worker) -> None:
    first, second = workers(), workers()
    conversation_id, reply = ask(first, QUESTION)
    assert reply["type"] != "answer" or reply.get("faq_id") != ENTRY

    agent = login(first, "svc01")
    label = {"conversation_id": conversation_id, "faq_id": ENTRY, "source": "agent_assist"}
    assert first.post("/api/v1/staff/learning/labels", json=label, headers=agent).status_code == 200

    queue = second.get("/api/v1/staff/learning/review", headers=editor(second)).json()
    assert [(item["text"], item["faq_id"], item["source"]) for item in queue] == [(QUESTION, ENTRY, "agent_assist")]

    assert approve_all(second)["build"] == 1
    wait_for_version(first, 1)
    wait_for_version(second, 1)

    for worker, client_id in ((first, "C10003"), (second, "C10004")):
        for text in (QUESTION, PARAPHRASE):
            _, answer = ask(worker, text, client_id)
            assert (answer["type"], answer["faq_id"]) == ("answer", ENTRY), (text, answer)
        assert worker.get("/health").json()["checks"]["index"]["version"] == 1
    versions = first.get("/api/v1/staff/learning/versions", headers=editor(first)).json()
    assert versions["serving"] == 1 and versions["versions"][0]["status"] == "ready"
    assert container(first).knowledge_base is not container(second).knowledge_base


def test_labels_need_a_known_entry_and_review_needs_an_editor(workers: Worker) -> None:
    worker = workers()
    conversation_id, _ = ask(worker, QUESTION)
    agent = login(worker, "svc01")
    unknown = {"conversation_id": conversation_id, "faq_id": "no-such-entry"}
    assert worker.post("/api/v1/staff/learning/labels", json=unknown, headers=agent).status_code == 422
    assert worker.get("/api/v1/staff/learning/review", headers=agent).status_code == 403
    bad = {"decisions": [{"id": 999, "action": "approve"}]}
    assert worker.post("/api/v1/staff/learning/review", json=bad, headers=editor(worker)).status_code == 422
    label = {"conversation_id": conversation_id, "faq_id": ENTRY}
    candidate = worker.post("/api/v1/staff/learning/labels", json=label, headers=agent).json()["candidate"]
    twice = {"decisions": [{"id": candidate, "action": "approve"}, {"id": candidate, "action": "reject"}]}
    response = worker.post("/api/v1/staff/learning/review", json=twice, headers=editor(worker))
    assert response.status_code == 422 and "once" in response.json()["detail"]
    moved = {"decisions": [{"id": candidate, "action": "move", "faq_id": "no-such-entry"}]}
    assert worker.post("/api/v1/staff/learning/review", json=moved, headers=editor(worker)).status_code == 422
    pending = worker.get("/api/v1/staff/learning/review", headers=editor(worker)).json()
    assert [item["status"] for item in pending] == ["pending"]  # nothing of a refused batch is stored
