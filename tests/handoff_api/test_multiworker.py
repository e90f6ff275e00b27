"""Two API worker processes behind one port, sharing Redis and PostgreSQL: every live event reaches the
right browser whichever worker holds its WebSocket and whichever worker handled the action, and 200
simultaneous opens for one client through both workers give that client one conversation.

The real app runs as `uvicorn handoff_api.main:create_app --factory --workers 2` against a fake Rasa REST
server (a thread here). Widget sockets spread over both workers (the dev-only `worker` field of the session
envelope says which); each client asks for a person over its socket, staff take the conversations (auto-
assignment for the online agent, REST claims for a colleague) and reply over REST with a new connection
per request, so the kernel spreads those over the workers too.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from handoff_api.client_tokens import issue_client_token
from handoff_api.settings import Settings
from tests.handoff_api.multiworker_harness import (
    ASK_FOR_A_PERSON,
    PASSWORD,
    REDIS_URL,
    api_workers,
    fake_rasa,
    fresh_postgres,
    redis_prefix,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(240)]

CLIENTS = ["C10001", "C10002", "C10003", "C10004", "C10005", "C10006", "C10007", "C10008", "C10009", "C10010"]
ONLINE_AGENT = "svc01"  # 8 slots: takes 8 of the 10 conversations by auto-assignment
COLLEAGUE = "svc02"  # away (present, takes nothing by itself): claims the rest over REST
SUPERVISOR = "dm-sh"
WAIT_SECONDS = 30.0


# ---------------------------------------------------------------- sockets


class Peer:
    """One WebSocket that records every envelope it receives."""

    def __init__(self, ws: ClientConnection, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.hello = hello
        self.inbox: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    @property
    def worker(self) -> int:
        return int(self.hello["worker"])

    async def _read(self) -> None:
        async for raw in self.ws:
            self.inbox.append(json.loads(raw))

    async def send(self, envelope: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(envelope, ensure_ascii=False))

    async def wait_for(self, wanted: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            for envelope in self.inbox:
                if wanted(envelope):
                    return envelope
            if self._reader.done():
                break
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {what}; got {[e.get('type') for e in self.inbox]}")

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


async def open_peer(stack: AsyncExitStack, url: str) -> Peer:
    """Connect, read the first envelope, record the rest; closed when `stack` unwinds."""
    ws = await stack.enter_async_context(connect(url, open_timeout=15))
    hello = json.loads(await asyncio.wait_for(ws.recv(), 15))
    peer = Peer(ws, hello)
    stack.push_async_callback(peer.close)
    return peer


async def open_widget(stack: AsyncExitStack, base: str, token: str, conversation_id: str | None = None) -> Peer:
    url = ws_url(base, f"/ws/widget?token={token}") + (f"&conversation_id={conversation_id}" if conversation_id else "")
    peer = await open_peer(stack, url)
    assert peer.hello["type"] == "session", peer.hello
    await peer.send({"type": "resume", "last_seq": 0})
    await peer.wait_for(lambda e: e["type"] == "resumed", "resumed")
    return peer


async def open_console(stack: AsyncExitStack, base: str, token: str) -> Peer:
    peer = await open_peer(stack, ws_url(base, f"/ws/console?token={token}"))
    assert peer.hello["type"] == "hello", peer.hello
    return peer


def fresh_connections() -> httpx.AsyncClient:
    """No keep-alive: every request is a new connection, which either worker may accept."""
    return httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0), timeout=30)


async def login(http: httpx.AsyncClient, base: str, staff_id: str) -> str:
    response = await http.post(f"{base}/api/v1/staff/login", json={"staff_id": staff_id, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def events(console: Peer, kind: str) -> set[str]:
    """Conversation ids of the `kind` events a console received."""
    return {
        str(e["event"]["conversation_id"])
        for e in console.inbox
        if e["type"] == "event" and e["event"].get("type") == kind
    }


async def spread_over_workers(
    stack: AsyncExitStack, base: str, widgets: dict[str, Peer], tokens: dict[str, str]
) -> None:
    """Reconnect clients (same conversation) until the sockets sit on at least two workers."""
    for attempt in range(60):
        if len({peer.worker for peer in widgets.values()}) >= 2:
            return
        client_id = CLIENTS[attempt % len(CLIENTS)]
        old = widgets[client_id]
        await old.close()
        widgets[client_id] = await open_widget(stack, base, tokens[client_id], old.hello["conversation_id"])
    raise AssertionError("every connection landed on one worker")


# ---------------------------------------------------------------- the tests


@dataclass(frozen=True)
class Workers:
    """Two running API workers, a key for integrations, a client token per demo client, and their log."""

    base: str
    key: str
    tokens: dict[str, str]
    log_path: Path


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    tmp_path = tmp_path_factory.mktemp("workers")
    secret = secrets.token_urlsafe(32)
    with fake_rasa() as rasa_url, fresh_postgres() as (database_url, key), redis_prefix() as prefix:
        env = {
            "APP_MODE": "development",
            "SECRET_KEY": secret,
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "ROUTING_REDIS_KEY_PREFIX": prefix,
            "ROUTING_ALWAYS_OPEN": "true",
            "ROUTING_PRESENCE_TTL_SECONDS": "3600",
            "ROUTING_TIER2_WAIT_LIMIT_SECONDS": "3600",
            "RASA_URL": rasa_url,
            "KB_INDEX_DIR": str(tmp_path / "no-index"),
            "TICK_SECONDS": "1",
            "RATE_LIMIT_CLIENT": "1000/minute",  # the parallel opens below are one client's
        }
        log_path = tmp_path / "api.log"
        settings = Settings(_env_file=None, secret_key=secret)
        tokens = {
            client: issue_client_token(settings, client, datetime.now(UTC), lifetime=timedelta(minutes=10))
            for client in CLIENTS
        }
        with api_workers(env, log_path) as base:
            yield Workers(base, key, tokens, log_path)


def test_every_event_reaches_the_right_socket_on_either_worker(workers: Workers) -> None:
    asyncio.run(drive_the_scenario(workers.base, workers.tokens))
    log_text = workers.log_path.read_text(errors="replace")
    assert "/ws/widget?token=***" in log_text and "/ws/console?token=***" in log_text
    leaked = [c for c, token in workers.tokens.items() if token in log_text or token.split(".")[2] in log_text]
    assert leaked == [], "client tokens appear in the server log"
    assert workers.key not in log_text


def test_200_parallel_opens_through_both_workers_give_one_conversation(workers: Workers) -> None:
    async def open_all() -> list[httpx.Response]:
        async with fresh_connections() as http:
            return await asyncio.gather(
                *(
                    http.post(
                        f"{workers.base}/api/v1/conversations",
                        json={"client_id": "C20001"},
                        headers=bearer(workers.key),
                    )
                    for _ in range(200)
                )
            )

    answers = asyncio.run(open_all())
    assert sorted({answer.status_code for answer in answers}) == [200, 201], {a.status_code for a in answers}
    assert [answer.status_code for answer in answers].count(201) == 1
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert {answer.json()["channel"] for answer in answers} == {"api"}


async def drive_the_scenario(base: str, tokens: dict[str, str]) -> None:
    async with AsyncExitStack() as stack, fresh_connections() as http:
        staff_tokens = {staff: await login(http, base, staff) for staff in (ONLINE_AGENT, COLLEAGUE, SUPERVISOR)}
        response = await http.post(
            f"{base}/api/v1/staff/presence", json={"presence": "online"}, headers=bearer(staff_tokens[ONLINE_AGENT])
        )
        assert response.status_code == 204, response.text
        agent_console = await open_console(stack, base, staff_tokens[ONLINE_AGENT])
        supervisor_console = await open_console(stack, base, staff_tokens[SUPERVISOR])

        widgets = dict(
            zip(CLIENTS, await asyncio.gather(*(open_widget(stack, base, tokens[c]) for c in CLIENTS)), strict=True)
        )
        await spread_over_workers(stack, base, widgets, tokens)
        workers = {peer.worker for peer in widgets.values()}
        assert len(workers) == 2, workers
        conversation_of = {client: str(peer.hello["conversation_id"]) for client, peer in widgets.items()}

        # every client asks for a person over its own socket (handled by the worker holding that socket)
        await asyncio.gather(
            *(
                peer.send({"type": "message", "text": ASK_FOR_A_PERSON, "client_msg_id": f"ask-{client}"})
                for client, peer in widgets.items()
            )
        )
        for client, peer in widgets.items():
            await peer.wait_for(lambda e: e["type"] == "handoff" and e["state"] in {"queued", "with_agent"}, client)

        # the online agent got 8 by auto-assignment; the colleague claims the rest over REST, present but away (so
        # nothing is auto-assigned to them, and nothing they hold is given back as if they had gone offline)
        away = await http.post(
            f"{base}/api/v1/staff/presence", json={"presence": "away"}, headers=bearer(staff_tokens[COLLEAGUE])
        )
        assert away.status_code == 204, away.text
        assignee: dict[str, str] = {}
        for client, conversation_id in conversation_of.items():
            response = await http.get(f"{base}/api/v1/conversations/{conversation_id}", headers=bearer(tokens[client]))
            conversation = response.json()
            if conversation["state"] == "queued":
                claim = await http.post(
                    f"{base}/api/v1/staff/conversations/{conversation_id}/claim",
                    headers=bearer(staff_tokens[COLLEAGUE]),
                )
                assert claim.status_code == 200, claim.text
                assignee[client] = COLLEAGUE
            else:
                assert conversation["state"] == "with_agent", conversation
                assignee[client] = conversation["assignee_id"]
        assert sorted(assignee.values()).count(ONLINE_AGENT) == 8 and sorted(assignee.values()).count(COLLEAGUE) == 2

        for client, peer in widgets.items():
            joined = await peer.wait_for(lambda e: e["type"] == "agent_joined", f"agent_joined for {client}")
            assert joined["name"] == {"svc01": "刘洋", "svc02": "陈静"}[assignee[client]]

        # each assignee replies over REST, each request on a new connection (either worker)
        replies = {client: f"{client}您好，这里是人工服务，编号{uuid.uuid4().hex[:6]}。" for client in CLIENTS}
        for client, text in replies.items():
            response = await http.post(
                f"{base}/api/v1/staff/conversations/{conversation_of[client]}/reply",
                json={"text": text},
                headers=bearer(staff_tokens[assignee[client]]),
            )
            assert response.status_code == 200, response.text

        for client, peer in widgets.items():
            reply = await peer.wait_for(agent_message(replies[client]), f"the agent's reply to {client}")
            assert reply["served_by"]["staff_id"] == assignee[client]
        await asyncio.sleep(0.5)
        for client, peer in widgets.items():
            agent_texts = [e["text"] for e in peer.inbox if e["type"] == "message" and e["sender"] == "agent"]
            assert agent_texts == [replies[client]], f"{client} saw {agent_texts}"

        # the consoles saw every hand-over, including those handled by the other worker
        everyone = set(conversation_of.values())
        mine = {conversation_of[c] for c, staff in assignee.items() if staff == ONLINE_AGENT}
        await wait_until(lambda: events(supervisor_console, "agent_joined") >= everyone, "supervisor agent_joined")
        assert events(supervisor_console, "queued") >= everyone
        assert events(agent_console, "queued") >= everyone
        assert events(agent_console, "agent_joined") >= mine
        for console in (agent_console, supervisor_console):
            elsewhere = {conversation_of[c] for c, peer in widgets.items() if peer.worker != console.worker}
            assert elsewhere and elsewhere <= events(console, "queued")


def agent_message(text: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the agent message envelope with exactly `text`."""

    def matches(envelope: dict[str, Any]) -> bool:
        return bool(envelope["type"] == "message" and envelope["sender"] == "agent" and envelope["text"] == text)

    return matches


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
