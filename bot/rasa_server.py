"""`python -m bot.rasa_server run ...`: Rasa's own command line, after eight fixes to Rasa 3.6's turn path.

Run with the Rasa environment's Python (the launcher does). A profile of a Rasa server answering FAQ
questions put the first two at about a fifth of its CPU per turn; both keep Rasa's behaviour exactly:

- **The action server's reply is checked against a schema compiled once.** Rasa calls
  `jsonschema.validate`, which checks the schema itself before every reply (12% of Rasa's CPU).
  The same schema, the same `ValidationError` with the same message.
- **Event types are looked up in a table.** To deserialise each stored event Rasa walks the whole `Event`
  class tree (`all_subclasses`, 10%). The table holds the same first match; a name it does not know
  rebuilds it once (a class imported since), then Rasa's own answer is given.
- **Rasa's SQLite tracker store commits without waiting for the disk** (`relax_sqlite_sync`). Each turn
  commits the tracker; with the default synchronous=FULL every commit waits for an fsync while Rasa's event
  loop can do nothing else. PostgreSQL trackers are untouched.
- **Rasa's SQLite tracker store keeps its connections open** (`pool_sqlite_connections`). SQLAlchemy 1.4
  opens a new connection for every session on a SQLite file and closes it after (its NullPool); a turn opens
  two, and connecting, setting the connection up and closing it were about a tenth of Rasa's CPU per turn.
  The store now pools them as SQLAlchemy 2.0 does by default for a file (QueuePool).
- **Calls to the action endpoint keep their connection** (`keep_endpoint_connections`). Rasa opens a new
  aiohttp session, and so a new TCP connection, for every call and closes it after; each turn paid for a
  connection set-up and tear-down on both sides. The calls now share one session per endpoint settings and
  event loop, whose idle connections close after KEEPALIVE_SECONDS, before the API's server would close them
  (uvicorn: 5 s), so a call never lands on a connection the server is closing.
- **Saving a tracker does not count what is already stored** (`remember_stored_events`). Before every save
  Rasa's SQL tracker store counted the conversation's stored events to find the new ones (a seventh of Rasa's
  CPU per turn once the NLU was cached). A tracker it retrieved or saved itself now carries that number; any
  other tracker, or one whose save failed, is counted as before.
- **A text already understood is not parsed again** (`cache_nlu_parses`). The NLU pipeline (Jieba, the
  featurizers, DIET, the fallback classifier) depends on the message's text and the loaded model alone, and it
  was about a third of Rasa's CPU per turn; real traffic repeats its questions and greetings. Each loaded model
  keeps the parses of its last `RASA_NLU_CACHE_SIZE` texts (default 4096, 0 turns it off); a new model starts
  empty, and every caller gets a copy of its own.
- **A loaded model is set aside from the garbage collector** (`freeze_loaded_models`). A loaded Rasa holds
  about 590,000 long-lived objects (TensorFlow, the graph, the domain), and every full collection walked them
  all: about 200 ms in which Rasa answered nothing, several times a minute under load. Once a model is loaded
  they are frozen (`gc.freeze`); loading another unfreezes them first, so the old model's cycles are still
  collected.
"""

from __future__ import annotations

import contextvars
import copy
import gc
import os
import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

KEEPALIVE_SECONDS = 2.0
"""How long an idle connection to an endpoint is kept for the next call."""
NLU_CACHE_ENV = "RASA_NLU_CACHE_SIZE"
DEFAULT_NLU_CACHE_SIZE = 4096
"""Texts whose parse each loaded model keeps (a parse is about 2 KiB: 4096 of them about 8 MiB)."""


def patch_action_validation() -> None:
    """RemoteAction validates replies with a validator built once per action class."""
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions import action as rasa_action

    original = rasa_action.RemoteAction._validate_action_result
    validators: dict[type, Any] = {}

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        validator = validators.get(type(self))
        if validator is None:
            schema = self.action_response_format_spec()
            kind = validator_for(schema)
            kind.check_schema(schema)
            validator = validators[type(self)] = kind(schema)
        try:
            validator.validate(result)
        except ValidationError:
            return bool(original(self, result))  # Rasa's own error, message and all
        return True

    rasa_action.RemoteAction._validate_action_result = _validate_action_result


def patch_event_lookup() -> None:
    """Event.resolve_by_type answers from a table of the event classes (rebuilt once for an unknown name)."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    original = Event.resolve_by_type
    table: dict[str, type] = {}

    def rebuild() -> None:
        table.clear()
        for cls in all_subclasses(Event):
            table.setdefault(cls.type_name, cls)

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        found = table.get(type_name)
        if found is None:
            rebuild()
            found = table.get(type_name)
        return found if found is not None else original(type_name, default)

    rebuild()
    Event.resolve_by_type = staticmethod(resolve_by_type)


def relax_sqlite_sync() -> None:
    """SQLite connections opened by Rasa (its tracker store) use synchronous=NORMAL: under WAL, which the
    launcher sets on the file, a commit no longer waits for the disk; the database is never corrupted, and
    an operating-system crash may lose only the last turns' dialogue state (the engine's own record keeps every
    message)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(connection: Any, _record: Any) -> None:
        if type(connection).__module__.startswith("sqlite3"):
            cursor = connection.cursor()
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    event.listen(Engine, "connect", on_connect)


def pool_sqlite_connections() -> None:
    """Rasa's SQL tracker store creates its SQLite engines with a connection pool (PostgreSQL: Rasa's own)."""
    from rasa.core import tracker_store
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import QueuePool

    original = tracker_store.create_engine_kwargs

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = original(url)
        parsed = make_url(url) if isinstance(url, str) else url
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            kwargs = {**kwargs, "poolclass": QueuePool, "connect_args": {"check_same_thread": False}}
        return kwargs

    tracker_store.create_engine_kwargs = create_engine_kwargs


class _SharedSession:
    """`async with` over a shared aiohttp session: entering gives the session, leaving keeps it open."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *_exc: object) -> None:
        return None


def keep_endpoint_connections() -> None:
    """EndpointConfig.request uses one kept-alive session per endpoint settings and event loop."""
    import asyncio

    import aiohttp
    from rasa.utils import endpoints

    original_request = endpoints.EndpointConfig.request
    original_session = endpoints.EndpointConfig.session
    in_request: contextvars.ContextVar[bool] = contextvars.ContextVar("in_endpoint_request", default=False)
    shared: dict[tuple[int, str, str], aiohttp.ClientSession] = {}

    def session(self: Any) -> Any:
        if not in_request.get():
            return original_session(self)  # anyone else still gets a session of their own
        key = (id(asyncio.get_running_loop()), repr(self.headers), repr(self.basic_auth))
        found = shared.get(key)
        if found is None or found.closed:
            basic = self.basic_auth
            auth = aiohttp.BasicAuth(basic["username"], basic["password"]) if basic else None
            found = shared[key] = aiohttp.ClientSession(  # as Rasa's session, on a kept-alive connector
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
            )
        return _SharedSession(found)

    async def request(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = in_request.set(True)
        try:
            return await original_request(self, *args, **kwargs)
        finally:
            in_request.reset(token)

    endpoints.EndpointConfig.session = session
    endpoints.EndpointConfig.request = request


STORED_ROWS = "_tre_stored_rows"
"""Where a tracker carries (its store, how many of its events that store holds)."""
PENDING_ROWS = "_tre_pending_rows"
"""What a tracker's store will hold once the save under way commits."""


def remember_stored_events() -> None:
    """SQLTrackerStore knows how many of a tracker's events it holds when the tracker came from it."""
    import itertools
    import json

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    original_save = SQLTrackerStore.save

    async def _retrieve(self: Any, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        with self.session_scope() as session:  # Rasa's own query and tracker, and the number of rows read
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [json.loads(row.data) for row in rows]
        if not self.domain or not events:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:  # the rows save counts: those since the last session start
            tracker.__dict__[STORED_ROWS] = (self, len(rows))
        return tracker

    def _additional_events(self: Any, session: Any, tracker: Any) -> Any:
        known = tracker.__dict__.pop(STORED_ROWS, None)
        if known is not None and known[0] is self:
            stored = known[1]
        else:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        tracker.__dict__[PENDING_ROWS] = max(stored, len(tracker.events))
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def save(self: Any, tracker: Any) -> None:
        try:
            await original_save(self, tracker)
        except BaseException:
            tracker.__dict__.pop(PENDING_ROWS, None)  # the next save counts again
            raise
        pending = tracker.__dict__.pop(PENDING_ROWS, None)
        if pending is not None:
            tracker.__dict__[STORED_ROWS] = (self, pending)

    SQLTrackerStore._retrieve = _retrieve
    SQLTrackerStore._additional_events = _additional_events
    SQLTrackerStore.save = save


def freeze_loaded_models() -> None:
    """After Agent.load_model, collect and freeze the heap; before it, unfreeze what an earlier load froze."""
    from rasa.core.agent import Agent

    original = Agent.load_model

    def load_model(self: Any, model_path: Any, fingerprint: Any = None) -> None:
        gc.unfreeze()
        original(self, model_path, fingerprint)
        gc.collect()
        gc.freeze()

    Agent.load_model = load_model


class ParseCache:
    """The parses of recent texts, least recently used first out; hands out copies only."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._parses: OrderedDict[tuple[str, bool], dict[str, Any]] = OrderedDict()

    def get(self, key: tuple[str, bool]) -> dict[str, Any] | None:
        """A copy of the parse kept for `key`, or None."""
        found = self._parses.get(key)
        if found is None:
            return None
        self._parses.move_to_end(key)
        return copy.deepcopy(found)

    def put(self, key: tuple[str, bool], parse: dict[str, Any]) -> None:
        """Keep a copy of `parse` (the oldest goes when full)."""
        self._parses[key] = copy.deepcopy(parse)
        self._parses.move_to_end(key)
        while len(self._parses) > self._size:
            self._parses.popitem(last=False)

    def __len__(self) -> int:
        return len(self._parses)


def cache_nlu_parses(size: int) -> None:
    """MessageProcessor parses a text its model has parsed recently from a per-processor ParseCache.

    Rasa's NLU graph takes only the message (its text, through NLUMessageConverter) and the model's domain; the
    message id, metadata and sender never reach a parse. A processor is made per loaded model, so a new model
    never answers from an old model's parses."""
    if size <= 0:
        return
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor._parse_message_with_graph

    def _parse_message_with_graph(self: Any, message: Any, tracker: Any, only_output_properties: bool = True) -> Any:
        text = message.text
        if not isinstance(text, str):
            return original(self, message, tracker, only_output_properties)
        cache = self.__dict__.get("_parse_cache")
        if cache is None:
            cache = self.__dict__["_parse_cache"] = ParseCache(size)
        key = (text, bool(only_output_properties))
        found = cache.get(key)
        if found is not None:
            return found
        parse = original(self, message, tracker, only_output_properties)
        cache.put(key, parse)
        return parse

    MessageProcessor._parse_message_with_graph = _parse_message_with_graph


def nlu_cache_size(environ: Mapping[str, str] = os.environ) -> int:
    """RASA_NLU_CACHE_SIZE as a count, or exit 2 with a clear message."""
    raw = environ.get(NLU_CACHE_ENV, "").strip()
    if not raw:
        return DEFAULT_NLU_CACHE_SIZE
    if not raw.isdigit():
        print(f"{NLU_CACHE_ENV} must be a whole number of texts, 0 or more (got {raw!r})", file=sys.stderr)
        raise SystemExit(2)
    return int(raw)


def main() -> None:
    """Apply the fixes, then run Rasa's command line with this process's arguments."""
    cache_nlu_parses(nlu_cache_size())
    patch_action_validation()
    patch_event_lookup()
    relax_sqlite_sync()
    pool_sqlite_connections()
    remember_stored_events()
    keep_endpoint_connections()
    freeze_loaded_models()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
