"""A supervisor report as CSV: Chinese headers, one line per row, UTF-8 with a BOM for Excel."""

from __future__ import annotations

import csv
import io

from routing.reports import Report, ReportRow

BOM = "\ufeff"
HEADERS = (
    "编号",
    "名称",
    "接待量",
    "机器人确认解决",
    "机器人推定解决",
    "首次响应中位数(秒)",
    "等待中位数(秒)",
    "处理时长中位数(秒)",
    "超时(SLA)次数",
    "转接次数",
    "评价数",
    "平均满意度",
    "1星",
    "2星",
    "3星",
    "4星",
    "5星",
)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _line(row: ReportRow) -> list[str]:
    figures = (
        row.volume,
        row.bot_confirmed,
        row.bot_assumed,
        row.first_response_seconds,
        row.wait_seconds,
        row.handle_seconds,
        row.sla_breaches,
        row.transfers,
        row.ratings,
        row.average_rating,
        *row.rating_counts,
    )
    return [row.key, row.label, *(_cell(value) for value in figures)]


def report_csv(report: Report) -> bytes:
    """The report's rows under the header line (the file's name carries the range and the grouping)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in report.rows:
        writer.writerow(_line(row))
    return (BOM + out.getvalue()).encode("utf-8")
