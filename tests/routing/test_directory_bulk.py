"""A branch-sized clients file on PostgreSQL: 50,000 rows in chunked upserts, one transaction."""

from __future__ import annotations

from typing import Any

import pytest

from routing import sql_rows
from routing.directory_import import DirectoryImportError, import_clients, import_staff
from routing.models import Client
from routing.sql_directory import UPSERT_PARAMETERS
from routing.sql_record import SqlRecord
from tests.routing.test_directory_import import CLIENT_HEADER, GOOD_STAFF, STAFF_HEADER, csv_bytes

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CLIENTS = 50_000


@pytest.fixture
def backend() -> str:
    return "postgres"


def clients_file(name: str) -> bytes:
    rows = [f"K{i:05d},{name}{i},普通,{'true' if i % 50 == 0 else 'false'},上海,rsp1,wm{i}" for i in range(CLIENTS)]
    return csv_bytes(CLIENT_HEADER, rows)


async def test_fifty_thousand_clients_in_one_transaction(sql_record: SqlRecord, monkeypatch) -> None:
    assert CLIENTS * len(sql_rows.client_to_row(Client("k", "n", "t", False, "b", "r"))) > 32_767 > UPSERT_PARAMETERS
    await import_staff(sql_record, csv_bytes(STAFF_HEADER, GOOD_STAFF))
    imported = await import_clients(sql_record, clients_file("客户"))
    assert len(imported) == CLIENTS
    stored = await sql_record.list_clients()
    assert len(stored) == CLIENTS and stored[-1] == imported[-1]

    real = sql_rows.client_to_row

    def refused_late(client: Client) -> dict[str, Any]:  # the last chunk breaks a NOT NULL constraint
        row = real(client)
        return {**row, "name": None} if client.id == f"K{CLIENTS - 1:05d}" else row

    monkeypatch.setattr(sql_rows, "client_to_row", refused_late)
    with pytest.raises(DirectoryImportError) as error:
        await import_clients(sql_record, clients_file("改名"))
    message = str(error.value)
    assert "clients file rejected, nothing imported" in message and "the database refused the write" in message
    assert len(message) < 1000  # the driver's reason, not 50,000 rows of parameters
    assert await sql_record.list_clients() == stored  # the earlier chunks were rolled back with it
