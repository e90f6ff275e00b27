"""Two hundred clients waiting in one queue, each with a widget open: one assignment costs each socket at most
one read of its facts, not one per queue event.

Before facts were read per burst of events and only when an event could change what the client was shown,
each queued socket re-read its facts (about five queries) on every queue event of every conversation: one
assignment moved up to 100 places and caused about 20,000 fact reads for 200 waiting clients.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from fastapi import FastAPI
from starlette.testclient import TestClient

from routing.events import Typing
from routing.models import Client, QueueName
from tests.handoff_api.widget.support import occupy, on_app_loop
from tests.handoff_api.widget.test_connection import open_session, receive_until

WAITING = 200


async def add_clients(app: FastAPI, count: int) -> list[str]:
    record = app.state.container.routing.record
    ids = [f"Q{n:04d}" for n in range(1, count + 1)]
    added = [Client(cid, f"排队客户{n}", "普通", False, "上海浦东营业部", "rsp01") for n, cid in enumerate(ids, 1)]
    await record.replace_clients([*await record.list_clients(), *added])
    return ids


def settle(client: TestClient, app: Any, sessions: list[tuple[Any, str]]) -> None:
    """Wait until every socket has handled what was published so far (its marker event comes back last)."""
    for _, conversation_id in sessions:
        on_app_loop(client, app.state.event_bus.publish, Typing(conversation_id, "agent", "marker"))
    for session, _ in sessions:
        while True:
            envelope = session.receive_json()
            if envelope["type"] == "typing" and envelope["name"] == "marker":
                break


def test_an_assignment_costs_each_waiting_socket_one_facts_read_at_most(
    client: TestClient, token_for, app: FastAPI
) -> None:
    ids = on_app_loop(client, add_clients, app, WAITING)
    on_app_loop(client, occupy, app.state.container, "svc02")  # online and full: 转人工 waits in the queue
    routing = app.state.container.routing
    facts_reads = 0
    read_facts = routing.client_facts

    async def counted_facts(conversation_id: str) -> Any:
        nonlocal facts_reads
        facts_reads += 1
        return await read_facts(conversation_id)

    routing.client_facts = counted_facts  # the sockets bind it when they open
    with ExitStack() as stack:
        sessions: list[tuple[Any, str]] = []
        for client_id in ids:
            session, hello, *_ = stack.enter_context(open_session(client, token_for(client_id)))
            session.send_json({"type": "ask_human"})
            receive_until(session, "queue_position")
            sessions.append((session, hello["conversation_id"]))
        settle(client, app, sessions)
        assert len(on_app_loop(client, routing.queues.entries, QueueName.SERVICE, 2 * WAITING)) == WAITING

        facts_reads = 0
        app.state.record.reset()
        claimed = on_app_loop(client, routing.claim, "svc01")
        settle(client, app, sessions)
        record_reads = app.state.record.reads
        print(f"\none assignment, {WAITING} queued sockets: {facts_reads} facts reads, {record_reads} record reads")
        assert claimed.id == sessions[0][1]
        assert facts_reads <= WAITING
        assert app.state.record.reads <= 3 * WAITING
