"""Importing the client and staff directory from CSV files, all or nothing.

Parsing and validation are pure (routing.directory_parse, on routing.directory_rows): a rejected file
raises DirectoryImportError listing every problem. The import functions here write the validated
records through the Record port in one transaction (chunked upserts on SQL), so a rejected file, or
a write the database refuses, leaves the stored directory as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from routing.directory_parse import (
    CLIENT_OPTIONAL,
    CLIENT_REQUIRED,
    RESPONDER_ROLES,
    STAFF_OPTIONAL,
    STAFF_REQUIRED,
    parse_clients_csv,
    parse_staff_csv,
)
from routing.directory_rows import (
    DirectoryImportError,
    ImportProblem,
    parse_bool,
    parse_concurrency,
    parse_identifier,
    parse_practice_number,
    parse_required,
    parse_role,
    parse_skills,
    read_rows,
)
from routing.models import Client, Staff
from routing.passwords import hash_password_async
from routing.records import Record

__all__ = [
    "CLIENT_OPTIONAL",
    "CLIENT_REQUIRED",
    "DEMO_CLIENTS_CSV",
    "DEMO_PASSWORD",
    "DEMO_STAFF_CSV",
    "RESPONDER_ROLES",
    "STAFF_OPTIONAL",
    "STAFF_REQUIRED",
    "DemoSeed",
    "DirectoryImportError",
    "ImportProblem",
    "import_clients",
    "import_staff",
    "parse_bool",
    "parse_clients_csv",
    "parse_concurrency",
    "parse_identifier",
    "parse_practice_number",
    "parse_required",
    "parse_role",
    "parse_skills",
    "parse_staff_csv",
    "read_rows",
    "seed_demo",
    "set_staff_password",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_STAFF_CSV = DATA_DIR / "demo_staff.csv"
DEMO_CLIENTS_CSV = DATA_DIR / "demo_clients.csv"
DEMO_PASSWORD = "demo1234"


@dataclass(frozen=True)
class DemoSeed:
    """What seed_demo wrote."""

    staff: int
    clients: int
    passwords: int


async def _write(what: str, writing: Awaitable[None]) -> None:
    """Run one all-or-nothing directory write; a refusal by the database becomes a clear rejection."""
    try:
        await writing
    except Exception as error:  # the adapter's own error (a constraint, a lost connection): rolled back
        cause = getattr(error, "orig", None) or error  # the driver's error, without the statement and parameters
        problem = ImportProblem(None, f"the database refused the write ({type(cause).__name__}: {str(cause)[:300]})")
        raise DirectoryImportError(what, [problem]) from error


async def import_staff(record: Record, data: bytes, actor: str = "cli", source: str = "staff.csv") -> list[Staff]:
    """Validate and upsert a staff file in one transaction; audit who imported what."""
    existing = {member.id: member for member in await record.list_staff()}
    staff = parse_staff_csv(data, existing)
    await _write("staff file", record.replace_staff(staff))
    await record.audit(actor, "import_staff", source, {"count": len(staff)}, datetime.now(UTC))
    return staff


async def import_clients(record: Record, data: bytes, actor: str = "cli", source: str = "clients.csv") -> list[Client]:
    """Validate and upsert a clients file in one transaction; audit who imported what."""
    staff = {member.id: member for member in await record.list_staff()}
    clients = parse_clients_csv(data, staff, await record.list_clients())
    await _write("clients file", record.replace_clients(clients))
    await record.audit(actor, "import_clients", source, {"count": len(clients)}, datetime.now(UTC))
    return clients


async def set_staff_password(record: Record, staff_id: str, password: str, actor: str = "cli") -> None:
    """Hash and store a staff member's password (NotFound for unknown staff, WeakPassword if too weak)."""
    password_hash = await hash_password_async(password)
    await record.set_password_hash(staff_id, password_hash)
    await record.audit(actor, "set_password", f"staff:{staff_id}", {}, datetime.now(UTC))


async def seed_demo(record: Record, password: str = DEMO_PASSWORD, actor: str = "seed-demo") -> DemoSeed:
    """Import the shipped demo staff and clients and give every demo staff member `password`.

    For development only; safe to run repeatedly.
    """
    staff = await import_staff(record, DEMO_STAFF_CSV.read_bytes(), actor, DEMO_STAFF_CSV.name)
    clients = await import_clients(record, DEMO_CLIENTS_CSV.read_bytes(), actor, DEMO_CLIENTS_CSV.name)
    password_hash = await hash_password_async(password)  # one hash for all: the demo password is shared anyway
    for member in staff:
        await record.set_password_hash(member.id, password_hash)
    await record.audit(actor, "seed_demo_passwords", "staff", {"count": len(staff)}, datetime.now(UTC))
    return DemoSeed(staff=len(staff), clients=len(clients), passwords=len(staff))
