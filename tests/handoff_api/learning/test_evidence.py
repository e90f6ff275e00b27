"""Evidence from a client's turns: offers with scores and band, a suggestion click, a confirmation."""

from __future__ import annotations

import time

from sqlalchemy import select

from handoff_api.container import Container
from handoff_api.learning.store import SqlLearningStore
from handoff_api.learning.wiring import LearningLoop
from routing.sql_tables import audit_log
from tests.handoff_api.conftest import bearer, create_key, open_conversation, say
from tests.handoff_api.learning.conftest import Worker
from tests.handoff_api.learning.helpers import container, drain, editor

QUESTION = "买688的票资格怎么拿到"
ENTRY = "bg-kcb-threshold"
ENTRY_QUESTION = "科创板交易权限开通需要满足什么条件？"


def test_a_clicked_and_confirmed_suggestion_queues_the_clients_own_words(workers: Worker) -> None:
    worker = workers()
    auth = bearer(create_key(worker, name=f"key-{time.monotonic_ns()}"))
    conversation_id = open_conversation(worker, "C10002", auth=auth)
    first = say(worker, conversation_id, QUESTION, auth=auth)["replies"][0]["payload"]
    assert first["type"] == "suggestions"
    assert ENTRY in [item["faq_id"] for item in first["suggestions"]]
    answer = say(worker, conversation_id, ENTRY_QUESTION, auth=auth)["replies"][0]["payload"]
    assert (answer["type"], answer["faq_id"]) == ("answer", ENTRY)
    feedback = worker.post(f"/api/v1/conversations/{conversation_id}/feedback", json={"resolved": True}, headers=auth)
    assert feedback.status_code == 200, feedback.text
    drain(worker)

    queue = worker.get("/api/v1/staff/learning/review", headers=editor(worker)).json()
    assert [(item["text"], item["faq_id"], item["source"]) for item in queue] == [(QUESTION, ENTRY, "client_confirmed")]
    figures = {
        row["faq_id"]: row for row in worker.get("/api/v1/staff/learning/figures", headers=editor(worker)).json()
    }
    assert figures[ENTRY]["confirmed"] == 1 and figures[ENTRY]["shown"] == 1
    learning = container(worker).learning
    assert learning is not None and worker.portal is not None
    offer = worker.portal.call(learning.store.latest_offer, conversation_id)
    assert offer is not None and offer.origin_question == QUESTION and offer.band == "answer"
    assert offer.top is not None and offer.top.score is not None


def test_personal_data_is_masked_in_review_and_in_what_is_learned(workers: Worker) -> None:
    worker = workers()
    auth = bearer(create_key(worker, name=f"key-{time.monotonic_ns()}"))
    conversation_id = open_conversation(worker, "C10002", auth=auth)
    say(worker, conversation_id, "科创板交易权限开通需要满足什么条件？我手机13812345678", auth=auth)
    worker.post(f"/api/v1/conversations/{conversation_id}/feedback", json={"resolved": True}, headers=auth)
    drain(worker)
    queue = worker.get("/api/v1/staff/learning/review", headers=editor(worker)).json()
    assert queue and all("13812345678" not in item["text"] for item in queue)
    decisions = [{"id": item["id"], "action": "reject"} for item in queue]
    reviewed = worker.post("/api/v1/staff/learning/review", json={"decisions": decisions}, headers=editor(worker))
    assert reviewed.status_code == 200 and reviewed.json()["build"] is None
    assert reviewed.json()["items"][0]["status"] == "rejected"
    assert worker.portal is not None
    audited = worker.portal.call(review_entries, container(worker))
    assert [(actor, subject) for actor, subject, _ in audited] == [("dm-sh", f"kb_candidate:{queue[0]['id']}")]
    assert audited[0][2]["decision"] == "reject"


async def review_entries(found: Container) -> list[tuple[str, str, dict[str, object]]]:
    """The kb.review entries of the audit log."""
    learning = found.learning
    assert isinstance(learning, LearningLoop) and isinstance(learning.store, SqlLearningStore)
    async with learning.store.engine.connect() as conn:
        rows = (await conn.execute(select(audit_log).where(audit_log.c.action == "kb.review"))).all()
    return [(row.actor, row.subject, dict(row.detail)) for row in rows]
