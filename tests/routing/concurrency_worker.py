"""A worker process for the concurrency test: runs many escalations, claims, resolves and presence
changes against one shared PostgreSQL record and one Redis, then prints a JSON summary.

Usage: python -m tests.routing.concurrency_worker '<json config>'
Modes: "load" (the mixed workload) and "claim_and_hang" (lease a ticket, report it, then sleep
until killed: a worker dying mid-assignment).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections import Counter
from typing import Any

from routing.errors import RoutingError
from routing.memory import SystemClock
from routing.models import Channel, ConversationState, EscalationReason, Presence, QueueName
from routing.redis_ports import connect, redis_ports
from routing.service import RoutingService
from routing.settings import RoutingSettings
from routing.sql_engine import create_engine_for
from routing.sql_record import SqlRecord
from tests.routing.service_world import KeywordClassifier

SETTINGS = RoutingSettings(
    always_open=True,
    tier2_wait_limit_seconds=3600,
    responder_limit_seconds=3600,
    presence_ttl_seconds=300,
    claim_lease_seconds=2,
)


async def run_load(service: RoutingService, config: dict[str, Any]) -> dict[str, Any]:
    rng = random.Random(config["seed"])
    clients: list[str] = list(config["clients"])
    rng.shuffle(clients)  # escalate() takes one each: a client has one open conversation per channel
    agents: list[str] = config["agents"]
    outcomes: Counter[str] = Counter()
    mine: list[str] = []
    gate = asyncio.Semaphore(config.get("parallel", 16))

    async def escalate() -> None:
        conversation = await service.start_conversation(clients.pop(), Channel.WIDGET)
        await service.record_client_message(conversation.id, "请帮我看看")
        hint = rng.choice([QueueName.ADVISOR, QueueName.SERVICE, None])
        after = await service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, hint, "基金还能买吗")
        mine.append(after.id)
        outcomes[f"escalated:{after.state.value}"] += 1

    async def claim() -> None:
        after = await service.claim(rng.choice(agents))
        mine.append(after.id)
        outcomes["claimed"] += 1

    async def resolve() -> None:
        agent = rng.choice(agents)
        held = [c for c in await service.staff_conversations(agent) if c.state == ConversationState.WITH_AGENT]
        if held:
            await service.resolve(agent, rng.choice(held).id)
            outcomes["resolved"] += 1

    async def presence() -> None:
        state = rng.choices([Presence.ONLINE, Presence.AWAY, Presence.OFFLINE], [6, 2, 2])[0]
        await service.set_presence(rng.choice(agents), state)
        outcomes[f"presence:{state.value}"] += 1

    async def tick() -> None:
        await service.tick()
        outcomes["tick"] += 1

    actions = ["escalate"] * config["escalations"]
    actions += ["claim"] * config["claims"] + ["resolve"] * config["resolves"]
    actions += ["presence"] * config["presence_changes"] + ["tick"] * config["ticks"]
    rng.shuffle(actions)
    table = {"escalate": escalate, "claim": claim, "resolve": resolve, "presence": presence, "tick": tick}

    async def one(action: str) -> None:
        async with gate:
            try:
                await table[action]()
            except RoutingError as error:
                outcomes[f"{action}:{type(error).__name__}"] += 1

    await asyncio.gather(*(one(action) for action in actions))
    return dict(outcomes)


async def claim_and_hang(service: RoutingService, config: dict[str, Any]) -> None:
    lease = await service.queues.claim_head(QueueName(config["queue"]), "doomed-worker", config["lease_seconds"])
    print(json.dumps({"ticket_id": lease.entry.ticket_id if lease else None}), flush=True)
    await asyncio.sleep(3600)


async def main(config: dict[str, Any]) -> None:
    engine = create_engine_for(config["database_url"])
    client = connect(config["redis_url"])
    ports = redis_ports(client, SystemClock(), config["prefix"])
    service = RoutingService(
        SqlRecord(engine),
        ports.queues,
        ports.presence,
        ports.events,
        ports.idempotency,
        SystemClock(),
        KeywordClassifier(),
        SETTINGS,
    )
    try:
        if config["mode"] == "claim_and_hang":
            await claim_and_hang(service, config)
        else:
            print(json.dumps(await run_load(service, config)), flush=True)
    finally:
        await ports.close()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
