"""A failed build replaces nothing; gaps become draft entries that go live only once reviewed."""

from __future__ import annotations

import pytest

from handoff_api.learning import rebuild
from tests.handoff_api.conftest import login
from tests.handoff_api.learning.conftest import Worker
from tests.handoff_api.learning.helpers import approve_all, ask, container, editor, wait_for_version

QUESTION = "买688的票资格怎么拿到"
ENTRY = "bg-kcb-threshold"
GAP = "港股通开户材料"
ANSWER = "开通港股通需证券账户资产不低于50万元，并通过港股通知识测试。"


def broken_learn(*_: object, **__: object) -> None:
    raise RuntimeError("disk full")


def test_a_failed_build_keeps_the_good_index(workers: Worker, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = workers()
    conversation_id, before = ask(worker, QUESTION)
    label = {"conversation_id": conversation_id, "faq_id": ENTRY}
    assert worker.post("/api/v1/staff/learning/labels", json=label, headers=login(worker, "svc01")).status_code == 200
    monkeypatch.setattr(rebuild, "learn", broken_learn)
    assert approve_all(worker)["build"] == 1

    headers = editor(worker)
    versions = worker.get("/api/v1/staff/learning/versions", headers=headers).json()
    while versions["versions"][0]["status"] in {"pending", "building"}:
        versions = worker.get("/api/v1/staff/learning/versions", headers=headers).json()
    assert versions["versions"][0]["status"] == "failed" and "disk full" in versions["versions"][0]["error"]
    assert versions["serving"] is None
    _, after = ask(worker, QUESTION, "C10003")
    assert after["type"] == before["type"]  # the old index still serves
    assert worker.get("/health").json()["checks"]["index"]["ok"] is True


def test_gaps_become_a_reviewed_draft_entry(workers: Worker) -> None:
    worker = workers()
    agent = login(worker, "svc01")
    assert worker.post("/api/v1/staff/presence", json={"presence": "online"}, headers=agent).status_code == 204
    escalated = []
    for client_id in ("C10002", "C10003"):
        conversation_id, reply = ask(worker, GAP, client_id)
        assert reply["type"] == "escalate"
        escalated.append(conversation_id)
    answered = worker.post(f"/api/v1/staff/conversations/{escalated[0]}/reply", json={"text": ANSWER}, headers=agent)
    assert answered.status_code == 200, answered.text  # assigned to the one agent online when it was escalated
    headers = editor(worker)
    gaps = worker.get("/api/v1/staff/learning/gaps", headers=headers).json()
    top = gaps["clusters"][0]
    assert (top["question"], top["size"], top["answers"]) == (GAP, 2, [ANSWER])
    assert top["nearest"]["id"] == "wm-margin-open" and top["draft"]["question"] == GAP

    draft = {
        "id": "bg-hk-connect-open",
        "category": "business_guide",
        "queue": "service",
        "question": GAP,
        "similar": ["港股通怎么开"],
        "answer": ANSWER,
    }
    created = worker.post("/api/v1/staff/learning/drafts", json=draft, headers=headers)
    assert created.status_code == 200, created.text
    assert container(worker).knowledge_base.entry("bg-hk-connect-open") is None  # type: ignore[union-attr]
    bad = {**draft, "id": "x2", "category": "no-such-category"}
    assert worker.post("/api/v1/staff/learning/drafts", json=bad, headers=headers).status_code == 422

    assert approve_all(worker)["build"] == 1
    wait_for_version(worker, 1)
    _, answer = ask(worker, GAP, "C10004")
    assert (answer["type"], answer["faq_id"]) == ("answer", "bg-hk-connect-open")
