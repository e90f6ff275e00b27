"""`python -m handoff_api keys ...`: create, list and revoke integration API keys.

    python -m handoff_api keys create NAME --scope conversations:open --scope conversations:read ...
    python -m handoff_api keys list [--all]
    python -m handoff_api keys revoke NAME

Every command takes --database-url (default: $DATABASE_URL, else sqlite+aiosqlite:///var/engine.db) and
migrates the database first. `create` prints the key alone on stdout, once: it is not stored, only its
SHA-256 is. Exit codes: 0 done, 1 the database could not be used, 2 rejected input (nothing was changed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TextIO, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from handoff_api.api_keys.keys import ApiKey, InvalidKeyRequest, Scope
from handoff_api.api_keys.registry import ApiKeyRegistry
from handoff_api.api_keys.store import SqlApiKeyStore
from routing.sql_engine import DEFAULT_DATABASE_URL, create_engine_for, migrate_async

T = TypeVar("T")

EXIT_OK = 0
EXIT_UNAVAILABLE = 1
EXIT_REJECTED = 2


class UnknownKey(LookupError):
    """No active key has the name given."""


def add_keys_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `keys` command and its subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        help="SQLAlchemy async URL (default: $DATABASE_URL or %(default)s)",
    )
    keys = commands.add_parser("keys", help="integration API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", parents=[common], help="create a key and print it once")
    create.add_argument("name", help="who uses the key, e.g. crm-backend (1-64 letters, digits, '.', '_', '-')")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=[scope.value for scope in Scope],
        help="what the key may do (repeat for several)",
    )
    listing = actions.add_parser("list", parents=[common], help="list the keys (never their secrets)")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    revoke = actions.add_parser("revoke", parents=[common], help="revoke the active key of this name")
    revoke.add_argument("name")


async def with_registry(database_url: str, work: Callable[[ApiKeyRegistry], Awaitable[T]]) -> T:
    """Migrate the database, then run `work` on its keys, disposing the engine afterwards."""
    await migrate_async(database_url)
    engine = create_engine_for(database_url)
    try:
        return await work(ApiKeyRegistry(SqlApiKeyStore(engine)))
    finally:
        await engine.dispose()


def describe(key: ApiKey) -> str:
    """One line of `keys list`."""
    used = key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never"
    status = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
    scopes = ",".join(sorted(scope.value for scope in key.scopes))
    return f"{key.name:<24} {key.id:<16} {scopes:<58} {key.created_at:%Y-%m-%d %H:%M}  {used:<16}  {status}"


async def run_keys(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Execute one parsed `keys` command."""
    now = datetime.now(UTC)
    if args.action == "create":
        issued = await with_registry(args.database_url, lambda keys: keys.create(args.name, args.scope, now))
        print(issued.presented, file=out)
        scopes = ", ".join(sorted(scope.value for scope in issued.key.scopes))
        print(f"created key {issued.key.name!r} (id {issued.key.id}) with {scopes}.", file=err)
        print("Store it now: it is shown only this once and cannot be recovered.", file=err)
    elif args.action == "list":
        found = await with_registry(args.database_url, lambda keys: keys.list_keys(args.all))
        print(f"{'NAME':<24} {'ID':<16} {'SCOPES':<58} {'CREATED (UTC)':<16}  {'LAST USED':<16}  STATUS", file=out)
        for key in found:
            print(describe(key), file=out)
    else:
        revoked = await with_registry(args.database_url, lambda keys: keys.revoke(args.name, now))
        if revoked is None:
            raise UnknownKey(f"no active key is named {args.name!r} (see: python -m handoff_api keys list)")
        print(f"revoked key {revoked.name!r} (id {revoked.id}); it is refused from now on", file=out)
    return EXIT_OK


def main_keys(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run a `keys` command; a clear message and a non-zero exit code for anything refused."""
    try:
        return asyncio.run(run_keys(args, out, err))
    except (InvalidKeyRequest, UnknownKey) as error:
        print(f"rejected: {error}", file=err)
        return EXIT_REJECTED
    except (SQLAlchemyError, OSError) as error:
        where = make_url(args.database_url).render_as_string(hide_password=True)
        print(f"cannot use the database at {where}: {type(error).__name__}", file=err)
        return EXIT_UNAVAILABLE


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m handoff_api`."""
    parser = argparse.ArgumentParser(prog="python -m handoff_api", description="Tiered Response Engine API admin.")
    add_keys_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Entry point of `python -m handoff_api`; returns the exit code."""
    args = build_parser().parse_args(argv)
    return main_keys(args, out, err)
