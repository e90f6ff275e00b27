"""The fault suite's traffic and its four counts.

Clients talk over REST with an integration key and retry like a real client app behind a load balancer:
on a refused connection, a dropped answer, a 5xx or a 429 they send the same message (same
`client_msg_id`) again, to the other worker. Agents stay online with heartbeats, claim and resolve.
Afterwards the record and Redis are read directly and four things are counted:

- lost: a message the client sent that is not in the record (or that it never got accepted);
- stranded: a conversation nobody will act on (queued without its queue entry, held by someone offline,
  or a client message in the bot's care that never got an answer);
- double assignments: a staff member over capacity, a load counter that disagrees with the record, a
  ticket waiting twice, or a claim lease left behind;
- doubled replies: one client message answered twice with the same words, or stored twice.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select

from routing import sql_tables as t
from routing.models import ConversationState, Presence, QueueName, SenderKind
from routing.redis_ports import RedisPorts
from routing.sql_record import SqlRecord

RETRY_PAUSE = 0.3
SEND_DEADLINE = 90.0
ASK_FOR_A_PERSON = "转人工"
AGENTS = {"svc01": 8, "adv01": 6}
"""Demo agents (id: capacity) who serve during the faults."""


@dataclass
class Ledger:
    """What the clients sent and what came of it."""

    acked: dict[str, str] = field(default_factory=dict)
    """client_msg_id -> conversation id, for every message a worker accepted (200)."""
    given_up: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    server_errors: Counter[int] = field(default_factory=Counter)
    retries: int = 0


class Traffic:
    """Clients and agents over REST, spread over the workers and retrying across them."""

    def __init__(self, bases: Sequence[str], key: str, password: str) -> None:
        self.bases = list(bases)
        self.key = key
        self.password = password
        self.ledger = Ledger()
        self.http = httpx.AsyncClient(timeout=20, limits=httpx.Limits(max_keepalive_connections=0))
        self._turn = itertools.count()
        self._tokens: dict[str, str] = {}

    async def close(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, headers: dict[str, str], body: object | None) -> httpx.Response:
        """The request on the next worker, again on the other one until it is answered below 500 (not 429)."""
        deadline = time.monotonic() + SEND_DEADLINE
        while True:
            base = self.bases[next(self._turn) % len(self.bases)]
            try:
                response = await self.http.request(method, base + path, headers=headers, json=body)
                if response.status_code < 500 and response.status_code != 429:
                    return response
                self.ledger.server_errors[response.status_code] += 1
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {path} got no answer in {SEND_DEADLINE:.0f} s")
            self.ledger.retries += 1
            await asyncio.sleep(RETRY_PAUSE)

    # ------------------------------------------------------------ clients

    @property
    def _integration(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def open(self, client_id: str) -> str:
        response = await self._call("POST", "/api/v1/conversations", self._integration, {"client_id": client_id})
        assert response.status_code in {200, 201}, response.text
        return str(response.json()["id"])

    async def say(self, conversation_id: str, text: str) -> None:
        """Send until accepted; the ledger notes the outcome."""
        message_id = uuid.uuid4().hex
        body = {"text": text, "client_msg_id": message_id}
        try:
            path = f"/api/v1/conversations/{conversation_id}/messages"
            response = await self._call("POST", path, self._integration, body)
        except TimeoutError:
            self.ledger.given_up.append(message_id)
            return
        if response.status_code == 200:
            self.ledger.acked[message_id] = conversation_id
        else:
            self.ledger.refused.append(f"{response.status_code} {response.text[:200]}")

    async def client(self, client_id: str, rounds: int, pause: float) -> None:
        """One client asking questions, and now and then for a person."""
        conversation_id = await self.open(client_id)
        for number in range(rounds):
            asking = ASK_FOR_A_PERSON if number % 3 == 2 else "科创板怎么开通"
            await self.say(conversation_id, f"{asking}（{client_id}-{number}-{uuid.uuid4().hex[:6]}）")
            await asyncio.sleep(pause)

    # ------------------------------------------------------------ agents

    async def _staff(self, staff_id: str) -> dict[str, str]:
        if staff_id not in self._tokens:
            body = {"staff_id": staff_id, "password": self.password}
            response = await self._call("POST", "/api/v1/staff/login", {}, body)
            assert response.status_code == 200, response.text
            self._tokens[staff_id] = str(response.json()["access_token"])
        return {"Authorization": f"Bearer {self._tokens[staff_id]}"}

    async def online(self, staff_id: str) -> None:
        headers = await self._staff(staff_id)
        response = await self._call("POST", "/api/v1/staff/presence", headers, {"presence": Presence.ONLINE.value})
        assert response.status_code == 204, response.text

    async def agent(self, staff_id: str, stop: asyncio.Event) -> None:
        """Heartbeat (online again after a lapse), claim the next waiting conversation, resolve what is held."""
        await self.online(staff_id)
        while not stop.is_set():
            headers = await self._staff(staff_id)
            beat = await self._call("POST", "/api/v1/staff/heartbeat", headers, None)
            if beat.status_code == 200 and not beat.json().get("alive"):
                await self.online(staff_id)
            await self._call("POST", "/api/v1/staff/claim", headers, None)
            held = await self._call("GET", "/api/v1/staff/conversations", headers, None)
            if held.status_code == 200:
                for conversation in held.json()[:2]:
                    if conversation["state"] == ConversationState.WITH_AGENT.value:
                        path = f"/api/v1/staff/conversations/{conversation['id']}/resolve"
                        await self._call("POST", path, headers, None)
            await asyncio.sleep(0.5)


# ---------------------------------------------------------------- the four counts


@dataclass(frozen=True)
class Counts:
    lost: int
    stranded: int
    double_assignments: int
    doubled_replies: int
    notes: tuple[str, ...]

    def line(self, scenario: str) -> str:
        return (
            f"{scenario}: client messages lost {self.lost}, conversations stranded {self.stranded}, "
            f"double assignments {self.double_assignments}, replies doubled {self.doubled_replies}"
        )

    @property
    def clean(self) -> bool:
        return self.lost == self.stranded == self.double_assignments == self.doubled_replies == 0


async def count(record: SqlRecord, ports: RedisPorts, ledger: Ledger) -> Counts:
    """The four counts over everything the record and Redis hold now."""
    notes: list[str] = []
    async with record.engine.connect() as conn:
        rows = (await conn.execute(select(t.messages).order_by(t.messages.c.conversation_id, t.messages.c.seq))).all()
    stored_ids = Counter(row.client_msg_id for row in rows if row.client_msg_id)
    lost = [m for m in ledger.acked if stored_ids[m] == 0] + ledger.given_up
    notes += [f"lost {m}" for m in lost]
    doubled = [m for m, n in stored_ids.items() if n > 1]
    by_conversation: dict[str, list[object]] = {}
    for row in rows:
        by_conversation.setdefault(row.conversation_id, []).append(row)
    for conversation_id, messages in by_conversation.items():
        doubled += _answered_twice(conversation_id, messages)
    notes += [f"doubled {d}" for d in doubled]
    stranded = await _stranded(record, ports, by_conversation)
    notes += stranded
    double = await _double_assignments(record, ports)
    notes += double
    return Counts(len(lost), len(stranded), len(double), len(doubled), tuple(notes))


def _answered_twice(conversation_id: str, messages: Sequence[object]) -> list[str]:
    """Client messages whose answer (the bot messages up to the next client message) repeats itself."""
    found, answer = [], Counter[str]()
    asked = None
    for row in [*messages, None]:
        if row is None or row.sender == SenderKind.CLIENT.value:  # type: ignore[attr-defined]
            if asked is not None and any(n > 1 for n in answer.values()):
                found.append(f"{conversation_id}#{asked}")
            asked, answer = (row.seq if row is not None else None), Counter()  # type: ignore[attr-defined]
        elif row.sender == SenderKind.BOT.value:  # type: ignore[attr-defined]
            answer[row.text] += 1  # type: ignore[attr-defined]
    return found


async def _stranded(record: SqlRecord, ports: RedisPorts, transcripts: dict[str, list[object]]) -> list[str]:
    conversations = await record.conversations_in_states(set(ConversationState))
    waiting = {e.ticket_id: q for q in QueueName for e in await ports.queues.entries(q, limit=10_000)}
    found = []
    for c in conversations:
        if c.state == ConversationState.QUEUED and waiting.get(c.ticket_id or "") != c.queue:
            found.append(f"{c.id} queued in SQL, not waiting in Redis")
        held_by = c.assignee_id if c.state == ConversationState.WITH_AGENT else None
        # Away is present: an agent who claims while their presence is lost (a flushed Redis) becomes away and
        # keeps what they claimed (routing.service.attendance.present_for_claim). Only an absent holder strands.
        if held_by and await ports.presence.presence(held_by) == Presence.OFFLINE:
            found.append(f"{c.id} held by {c.assignee_id}, who is offline")
        last = transcripts.get(c.id, [])[-1:]
        if c.state == ConversationState.BOT and last and last[0].sender == SenderKind.CLIENT.value:  # type: ignore[attr-defined]
            found.append(f"{c.id} the client's last message in the bot's care has no answer")
    return found


async def _double_assignments(record: SqlRecord, ports: RedisPorts) -> list[str]:
    holding = await record.conversations_in_states({ConversationState.WITH_AGENT})
    held = Counter[str](c.assignee_id for c in holding if c.assignee_id)
    found = [f"{s} holds {n} > {AGENTS[s]}" for s, n in held.items() if n > AGENTS.get(s, 10**6)]
    loads = await ports.presence.loads(list(AGENTS))
    found += [f"{s} load {loads[s]} but holds {held.get(s, 0)}" for s in AGENTS if loads[s] != held.get(s, 0)]
    tickets = Counter([e.ticket_id for q in QueueName for e in await ports.queues.entries(q, limit=10_000)])
    found += [f"ticket {ticket} waits {n} times" for ticket, n in tickets.items() if n > 1]
    found += [f"lease left on {lease.entry.ticket_id}" for lease in await ports.queues.leases()]
    return found


async def settled(record: SqlRecord, ports: RedisPorts, ledger: Ledger, seconds: float = 20.0) -> Counts:
    """The counts once the engine had `seconds` to repair itself (its periodic tick), or as soon as all are 0."""
    deadline = time.monotonic() + seconds
    while True:
        counts = await count(record, ports, ledger)
        if counts.clean or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(1.0)
