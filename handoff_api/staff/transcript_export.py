"""A compliance export of one transcript as CSV, plain text or JSON (full text: it is the record produced on request).

Each line: the time in the branch's time zone, the sender, the tier and who served it (staff name and
practice number, 执业证书编号), and the text. CSV starts with a byte-order mark so spreadsheet programs read
it as UTF-8, and a cell that would start a formula (= + - @) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum

from routing.models import SenderKind
from routing.service.compliance import TranscriptExport, TranscriptLine

SENDER_LABELS = {
    SenderKind.CLIENT: "客户",
    SenderKind.BOT: "智能投顾机器人",
    SenderKind.AGENT: "在线坐席",
    SenderKind.RESPONDER: "专属响应人",
    SenderKind.SYSTEM: "系统",
}
CSV_HEADER = ("序号", "时间", "发送方", "服务层级", "服务人员", "执业证书编号", "内容")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    """The file formats of an export."""

    CSV = "csv"
    TXT = "txt"
    JSON = "json"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.TXT: "text/plain; charset=utf-8",
    ExportFormat.JSON: "application/json",
}


def _cells(line: TranscriptLine) -> tuple[str, ...]:
    return (
        str(line.seq),
        line.at.isoformat(timespec="seconds"),
        SENDER_LABELS[line.sender],
        str(int(line.tier)) if line.tier is not None else "",
        line.staff_name or "",
        line.practice_number or "",
        line.text,
    )


def _safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def as_csv(export: TranscriptExport) -> str:
    """One row per message under a Chinese header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in export.lines:
        writer.writerow([_safe_cell(cell) for cell in _cells(line)])
    return "\ufeff" + buffer.getvalue()


def _who(line: TranscriptLine) -> str:
    if line.staff_name is None:
        return SENDER_LABELS[line.sender]
    number = f"（执业证书编号：{line.practice_number}）" if line.practice_number else ""
    return f"{SENDER_LABELS[line.sender]} {line.staff_name}{number}"


def as_text(export: TranscriptExport) -> str:
    """A readable transcript: a heading, then `[time] who: text` per message."""
    conversation = export.conversation
    heading = [
        f"会话 {conversation.id}",
        f"客户 {export.client.name}（{export.client.id}）",
        f"渠道 {conversation.channel.value}，创建于 {export.lines[0].at.isoformat(timespec='seconds')}"
        if export.lines
        else f"渠道 {conversation.channel.value}",
        "",
    ]
    body = [f"[{line.at.isoformat(timespec='seconds')}] {_who(line)}：{line.text}" for line in export.lines]
    return "\n".join(heading + body) + "\n"


def as_json(export: TranscriptExport) -> str:
    """The conversation, its client and every message with who served it."""
    conversation = export.conversation
    document = {
        "conversation": {
            "id": conversation.id,
            "client_id": conversation.client_id,
            "channel": conversation.channel.value,
            "state": conversation.state.value,
            "created_at": conversation.created_at.isoformat(),
        },
        "client": {"id": export.client.id, "name": export.client.name, "branch": export.client.branch},
        "messages": [
            {
                "seq": line.seq,
                "at": line.at.isoformat(timespec="seconds"),
                "sender": line.sender.value,
                "tier": int(line.tier) if line.tier is not None else None,
                "staff_id": line.staff_id,
                "staff_name": line.staff_name,
                "practice_number": line.practice_number,
                "text": line.text,
            }
            for line in export.lines
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def render_export(export: TranscriptExport, file_format: ExportFormat) -> str:
    """The export in one of the formats."""
    if file_format is ExportFormat.CSV:
        return as_csv(export)
    if file_format is ExportFormat.TXT:
        return as_text(export)
    return as_json(export)
