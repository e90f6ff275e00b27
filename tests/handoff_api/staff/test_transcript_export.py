"""Transcript files: CSV guards formulas and reads as UTF-8, text names who served, JSON keeps every field."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone

from handoff_api.staff.transcript_export import ExportFormat, render_export
from routing.models import Channel, Client, Conversation, ConversationState, SenderKind, Tier
from routing.service.compliance import TranscriptExport, TranscriptLine

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 12, 2, 1, 2, 3, tzinfo=UTC).astimezone(SHANGHAI)


def export(*texts: str) -> TranscriptExport:
    conversation = Conversation("cv1", "k1", Channel.WIDGET, ConversationState.CLOSED, Tier.ONLINE, AT, AT)
    client = Client("k1", "林婉清", "gold", False, "上海", "r1")
    lines = (
        TranscriptLine(1, AT, SenderKind.CLIENT, None, None, None, None, texts[0]),
        TranscriptLine(2, AT, SenderKind.AGENT, Tier.ONLINE, "adv01", "张伟", "S0570120080012", texts[1]),
    )
    return TranscriptExport(conversation, client, lines)


def test_csv_starts_with_a_bom_and_defuses_formulas() -> None:
    text = render_export(export("=HYPERLINK(1)", "您好"), ExportFormat.CSV)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[1] == ["1", "2026-12-02T09:02:03+08:00", "客户", "", "", "", "'=HYPERLINK(1)"]
    assert rows[2] == ["2", "2026-12-02T09:02:03+08:00", "在线坐席", "2", "张伟", "S0570120080012", "您好"]


def test_text_names_the_client_and_who_served() -> None:
    text = render_export(export("问", "答"), ExportFormat.TXT)
    assert "客户 林婉清（k1）" in text
    assert "[2026-12-02T09:02:03+08:00] 客户：问" in text
    assert "[2026-12-02T09:02:03+08:00] 在线坐席 张伟（执业证书编号：S0570120080012）：答" in text


def test_json_keeps_the_text_exactly() -> None:
    document = json.loads(render_export(export("=1+1", "答"), ExportFormat.JSON))
    assert [m["text"] for m in document["messages"]] == ["=1+1", "答"]
    assert document["messages"][1]["practice_number"] == "S0570120080012"
