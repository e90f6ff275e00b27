"""Directory import: validation with row numbers, all-or-nothing writes, demo seed."""

from __future__ import annotations

import pytest

from routing.directory_import import (
    DEMO_CLIENTS_CSV,
    DEMO_PASSWORD,
    DEMO_STAFF_CSV,
    DirectoryImportError,
    import_clients,
    import_staff,
    parse_clients_csv,
    parse_staff_csv,
    seed_demo,
    set_staff_password,
)
from routing.errors import NotFound
from routing.models import Client, QueueName, Role, Staff
from routing.passwords import WeakPassword, verify_password
from routing.sql_record import SqlRecord

STAFF_HEADER = "id,name,role,skills,max_concurrency,practice_number,backup_id,branch,wecom_user_id"
GOOD_STAFF = [
    "adv1,张伟,advisor,advisor,5,S0570120080012,,上海,zhangwei",
    "svc1,刘洋,service,,8,,,上海,",
    "rsp1,赵磊,responder,,10,,rsp2,上海,",
    "rsp2,黄敏,responder,,10,,dm1,上海,",
    "dm1,孙丽,duty_manager,advisor|service,12,S0570115020016,,上海,",
]
CLIENT_HEADER = "id,name,tier,vip,branch,responder_id,wecom_id"
GOOD_CLIENTS = ["K1,陈晓明,钻石,true,上海,rsp1,wm1", "K2,林婉清,普通,否,上海,dm1,"]


def csv_bytes(header: str, rows: list[str], encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def staff_directory() -> dict[str, Staff]:
    return {member.id: member for member in parse_staff_csv(csv_bytes(STAFF_HEADER, GOOD_STAFF))}


def problems_of(error: pytest.ExceptionInfo[DirectoryImportError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


# --- staff parsing ---


def test_good_staff_file_parses_with_defaults() -> None:
    staff = staff_directory()
    assert staff["adv1"] == Staff(
        id="adv1",
        name="张伟",
        role=Role.ADVISOR,
        skills=frozenset({QueueName.ADVISOR}),
        max_concurrency=5,
        branch="上海",
        practice_number="S0570120080012",
        wecom_user_id="zhangwei",
    )
    assert staff["svc1"].skills == frozenset({QueueName.SERVICE})
    assert staff["rsp1"].skills == frozenset() and staff["rsp1"].backup_id == "rsp2"
    assert staff["dm1"].skills == frozenset({QueueName.ADVISOR, QueueName.SERVICE})


def test_staff_file_with_bom_crlf_and_column_order_changes() -> None:
    header = "name,id,role,skills,max_concurrency,branch"
    data = "\ufeff" + header + "\r\n" + "陈静,svc2,SERVICE,service,3,北京\r\n"
    [member] = parse_staff_csv(data.encode("utf-8"), staff_directory())
    assert (member.id, member.role, member.practice_number, member.backup_id) == (
        "svc2",
        Role.SERVICE,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("x1,某,cashier,,5,,,上海,", "row 7: role 'cashier' is not one of advisor, service, responder"),
        ("x1,某,service,trading,5,,,上海,", "row 7: skill 'trading' is not one of advisor, service"),
        ("x1,某,service,,0,,,上海,", "row 7: max_concurrency must be positive, got 0"),
        ("x1,某,service,,-3,,,上海,", "row 7: max_concurrency must be positive, got -3"),
        ("x1,某,service,,many,,,上海,", "row 7: max_concurrency 'many' is not a whole number"),
        ("x1,某,service,,5,,ghost,上海,", "row 7: unknown backup_id 'ghost'"),
        ("x1,某,service,,5,,x1,上海,", "row 7: backup_id is the staff member themselves"),
        ("x1,某,advisor,,5,,,上海,", "row 7: the advisor skill needs a practice_number"),
        ("x1,某,service,advisor|service,5,,,上海,", "row 7: the advisor skill needs a practice_number"),
        ("x1,某,advisor,,5,12345,,上海,", "row 7: practice_number '12345' must be S followed by 13 digits"),
        ("x1,某,responder,,5,,svc1,上海,", "row 7: a responder's backup must be a responder or duty_manager"),
        ("x1,,service,,5,,,上海,", "row 7: name is empty"),
        (",某,service,,5,,,上海,", "row 7: id is empty"),
        ("x 1,某,service,,5,,,上海,", "row 7: id 'x 1' must be letters, digits"),
        ("x1,某,service,,5,,,,", "row 7: branch is empty"),
        ("adv1,重复,service,,5,,,上海,", "row 7: duplicate staff id 'adv1' (first on row 2)"),
        ("x1,某,service,,5,,,上海,zhangwei", "row 7: duplicate wecom_user_id 'zhangwei' (first on row 2)"),
        ("x1,某,service,,5,,,上海", "row 7: has 8 fields, the header has 9"),
        ("x1,某,responder,,5,,,广州,", "branch '广州' has responders but no duty_manager"),
    ],
)
def test_bad_staff_rows_are_reported_with_row_numbers(row: str, expected: str) -> None:
    with pytest.raises(DirectoryImportError) as error:
        parse_staff_csv(csv_bytes(STAFF_HEADER, [*GOOD_STAFF, row]))
    assert any(problem.startswith(expected) for problem in problems_of(error)), problems_of(error)


def test_every_problem_is_listed_at_once() -> None:
    rows = ["x1,某,cashier,,5,,,上海,", "x2,某,service,,0,,,上海,", "x3,某,service,,5,,nobody,上海,"]
    with pytest.raises(DirectoryImportError) as error:
        parse_staff_csv(csv_bytes(STAFF_HEADER, [*GOOD_STAFF, *rows]))
    assert [problem.row for problem in error.value.problems] == [7, 8, 9]
    assert "nothing imported (3 problem(s))" in str(error.value)


def test_backup_may_be_a_stored_staff_member() -> None:
    existing = staff_directory()
    header = "id,name,role,skills,max_concurrency,branch,backup_id"
    [member] = parse_staff_csv(csv_bytes(header, ["rsp9,某,responder,,5,上海,rsp1"]), existing)
    assert member.backup_id == "rsp1"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty"),
        (b"id,name,role,skills,max_concurrency,branch\n", "the file has a header but no rows"),
        (b"id,name,role,skills,branch\nx,y,service,,b\n", "row 1: missing column 'max_concurrency'"),
        (b"id,name,role,skills,max_concurrency,branch,nickname\n", "row 1: unknown column 'nickname'"),
        (b"id,id,name,role,skills,max_concurrency,branch\n", "row 1: column 'id' appears twice"),
        (b"id,name,role,skills,max_concurrency,branch\nx,\xff\xfe,service,,5,b\n", "row 2: neither UTF-8 nor GB18030"),
        (b'id,name,role,skills,max_concurrency,branch\n"x,y', "malformed CSV"),
    ],
)
def test_unreadable_staff_files(data: bytes, expected: str) -> None:
    with pytest.raises(DirectoryImportError) as error:
        parse_staff_csv(data)
    assert any(problem.startswith(expected) or expected in problem for problem in problems_of(error)), problems_of(
        error
    )


# --- client parsing ---


def test_good_clients_parse() -> None:
    clients = parse_clients_csv(csv_bytes(CLIENT_HEADER, GOOD_CLIENTS), staff_directory())
    assert clients == [
        Client(id="K1", name="陈晓明", tier="钻石", vip=True, branch="上海", responder_id="rsp1", wecom_id="wm1"),
        Client(id="K2", name="林婉清", tier="普通", vip=False, branch="上海", responder_id="dm1"),
    ]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("K3,某,普通,maybe,上海,rsp1,", "row 4: vip 'maybe' is not a boolean"),
        ("K3,某,普通,true,上海,ghost,", "row 4: unknown responder_id 'ghost'"),
        ("K3,某,普通,true,上海,adv1,", "row 4: responder_id 'adv1' has role advisor, not responder"),
        ("K3,某,普通,true,上海,,", "row 4: responder_id is empty"),
        ("K1,某,普通,true,上海,rsp1,", "row 4: duplicate client id 'K1' (first on row 2)"),
        ("K3,某,普通,true,上海,rsp1,wm1", "row 4: duplicate wecom_id 'wm1' (first on row 2)"),
        ("K3,某,,true,上海,rsp1,", "row 4: tier is empty"),
    ],
)
def test_bad_client_rows_are_reported_with_row_numbers(row: str, expected: str) -> None:
    with pytest.raises(DirectoryImportError) as error:
        parse_clients_csv(csv_bytes(CLIENT_HEADER, [*GOOD_CLIENTS, row]), staff_directory())
    assert any(problem.startswith(expected) for problem in problems_of(error)), problems_of(error)


def test_clients_missing_column() -> None:
    with pytest.raises(DirectoryImportError) as error:
        parse_clients_csv(b"id,name,tier,vip,branch\nK1,a,b,true,c\n", staff_directory())
    assert problems_of(error) == ["row 1: missing column 'responder_id'"]


def test_wecom_id_cannot_move_silently_to_another_client() -> None:
    stored = [Client(id="K9", name="某", tier="普通", vip=False, branch="上海", responder_id="rsp1", wecom_id="wm1")]
    with pytest.raises(DirectoryImportError) as error:
        parse_clients_csv(csv_bytes(CLIENT_HEADER, GOOD_CLIENTS), staff_directory(), stored)
    assert problems_of(error) == ["row 2: wecom_id 'wm1' already belongs to client 'K9'"]


def test_demo_files_are_valid() -> None:
    staff = parse_staff_csv(DEMO_STAFF_CSV.read_bytes())
    by_role = {role: [m for m in staff if m.role is role] for role in Role}
    assert len(by_role[Role.ADVISOR]) >= 3 and len(by_role[Role.SERVICE]) >= 3
    assert len(by_role[Role.RESPONDER]) >= 3 and all(m.backup_id for m in by_role[Role.RESPONDER])
    assert len(by_role[Role.DUTY_MANAGER]) == 2 and len(by_role[Role.ADMIN]) == 1
    clients = parse_clients_csv(DEMO_CLIENTS_CSV.read_bytes(), {m.id: m for m in staff})
    assert len(clients) >= 20
    assert len({client.branch for client in clients}) == 2
    assert any(client.vip for client in clients) and any(client.wecom_id for client in clients)


# --- writing through the record (SQLite and PostgreSQL) ---


async def test_import_writes_directory_and_audits(sql_record: SqlRecord) -> None:
    staff = await import_staff(sql_record, csv_bytes(STAFF_HEADER, GOOD_STAFF), actor="admin1")
    clients = await import_clients(sql_record, csv_bytes(CLIENT_HEADER, GOOD_CLIENTS), actor="admin1")
    assert await sql_record.list_staff() == sorted(staff, key=lambda m: m.id)
    assert await sql_record.list_clients() == clients
    duty = await sql_record.duty_manager("上海")
    assert duty is not None and duty.id == "dm1"


async def test_rejected_file_leaves_directory_untouched(sql_record: SqlRecord) -> None:
    await import_staff(sql_record, csv_bytes(STAFF_HEADER, GOOD_STAFF))
    await import_clients(sql_record, csv_bytes(CLIENT_HEADER, GOOD_CLIENTS))
    staff_before = await sql_record.list_staff()
    clients_before = await sql_record.list_clients()

    renamed_staff = [row.replace("张伟", "改名") for row in GOOD_STAFF]
    with pytest.raises(DirectoryImportError) as staff_error:
        await import_staff(sql_record, csv_bytes(STAFF_HEADER, [*renamed_staff, "x1,某,service,,0,,,上海,"]))
    assert problems_of(staff_error) == ["row 7: max_concurrency must be positive, got 0"]

    renamed_clients = [row.replace("陈晓明", "改名") for row in GOOD_CLIENTS]
    with pytest.raises(DirectoryImportError) as client_error:
        await import_clients(sql_record, csv_bytes(CLIENT_HEADER, [*renamed_clients, "K3,某,普通,true,上海,ghost,"]))
    assert problems_of(client_error) == ["row 4: unknown responder_id 'ghost' (import the staff first)"]

    assert await sql_record.list_staff() == staff_before
    assert await sql_record.list_clients() == clients_before


async def test_clients_need_the_staff_imported_first(sql_record: SqlRecord) -> None:
    with pytest.raises(DirectoryImportError):
        await import_clients(sql_record, csv_bytes(CLIENT_HEADER, GOOD_CLIENTS))
    assert await sql_record.list_clients() == []


async def test_set_staff_password(sql_record: SqlRecord) -> None:
    await import_staff(sql_record, csv_bytes(STAFF_HEADER, GOOD_STAFF))
    await set_staff_password(sql_record, "adv1", "correct horse")
    assert verify_password(await sql_record.get_password_hash("adv1"), "correct horse")
    with pytest.raises(WeakPassword):
        await set_staff_password(sql_record, "adv1", "short")
    with pytest.raises(NotFound):
        await set_staff_password(sql_record, "ghost", "long enough")


async def test_seed_demo_is_repeatable_and_sets_passwords(sql_record: SqlRecord) -> None:
    first = await seed_demo(sql_record)
    second = await seed_demo(sql_record)
    assert first == second
    assert first.staff == len(await sql_record.list_staff()) == 13
    assert first.clients == len(await sql_record.list_clients()) == 20
    hashes = {await sql_record.get_password_hash(member.id) for member in await sql_record.list_staff()}
    assert None not in hashes
    assert all(verify_password(password_hash, DEMO_PASSWORD) for password_hash in hashes)
    assert not verify_password(hashes.pop(), "wrong password")
    client = await sql_record.get_client_by_wecom("wm_demo_c10001")
    assert client is not None and client.vip
