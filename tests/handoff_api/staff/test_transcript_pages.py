"""The console's view of a long conversation opens on its newest messages and pages back with `before`."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.handoff_api.conftest import login, open_conversation
from tests.handoff_api.conversations.test_transcript import stored_messages


def detail(client: TestClient, conversation_id: str, auth: dict[str, str], **query: int) -> tuple[list[int], bool]:
    response = client.get(f"/api/v1/staff/conversations/{conversation_id}", params=query, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    return [m["seq"] for m in body["transcript"]], body["has_older"]


def test_a_long_conversation_opens_on_its_newest_messages_for_staff(
    client: TestClient, integration: dict[str, str]
) -> None:
    conversation = open_conversation(client, "C10002", auth=integration)
    stored_messages(client, conversation, 250)
    supervisor = login(client, "dm-sh")
    seqs, has_older = detail(client, conversation, supervisor)
    assert (seqs[0], seqs[-1], len(seqs), has_older) == (51, 250, 200, True)
    assert detail(client, conversation, supervisor, before=51, limit=30) == (list(range(21, 51)), True)
    assert detail(client, conversation, supervisor, before=21) == (list(range(1, 21)), False)
    refused = client.get(
        f"/api/v1/staff/conversations/{conversation}", params={"after": 1, "before": 5}, headers=supervisor
    )
    assert (refused.status_code, refused.json()["error"]) == (422, "ValidationFailed")
    too_many = client.get(f"/api/v1/staff/conversations/{conversation}", params={"limit": 501}, headers=supervisor)
    assert too_many.status_code == 422
