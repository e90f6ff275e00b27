"""Parsing and validating the client and staff directory files (pure).

They turn file bytes into Client / Staff records or raise DirectoryImportError listing every problem
with its row number (row 1 is the header, as a spreadsheet shows it); routing.directory_import writes
them. Files are UTF-8 (with or without a BOM) or GB18030 (routing.directory_rows.decode).

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

from collections.abc import Iterable, Mapping, Sequence

from routing.directory_rows import (
    DirectoryImportError,
    ImportProblem,
    check,
    duplicates,
    optional,
    parse_bool,
    parse_concurrency,
    parse_identifier,
    parse_practice_number,
    parse_required,
    parse_role,
    parse_skills,
    problem_order,
    read_rows,
    row_number,
)
from routing.models import Client, QueueName, Role, Staff

STAFF_REQUIRED = ("id", "name", "role", "skills", "max_concurrency", "branch")
STAFF_OPTIONAL = ("practice_number", "backup_id", "wecom_user_id", "active")
CLIENT_REQUIRED = ("id", "name", "tier", "vip", "branch", "responder_id")
CLIENT_OPTIONAL = ("wecom_id",)

RESPONDER_ROLES = frozenset({Role.RESPONDER, Role.DUTY_MANAGER})


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
            parsed.append((row_number(row), member))
    problems += duplicates(rows, "id", "staff id") + duplicates(rows, "wecom_user_id", "wecom_user_id")
    problems += _staff_reference_problems(parsed, existing or {})
    if problems:
        raise DirectoryImportError("staff file", sorted(problems, key=problem_order))
    return [member for _, member in parsed]


def parse_active(value: str | None, stored: Staff | None) -> bool:
    """The `active` column (true/false); blank or absent keeps the stored flag, and a new member is active."""
    if value is None or not value.strip():
        return stored.active if stored else True
    return parse_bool(value.strip(), "active")


def _parse_staff_row(row: Mapping[str, str], problems: list[ImportProblem], stored: Staff | None) -> Staff | None:
    number = row_number(row)
    before = len(problems)
    staff_id = check(problems, number, lambda: parse_identifier(row["id"], "id"))
    name = check(problems, number, lambda: parse_required(row["name"], "name"))
    role = check(problems, number, lambda: parse_role(row["role"]))
    concurrency = check(problems, number, lambda: parse_concurrency(row["max_concurrency"]))
    branch = check(problems, number, lambda: parse_required(row["branch"], "branch"))
    practice = check(problems, number, lambda: parse_practice_number(row.get("practice_number", "")))
    backup = optional(row.get("backup_id"))
    wecom = optional(row.get("wecom_user_id"))
    active = check(problems, number, lambda: parse_active(row.get("active"), stored))
    skills = None
    if role is not None:
        skills = check(problems, number, lambda: parse_skills(row["skills"], role))
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
    problems += duplicates(rows, "id", "client id") + duplicates(rows, "wecom_id", "wecom_id")
    in_file = {client.id for client in clients}
    wecom_owner = {c.wecom_id: c.id for c in existing if c.wecom_id and c.id not in in_file}
    for row in rows:
        owner = wecom_owner.get(row.get("wecom_id", ""))
        if owner is not None and owner != row["id"]:
            problems.append(
                ImportProblem(row_number(row), f"wecom_id {row['wecom_id']!r} already belongs to client {owner!r}")
            )
    if problems:
        raise DirectoryImportError("clients file", sorted(problems, key=problem_order))
    return clients


def _parse_client_row(
    row: Mapping[str, str], staff: Mapping[str, Staff], problems: list[ImportProblem]
) -> Client | None:
    number = row_number(row)
    before = len(problems)
    client_id = check(problems, number, lambda: parse_identifier(row["id"], "id"))
    name = check(problems, number, lambda: parse_required(row["name"], "name"))
    tier = check(problems, number, lambda: parse_required(row["tier"], "tier", max_length=32))
    vip = check(problems, number, lambda: parse_bool(row["vip"], "vip"))
    branch = check(problems, number, lambda: parse_required(row["branch"], "branch"))
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
        wecom_id=optional(row.get("wecom_id")),
    )
