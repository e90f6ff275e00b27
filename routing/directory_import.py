"""Importing the client and staff directory from CSV files, all or nothing.

Parsing and validation are pure: they turn file bytes into Client / Staff records or raise
DirectoryImportError listing every problem with its row number (row 1 is the header, as a
spreadsheet shows it). The import functions then write through the Record port in one
transaction, so a rejected file leaves the stored directory as it was.

Files are UTF-8 (a BOM, as Excel's "CSV UTF-8" writes, is accepted).

Staff columns: id, name, role, skills, max_concurrency, branch (required); practice_number,
backup_id, wecom_user_id, active (optional). Rules: role is one of advisor, service, responder,
duty_manager, admin; skills is "advisor", "service" or "advisor|service" (empty means the role's
own queue for advisors and service staff); only licensed staff answer investment questions, so
whoever has the advisor skill needs a practice number (S + 13 digits, e.g. S0570120080012); a
backup must be another known staff member, and a responder's backup must be a responder or a
duty manager; every branch with responders needs a duty manager (the last rung of the ladder).
A blank or absent `active` keeps the stored flag (a member disabled with `disable-staff` stays so).

Client columns: id, name, tier, vip, branch, responder_id (required); wecom_id (optional).
Rules: vip is true/false (also 1/0, yes/no, 是/否); the responder must be a known staff member
with role responder or duty_manager.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from routing.models import Client, QueueName, Role, Staff
from routing.passwords import hash_password_async
from routing.records import Record

T = TypeVar("T")

STAFF_REQUIRED = ("id", "name", "role", "skills", "max_concurrency", "branch")
STAFF_OPTIONAL = ("practice_number", "backup_id", "wecom_user_id", "active")
CLIENT_REQUIRED = ("id", "name", "tier", "vip", "branch", "responder_id")
CLIENT_OPTIONAL = ("wecom_id",)

RESPONDER_ROLES = frozenset({Role.RESPONDER, Role.DUTY_MANAGER})
DEFAULT_SKILLS = {Role.ADVISOR: frozenset({QueueName.ADVISOR}), Role.SERVICE: frozenset({QueueName.SERVICE})}
PRACTICE_NUMBER = re.compile(r"S\d{13}")
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否"})

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_STAFF_CSV = DATA_DIR / "demo_staff.csv"
DEMO_CLIENTS_CSV = DATA_DIR / "demo_clients.csv"
DEMO_PASSWORD = "demo1234"


@dataclass(frozen=True)
class ImportProblem:
    """One reason a file was rejected; row None means the whole file."""

    row: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.row is None else f"row {self.row}: {self.message}"


class DirectoryImportError(ValueError):
    """The file was rejected; `problems` lists every reason found."""

    def __init__(self, what: str, problems: Sequence[ImportProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{what} rejected, nothing imported ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class DemoSeed:
    """What seed_demo wrote."""

    staff: int
    clients: int
    passwords: int


# --- reading -----------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DirectoryImportError(
            "file",
            [ImportProblem(line, f"not UTF-8 (byte {error.start}); save the file as 'CSV UTF-8'")],
        ) from error


def read_rows(data: bytes, required: Sequence[str], optional: Sequence[str], what: str) -> list[dict[str, str]]:
    """Decode and split a CSV file into rows keyed by column, checking the header."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = list(reader)
    except csv.Error as error:
        raise DirectoryImportError(what, [ImportProblem(reader.line_num, f"malformed CSV: {error}")]) from error
    if not records or not any(cell.strip() for cell in records[0]):
        raise DirectoryImportError(what, [ImportProblem(None, "the file is empty (no header row)")])
    header = [cell.strip().lower() for cell in records[0]]
    problems = _header_problems(header, required, optional)
    if problems:
        raise DirectoryImportError(what, problems)
    rows: list[dict[str, str]] = []
    for index, cells in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.append(ImportProblem(index, f"has {len(cells)} fields, the header has {len(header)}"))
            continue
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        row["__row__"] = str(index)
        rows.append(row)
    if problems:
        raise DirectoryImportError(what, problems)
    if not rows:
        raise DirectoryImportError(what, [ImportProblem(None, "the file has a header but no rows")])
    return rows


def _header_problems(header: list[str], required: Sequence[str], optional: Sequence[str]) -> list[ImportProblem]:
    problems = [ImportProblem(1, f"missing column {name!r}") for name in required if name not in header]
    known = set(required) | set(optional)
    problems += [ImportProblem(1, f"unknown column {name!r}") for name in header if name and name not in known]
    problems += [ImportProblem(1, f"column {name!r} appears twice") for name, n in Counter(header).items() if n > 1]
    return problems


def _row_number(row: Mapping[str, str]) -> int:
    return int(row["__row__"])


def _check(problems: list[ImportProblem], row: int, parse: Callable[[], T]) -> T | None:
    try:
        return parse()
    except ValueError as error:
        problems.append(ImportProblem(row, str(error)))
        return None


# --- field parsers -------------------------------------------------------------------------------


def parse_identifier(value: str, column: str) -> str:
    """A directory id: letters, digits and _.@- (at most 64 characters)."""
    if not value:
        raise ValueError(f"{column} is empty")
    if not IDENTIFIER.fullmatch(value):
        raise ValueError(f"{column} {value!r} must be letters, digits or _.@- (at most 64 characters)")
    return value


def parse_required(value: str, column: str, max_length: int = 100) -> str:
    """A non-empty text field."""
    if not value:
        raise ValueError(f"{column} is empty")
    if len(value) > max_length:
        raise ValueError(f"{column} is longer than {max_length} characters")
    return value


def parse_bool(value: str, column: str) -> bool:
    """true/false, 1/0, yes/no, y/n or 是/否 (any case)."""
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{column} {value!r} is not a boolean (use true or false)")


def parse_role(value: str) -> Role:
    """One of the staff roles."""
    try:
        return Role(value.lower())
    except ValueError:
        allowed = ", ".join(role.value for role in Role)
        raise ValueError(f"role {value!r} is not one of {allowed}") from None


def parse_skills(value: str, role: Role) -> frozenset[QueueName]:
    """Queues a staff member serves, "|"-separated; empty means the role's own queue."""
    parts = [part.strip().lower() for part in value.split("|") if part.strip()]
    if not parts:
        return DEFAULT_SKILLS.get(role, frozenset())
    skills: set[QueueName] = set()
    for part in parts:
        try:
            skills.add(QueueName(part))
        except ValueError:
            raise ValueError(f"skill {part!r} is not one of advisor, service") from None
    return frozenset(skills)


def parse_concurrency(value: str) -> int:
    """A positive whole number of simultaneous conversations."""
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"max_concurrency {value!r} is not a whole number") from None
    if number <= 0:
        raise ValueError(f"max_concurrency must be positive, got {number}")
    return number


def parse_practice_number(value: str) -> str | None:
    """An SAC practice number such as S0570120080012, or None when empty."""
    if not value:
        return None
    if not PRACTICE_NUMBER.fullmatch(value.upper()):
        raise ValueError(f"practice_number {value!r} must be S followed by 13 digits")
    return value.upper()


def _optional(value: str | None) -> str | None:
    return value or None


# --- staff -------------------------------------------------------------------------------------


def parse_staff_csv(data: bytes, existing: Mapping[str, Staff] | None = None) -> list[Staff]:
    """Validated staff records from CSV bytes; DirectoryImportError lists every problem.

    `existing` is the stored directory: backups may name staff kept there but not in the file.
    """
    rows = read_rows(data, STAFF_REQUIRED, STAFF_OPTIONAL, "staff file")
    problems: list[ImportProblem] = []
    parsed: list[tuple[int, Staff]] = []
    for row in rows:
        member = _parse_staff_row(row, problems, (existing or {}).get(row.get("id", "").strip()))
        if member is not None:
            parsed.append((_row_number(row), member))
    problems += _duplicates(rows, "id", "staff id") + _duplicates(rows, "wecom_user_id", "wecom_user_id")
    problems += _staff_reference_problems(parsed, existing or {})
    if problems:
        raise DirectoryImportError("staff file", sorted(problems, key=_problem_order))
    return [member for _, member in parsed]


def parse_active(value: str | None, stored: Staff | None) -> bool:
    """The `active` column (true/false); blank or absent keeps the stored flag, and a new member is active."""
    if value is None or not value.strip():
        return stored.active if stored else True
    return parse_bool(value.strip(), "active")


def _parse_staff_row(row: Mapping[str, str], problems: list[ImportProblem], stored: Staff | None) -> Staff | None:
    number = _row_number(row)
    before = len(problems)
    staff_id = _check(problems, number, lambda: parse_identifier(row["id"], "id"))
    name = _check(problems, number, lambda: parse_required(row["name"], "name"))
    role = _check(problems, number, lambda: parse_role(row["role"]))
    concurrency = _check(problems, number, lambda: parse_concurrency(row["max_concurrency"]))
    branch = _check(problems, number, lambda: parse_required(row["branch"], "branch"))
    practice = _check(problems, number, lambda: parse_practice_number(row.get("practice_number", "")))
    backup = _optional(row.get("backup_id"))
    wecom = _optional(row.get("wecom_user_id"))
    active = _check(problems, number, lambda: parse_active(row.get("active"), stored))
    skills = None
    if role is not None:
        skills = _check(problems, number, lambda: parse_skills(row["skills"], role))
    if skills and QueueName.ADVISOR in skills and practice is None and len(problems) == before:
        problems.append(ImportProblem(number, "the advisor skill needs a practice_number (licensed advisors only)"))
    if backup is not None and backup == staff_id:
        problems.append(ImportProblem(number, "backup_id is the staff member themselves"))
    if len(problems) > before:
        return None
    assert staff_id and name and role and concurrency and branch and skills is not None
    return Staff(
        id=staff_id,
        name=name,
        role=role,
        skills=skills,
        max_concurrency=concurrency,
        branch=branch,
        practice_number=practice,
        backup_id=backup,
        wecom_user_id=wecom,
        active=bool(active),
    )


def _staff_reference_problems(
    parsed: Sequence[tuple[int, Staff]], existing: Mapping[str, Staff]
) -> list[ImportProblem]:
    known = dict(existing) | {member.id: member for _, member in parsed}
    problems: list[ImportProblem] = []
    for number, member in parsed:
        if member.backup_id is None:
            continue
        backup = known.get(member.backup_id)
        if backup is None:
            problems.append(ImportProblem(number, f"unknown backup_id {member.backup_id!r}"))
        elif member.role is Role.RESPONDER and backup.role not in RESPONDER_ROLES:
            problems.append(
                ImportProblem(number, f"a responder's backup must be a responder or duty_manager, not {backup.role}")
            )
    branches_with_responders = {m.branch for m in known.values() if m.role is Role.RESPONDER}
    branches_with_duty = {m.branch for m in known.values() if m.role is Role.DUTY_MANAGER}
    problems += [
        ImportProblem(None, f"branch {branch!r} has responders but no duty_manager")
        for branch in sorted(branches_with_responders - branches_with_duty)
    ]
    return problems


# --- clients -----------------------------------------------------------------------------------


def parse_clients_csv(data: bytes, staff: Mapping[str, Staff], existing: Iterable[Client] = ()) -> list[Client]:
    """Validated client records from CSV bytes, checked against the staff directory.

    `existing` is the stored client list: a WeCom id may not move to a different client silently.
    """
    rows = read_rows(data, CLIENT_REQUIRED, CLIENT_OPTIONAL, "clients file")
    problems: list[ImportProblem] = []
    clients: list[Client] = []
    for row in rows:
        client = _parse_client_row(row, staff, problems)
        if client is not None:
            clients.append(client)
    problems += _duplicates(rows, "id", "client id") + _duplicates(rows, "wecom_id", "wecom_id")
    in_file = {client.id for client in clients}
    wecom_owner = {c.wecom_id: c.id for c in existing if c.wecom_id and c.id not in in_file}
    for row in rows:
        owner = wecom_owner.get(row.get("wecom_id", ""))
        if owner is not None and owner != row["id"]:
            problems.append(
                ImportProblem(_row_number(row), f"wecom_id {row['wecom_id']!r} already belongs to client {owner!r}")
            )
    if problems:
        raise DirectoryImportError("clients file", sorted(problems, key=_problem_order))
    return clients


def _parse_client_row(
    row: Mapping[str, str], staff: Mapping[str, Staff], problems: list[ImportProblem]
) -> Client | None:
    number = _row_number(row)
    before = len(problems)
    client_id = _check(problems, number, lambda: parse_identifier(row["id"], "id"))
    name = _check(problems, number, lambda: parse_required(row["name"], "name"))
    tier = _check(problems, number, lambda: parse_required(row["tier"], "tier", max_length=32))
    vip = _check(problems, number, lambda: parse_bool(row["vip"], "vip"))
    branch = _check(problems, number, lambda: parse_required(row["branch"], "branch"))
    responder_id = row["responder_id"]
    responder = staff.get(responder_id)
    if not responder_id:
        problems.append(ImportProblem(number, "responder_id is empty"))
    elif responder is None:
        problems.append(ImportProblem(number, f"unknown responder_id {responder_id!r} (import the staff first)"))
    elif responder.role not in RESPONDER_ROLES:
        problems.append(
            ImportProblem(
                number,
                f"responder_id {responder_id!r} has role {responder.role}, not responder or duty_manager",
            )
        )
    if len(problems) > before:
        return None
    assert client_id and name and tier and vip is not None and branch
    return Client(
        id=client_id,
        name=name,
        tier=tier,
        vip=vip,
        branch=branch,
        responder_id=responder_id,
        wecom_id=_optional(row.get("wecom_id")),
    )


def _duplicates(rows: Sequence[Mapping[str, str]], column: str, label: str) -> list[ImportProblem]:
    first_seen: dict[str, int] = {}
    problems: list[ImportProblem] = []
    for row in rows:
        value = row.get(column, "")
        if not value:
            continue
        number = _row_number(row)
        if value in first_seen:
            problems.append(ImportProblem(number, f"duplicate {label} {value!r} (first on row {first_seen[value]})"))
        else:
            first_seen[value] = number
    return problems


def _problem_order(problem: ImportProblem) -> tuple[int, str]:
    return (problem.row if problem.row is not None else 0, problem.message)


# --- writing through the record ------------------------------------------------------------------


async def import_staff(record: Record, data: bytes, actor: str = "cli", source: str = "staff.csv") -> list[Staff]:
    """Validate and upsert a staff file in one transaction; audit who imported what."""
    existing = {member.id: member for member in await record.list_staff()}
    staff = parse_staff_csv(data, existing)
    await record.replace_staff(staff)
    await record.audit(actor, "import_staff", source, {"count": len(staff)}, datetime.now(UTC))
    return staff


async def import_clients(record: Record, data: bytes, actor: str = "cli", source: str = "clients.csv") -> list[Client]:
    """Validate and upsert a clients file in one transaction; audit who imported what."""
    staff = {member.id: member for member in await record.list_staff()}
    clients = parse_clients_csv(data, staff, await record.list_clients())
    await record.replace_clients(clients)
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
