"""`python -m bot.rasa_server run ...`: Rasa's own command line, after four fixes to Rasa 3.6's turn path.

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
"""

from __future__ import annotations

import contextvars
import sys
from typing import Any

KEEPALIVE_SECONDS = 2.0
"""How long an idle connection to an endpoint is kept for the next call."""


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


def main() -> None:
    """Apply the fixes, then run Rasa's command line with this process's arguments."""
    patch_action_validation()
    patch_event_lookup()
    relax_sqlite_sync()
    pool_sqlite_connections()
    keep_endpoint_connections()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
