"""Command line of the routing record: schema migrations and the staff / client directory.

    python -m routing migrate
    python -m routing import-staff FILE.csv
    python -m routing import-clients FILE.csv
    python -m routing set-password STAFF_ID [--password-stdin]
    python -m routing disable-staff STAFF_ID
    python -m routing enable-staff STAFF_ID
    python -m routing seed-demo
    python -m routing audit verify [--anchor SEQ:HASH]
    python -m routing audit tail [-n N]

Every command takes --database-url (default: $DATABASE_URL, else sqlite+aiosqlite:///var/engine.db)
and migrates the database first. Exit codes: 0 done, 1 the audit chain is broken (audit verify),
2 rejected input such as an unknown staff id (nothing was changed).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

from routing.accounts_cli import switch_staff
from routing.audit_cli import MaskerUnavailable, add_audit_commands, run_audit
from routing.directory_import import (
    DirectoryImportError,
    import_clients,
    import_staff,
    seed_demo,
    set_staff_password,
)
from routing.errors import NotFound
from routing.passwords import WeakPassword, check_password_rules
from routing.sql_engine import DEFAULT_DATABASE_URL, create_engine_for, migrate
from routing.sql_record import SqlRecord

T = TypeVar("T")

EXIT_OK = 0
EXIT_REJECTED = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m routing`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        help="SQLAlchemy async URL (default: $DATABASE_URL or %(default)s)",
    )
    parser = argparse.ArgumentParser(prog="python -m routing", description="Routing record administration.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", parents=[common], help="upgrade the schema to the latest revision")
    for name, what in (("import-staff", "staff"), ("import-clients", "clients")):
        command = commands.add_parser(name, parents=[common], help=f"validate and import a {what} CSV file")
        command.add_argument("file", type=Path, help=f"{what} CSV file (UTF-8)")
    password = commands.add_parser("set-password", parents=[common], help="set a staff member's password")
    password.add_argument("staff_id")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    for name, what in (("disable-staff", "disable"), ("enable-staff", "enable")):
        switch = commands.add_parser(name, parents=[common], help=f"{what} a staff member's account")
        switch.add_argument("staff_id")
    commands.add_parser(
        "seed-demo",
        parents=[common],
        help="import the demo staff and clients, passwords demo1234 (development)",
    )
    add_audit_commands(commands, common)
    return parser


def read_password(from_stdin: bool, stdin: TextIO) -> str:
    """The new password: the first line of stdin when piped or asked for, else prompted twice."""
    if from_stdin or not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise WeakPassword("the two passwords differ")
    return first


async def with_record(database_url: str, work: Callable[[SqlRecord], Awaitable[T]]) -> T:
    """Run `work` against the record at `database_url`, disposing the engine afterwards."""
    engine = create_engine_for(database_url)
    try:
        return await work(SqlRecord(engine))
    finally:
        await engine.dispose()


def run(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    """Execute one parsed command; print results to `out`, raise on rejected input."""
    url: str = args.database_url
    migrate(url)
    if args.command == "audit":
        return run_audit(args, out)
    if args.command == "migrate":
        print("schema is at the latest revision", file=out)
    elif args.command in ("import-staff", "import-clients"):
        path: Path = args.file
        data = path.read_bytes()
        if args.command == "import-staff":
            staff = asyncio.run(with_record(url, lambda record: import_staff(record, data, source=path.name)))
            print(f"imported {len(staff)} staff members from {path}", file=out)
        else:
            clients = asyncio.run(with_record(url, lambda record: import_clients(record, data, source=path.name)))
            print(f"imported {len(clients)} clients from {path}", file=out)
    elif args.command == "set-password":
        password = read_password(args.password_stdin, stdin)
        check_password_rules(password)
        asyncio.run(with_record(url, lambda record: set_staff_password(record, args.staff_id, password)))
        print(f"password set for {args.staff_id}", file=out)
    elif args.command in ("disable-staff", "enable-staff"):
        active = args.command == "enable-staff"
        print(asyncio.run(with_record(url, lambda record: switch_staff(record, args.staff_id, active))), file=out)
    elif args.command == "seed-demo":
        seeded = asyncio.run(with_record(url, seed_demo))
        print(
            f"demo directory ready: {seeded.staff} staff, {seeded.clients} clients, password demo1234",
            file=out,
        )
    return EXIT_OK


def main(argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return run(args, stdin, out)
    except DirectoryImportError as error:
        print(error, file=sys.stderr)
    except (WeakPassword, NotFound, MaskerUnavailable) as error:
        print(f"rejected: {error}", file=sys.stderr)
    except FileNotFoundError as error:
        print(f"rejected: no such file {error.filename}", file=sys.stderr)
    return EXIT_REJECTED


if __name__ == "__main__":
    raise SystemExit(main())
