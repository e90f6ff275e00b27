"""`bot.rasa_server`'s fixes keep Rasa's behaviour: checked in the Rasa environment against Rasa's own code.

- every event type name resolves to the class Rasa's walk finds, and unknown names, `topic` and defaults
  behave as in Rasa;
- a valid action server reply passes, an invalid one raises Rasa's ValidationError with Rasa's message;
- SQLite connections Rasa opens commit with synchronous=NORMAL;
- Rasa's SQLite tracker store pools its connections and still stores and restores a tracker.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

CHECK = textwrap.dedent(
    """
    import json
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses
    from bot import rasa_server

    names = sorted({cls.type_name for cls in all_subclasses(Event)})
    before = {name: Event.resolve_by_type(name) for name in names}
    action = RemoteAction.__new__(RemoteAction)
    good = {"events": [{"event": "slot", "name": "last_question", "value": "科创板"}], "responses": [{"text": "好"}]}
    bad = {"events": "not a list"}

    def refusal():
        try:
            action._validate_action_result(bad)
        except ValidationError as error:
            return error.message
        return None

    refused_before = refusal()
    rasa_server.patch_action_validation()
    rasa_server.patch_event_lookup()
    rasa_server.relax_sqlite_sync()
    import sqlalchemy, tempfile, os
    folder = tempfile.mkdtemp()
    engine = sqlalchemy.create_engine("sqlite:///" + os.path.join(folder, "tracker.db"))
    with engine.connect() as connection:
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()

    import asyncio
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    unpooled = SQLTrackerStore(Domain.empty(), db=os.path.join(folder, "before.db")).engine.pool
    rasa_server.pool_sqlite_connections()
    store = SQLTrackerStore(Domain.empty(), db=os.path.join(folder, "rasa.db"))
    tracker = DialogueStateTracker("c1", [])
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("科创板怎么开通"))
    asyncio.run(store.save(tracker))
    tracker.update(ActionExecuted("action_answer_faq"))
    asyncio.run(store.save(tracker))
    restored = asyncio.run(store.retrieve("c1"))
    with store.engine.connect() as connection:
        pooled_synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()

    class LateEvent(Event):  # a class defined after the table was built
        type_name = "late_event_for_the_test"
        def __eq__(self, other):
            return self is other
        def as_story_string(self):
            return None

    def unknown():
        try:
            Event.resolve_by_type("no_such_event")
        except ValueError as error:
            return str(error)
        return None

    print(json.dumps({
        "same_classes": all(Event.resolve_by_type(name) is cls for name, cls in before.items()),
        "names": len(names),
        "late": Event.resolve_by_type("late_event_for_the_test") is LateEvent,
        "topic": Event.resolve_by_type("topic") is None,
        "default": Event.resolve_by_type("no_such_event", LateEvent) is LateEvent,
        "unknown": unknown(),
        "good": action._validate_action_result(good),
        "refused_same": refusal() == refused_before and refused_before is not None,
        "synchronous": synchronous,
        "pools": [type(unpooled).__name__, type(store.engine.pool).__name__],
        "restored": [e.type_name for e in restored.events] if restored else None,
        "pooled_synchronous": pooled_synchronous,
        "memory_untouched": type(SQLTrackerStore(Domain.empty(), db=":memory:").engine.pool).__name__,
    }))
    """
)


def test_the_fixes_keep_rasas_behaviour() -> None:
    if not RASA_PYTHON.exists():
        pytest.fail(f"Rasa is not installed at {RASA_PYTHON}: run `make setup` (it creates .venv-rasa)")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["names"] > 20
    assert result == {
        "same_classes": True,
        "names": result["names"],
        "late": True,
        "topic": True,
        "default": True,
        "unknown": "Unknown event name 'no_such_event'.",
        "good": True,
        "refused_same": True,
        "synchronous": 1,  # NORMAL
        "pools": ["NullPool", "QueuePool"],  # SQLAlchemy 1.4's default for a file, then pooled
        "restored": ["action", "user", "action"],
        "pooled_synchronous": 1,
        "memory_untouched": "SingletonThreadPool",
    }


CONNECTIONS = textwrap.dedent(
    """
    import asyncio, json
    import aiohttp
    from aiohttp import web
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig
    from bot import rasa_server

    async def main():
        peers = []

        async def answer(request):
            peers.append(request.transport.get_extra_info("peername")[1])
            if request.query.get("token") != "t":
                return web.json_response({"error": "token"}, status=401)
            return web.json_response({"echo": (await request.json())["n"]})

        app = web.Application()
        app.router.add_post("/webhook", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", token="t")

        async def calls(n):
            return [await endpoint.request(json={"n": i}) for i in range(n)]

        before = await calls(3)
        unpooled = len(set(peers))
        peers.clear()
        rasa_server.keep_endpoint_connections()
        after = await calls(3)
        kept = len(set(peers))
        refused = None
        try:
            await EndpointConfig(f"http://127.0.0.1:{port}/webhook", token="wrong").request(json={"n": 0})
        except ClientResponseError as error:
            refused = error.status
        own = endpoint.session()
        separate = isinstance(own, aiohttp.ClientSession)
        await own.close()
        await asyncio.sleep(rasa_server.KEEPALIVE_SECONDS + 0.5)  # the idle connection is closed by now
        peers.clear()
        late = await calls(1)
        await runner.cleanup()
        print(json.dumps({"before": before, "after": after, "late": late, "unpooled": unpooled, "kept": kept,
                          "refused": refused, "separate": separate, "reconnected": len(peers)}))

    asyncio.run(main())
    """
)


def test_calls_to_an_endpoint_keep_one_connection() -> None:
    if not RASA_PYTHON.exists():
        pytest.fail(f"Rasa is not installed at {RASA_PYTHON}: run `make setup` (it creates .venv-rasa)")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", CONNECTIONS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "before": [{"echo": 0}, {"echo": 1}, {"echo": 2}],
        "after": [{"echo": 0}, {"echo": 1}, {"echo": 2}],
        "late": [{"echo": 0}],
        "unpooled": 3,  # Rasa's own: a connection per call
        "kept": 1,
        "refused": 401,  # errors still raise Rasa's ClientResponseError
        "separate": True,  # a session asked for outside a request is still the caller's own
        "reconnected": 1,
    }
