"""The REST transcript pages backwards from the newest message, and forwards after a seen seq."""

from __future__ import annotations

from fastapi.testclient import TestClient

from routing.models import SenderKind
from tests.handoff_api.conftest import open_conversation
from tests.handoff_api.conversations.support import container_of

Auth = dict[str, str]


def stored_messages(client: TestClient, conversation_id: str, count: int) -> None:
    """Append `count` client messages straight to the record (a long conversation, quickly)."""
    assert client.portal is not None
    container = container_of(client)
    for number in range(1, count + 1):
        client.portal.call(
            container.routing.record.append_message,
            conversation_id,
            SenderKind.CLIENT,
            f"第{number}条",
            {},
            None,
            container.clock.now(),
        )


def page(client: TestClient, conversation_id: str, auth: Auth, **query: int) -> tuple[list[int], bool]:
    response = client.get(f"/api/v1/conversations/{conversation_id}/messages", params=query, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    return [m["seq"] for m in body["messages"]], body["has_older"]


def test_a_long_transcript_opens_on_its_newest_messages_and_pages_back_to_the_first(
    client: TestClient, integration: Auth
) -> None:
    conversation = open_conversation(client, auth=integration)
    stored_messages(client, conversation, 7)
    assert page(client, conversation, integration, limit=3) == ([5, 6, 7], True)
    assert page(client, conversation, integration, limit=3, before=5) == ([2, 3, 4], True)
    assert page(client, conversation, integration, limit=3, before=2) == ([1], False)
    assert page(client, conversation, integration) == (list(range(1, 8)), False)


def test_resuming_after_a_seen_seq_reads_forwards_within_the_limit(client: TestClient, integration: Auth) -> None:
    conversation = open_conversation(client, auth=integration)
    stored_messages(client, conversation, 5)
    assert page(client, conversation, integration, after=2) == ([3, 4, 5], False)
    assert page(client, conversation, integration, after=1, limit=2) == ([2, 3], False)
    assert page(client, conversation, integration, after=5) == ([], False)


def test_bad_paging_is_refused_with_a_clear_422(client: TestClient, integration: Auth) -> None:
    conversation = open_conversation(client, auth=integration)
    path = f"/api/v1/conversations/{conversation}/messages"
    for query in ({"after": 1, "before": 3}, {"limit": 0}, {"limit": 501}, {"before": 0}):
        response = client.get(path, params=query, headers=integration)
        assert response.status_code == 422, query
        assert response.json()["error"] and response.json()["detail"], query
