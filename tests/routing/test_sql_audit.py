"""The hash-chained audit log in SQL (SQLite and PostgreSQL): tampering is found and named, appends stay one chain.

The tamper tests act as someone with database rights would: they lift the append-only triggers first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from routing import sql_tables as t
from routing.audit import next_link
from routing.sql_audit import AuditLogReader
from routing.sql_engine import create_engine_for, downgrade, migrate_async
from routing.sql_record import SqlRecord

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def write_entries(record: SqlRecord, count: int, actor: str = "adv01") -> None:
    for number in range(count):
        detail: dict[str, object] = {"n": number, "client_id": f"C{number:05d}", "ratio": number / 4}
        await record.audit(actor, "conversation.open", f"c{number}", detail, at(number))


async def entry_ids(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(t.audit_log.c.id).order_by(t.audit_log.c.seq))).scalars())


@asynccontextmanager
async def without_guards(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction in which the append-only triggers are lifted (and put back afterwards)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            yield conn
            await conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
            return
        triggers = (
            await conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
            )
        ).all()
        for name, _ in triggers:
            await conn.execute(text(f"DROP TRIGGER {name}"))
        yield conn
        for _, sql in triggers:
            await conn.execute(text(sql))


async def test_appends_form_one_chain_that_verifies(sql_record: SqlRecord) -> None:
    reader = AuditLogReader(sql_record.engine)
    assert (await reader.verify()).ok and (await reader.verify()).count == 0
    await write_entries(sql_record, 5)
    report = await reader.verify()
    assert (report.ok, report.count, report.head_seq) == (True, 5, 5)
    latest = await reader.latest(2)
    assert [entry.seq for entry in latest] == [4, 5]
    assert latest[-1].hash == report.head_hash and latest[-1].prev_hash == latest[0].hash
    assert latest[-1].detail == {"n": 4, "client_id": "C00004", "ratio": 1}  # 1.0 stored as 1, so it hashes alike


async def test_a_changed_detail_is_found_and_named(sql_record: SqlRecord) -> None:
    await write_entries(sql_record, 4)
    target = (await entry_ids(sql_record.engine))[2]
    async with without_guards(sql_record.engine) as conn:
        await conn.execute(t.audit_log.update().where(t.audit_log.c.id == target).values(detail={"n": 99}))
    report = await AuditLogReader(sql_record.engine).verify()
    assert (report.ok, report.broken_id, report.broken_seq) == (False, target, 3)
    assert "changed" in (report.problem or "")


async def test_a_deleted_row_is_found_and_the_entry_after_it_named(sql_record: SqlRecord) -> None:
    await write_entries(sql_record, 4)
    ids = await entry_ids(sql_record.engine)
    async with without_guards(sql_record.engine) as conn:
        await conn.execute(t.audit_log.delete().where(t.audit_log.c.id == ids[1]))
    report = await AuditLogReader(sql_record.engine).verify()
    assert (report.ok, report.broken_id, report.broken_seq) == (False, ids[2], 3)
    assert "deleted" in (report.problem or "")


async def test_the_last_row_deleted_is_found_by_the_chain_head(sql_record: SqlRecord) -> None:
    await write_entries(sql_record, 3)
    ids = await entry_ids(sql_record.engine)
    async with without_guards(sql_record.engine) as conn:
        await conn.execute(t.audit_log.delete().where(t.audit_log.c.id == ids[-1]))
    report = await AuditLogReader(sql_record.engine).verify()
    assert not report.ok and report.broken_seq == 3 and "deleted" in (report.problem or "")


async def test_a_forged_row_is_found_and_named(sql_record: SqlRecord) -> None:
    await write_entries(sql_record, 3)
    reader = AuditLogReader(sql_record.engine)
    head_seq, head_hash = await reader.head()
    link = next_link(head_seq, head_hash, at(10), "adv09", "staff.login", "staff:adv09", {})
    forged = {
        "actor": "adv09",
        "action": "staff.login",
        "subject": "staff:adv09",
        "detail": {},
        "at": at(10),
        "seq": link.seq,
        "prev_hash": link.prev_hash,
        "hash": link.hash,
    }
    async with without_guards(sql_record.engine) as conn:  # a correct hash, but not appended through the head
        forged_id = (await conn.execute(insert(t.audit_log).values(forged).returning(t.audit_log.c.id))).scalar_one()
    report = await reader.verify()
    assert (report.ok, report.broken_id, report.broken_seq) == (False, forged_id, 4)
    assert "beyond the chain head" in (report.problem or "")


async def test_a_row_slipped_into_the_middle_is_found(sql_record: SqlRecord) -> None:
    await write_entries(sql_record, 4)
    ids = await entry_ids(sql_record.engine)
    reader = AuditLogReader(sql_record.engine)
    second = (await reader.latest(4))[1]
    link = next_link(second.seq, second.hash, at(1.5), "adv09", "data.export", "clients", {})
    async with without_guards(sql_record.engine) as conn:
        for entry_id in reversed(ids[2:]):  # make room: seq 3, 4 become 4, 5
            await conn.execute(
                t.audit_log.update().where(t.audit_log.c.id == entry_id).values(seq=t.audit_log.c.seq + 1)
            )
        await conn.execute(
            insert(t.audit_log).values(
                actor="adv09",
                action="data.export",
                subject="clients",
                detail={},
                at=at(1.5),
                seq=link.seq,
                prev_hash=link.prev_hash,
                hash=link.hash,
            )
        )
    report = await reader.verify()
    assert (report.ok, report.broken_id) == (False, ids[2])  # the first entry the forged one displaced
    assert "previous hash" in (report.problem or "")


async def test_the_chain_head_only_moves_forward(sql_record: SqlRecord) -> None:
    await write_entries(sql_record, 2)
    for statement in ("UPDATE audit_chain_head SET seq = 1", "DELETE FROM audit_chain_head"):
        async with sql_record.engine.begin() as conn:
            with pytest.raises(DBAPIError, match="only moves forward"):
                await conn.execute(text(statement))
    assert (await AuditLogReader(sql_record.engine).verify()).ok


async def test_an_anchor_noted_earlier_must_still_be_in_the_chain(sql_record: SqlRecord) -> None:
    await write_entries(sql_record, 2)
    reader = AuditLogReader(sql_record.engine)
    head = await reader.verify()
    assert (await reader.verify({head.head_seq: head.head_hash})).ok
    report = await reader.verify({head.head_seq: "0" * 64})
    assert not report.ok and "anchor" in (report.problem or "")


@pytest.mark.slow
async def test_concurrent_appends_from_two_engines_keep_one_valid_chain(migrated_database_url: str) -> None:
    engines = [create_engine_for(migrated_database_url) for _ in range(2)]
    try:
        records = [SqlRecord(engine) for engine in engines]

        async def worker(record: SqlRecord, name: str) -> None:
            for number in range(40):
                await record.audit(name, "conversation.read", f"c{number}", {"n": number}, at(number))

        await asyncio.gather(*(worker(record, f"worker{i}") for i, record in enumerate(records)))
        report = await AuditLogReader(engines[0]).verify()
        assert (report.ok, report.count, report.head_seq) == (True, 80, 80), report.problem
        async with engines[1].connect() as conn:
            actors = (await conn.execute(select(t.audit_log.c.actor, func.count()).group_by(t.audit_log.c.actor))).all()
        assert dict(actors) == {"worker0": 40, "worker1": 40}
    finally:
        for engine in engines:
            await engine.dispose()


async def test_the_migration_chains_rows_written_before_it(empty_database_url: str) -> None:
    await migrate_async(empty_database_url, "0004")
    engine = create_engine_for(empty_database_url)
    try:
        async with engine.begin() as conn:
            for number in range(3):
                await conn.execute(
                    text(
                        "INSERT INTO audit_log (actor, action, subject, detail, at) "
                        "VALUES (:actor, 'import_staff', 'staff', :detail, :at)"
                    ),
                    {
                        "actor": f"admin{number}",
                        "detail": '{"count": 2.0, "b": [1]}',
                        "at": at(number).replace(tzinfo=None),
                    },
                )
        await migrate_async(empty_database_url)
        record = SqlRecord(engine)
        reader = AuditLogReader(engine)
        report = await reader.verify()
        assert (report.ok, report.count) == (True, 3), report.problem
        assert [entry.actor for entry in await reader.latest(3)] == ["admin0", "admin1", "admin2"]
        await record.audit("adv01", "conversation.open", "c1", {}, at(5))
        assert (await reader.verify()).count == 4

        await asyncio.to_thread(downgrade, empty_database_url, "0004")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar_one() == 4
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text("DELETE FROM audit_log"))
    finally:
        await engine.dispose()
