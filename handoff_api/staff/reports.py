"""Supervisor reports over the staff API: figures per tier, queue or staff member for a range of local dates.

`GET /api/v1/staff/reports?from=YYYY-MM-DD&to=YYYY-MM-DD&by=tier|queue|agent` returns JSON;
`.../reports.csv` the same rows as UTF-8 CSV with a BOM (Excel opens the Chinese headers correctly),
each download audited as a data export. Supervisors (duty managers, admins) only.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from handoff_api.deps import ContainerDep
from handoff_api.errors import error_responses
from handoff_api.staff.auth import CurrentStaff
from handoff_api.staff.report_csv import report_csv
from routing.audit import AuditAction
from routing.reports import Report, ReportBy, ReportRow

router = APIRouter(prefix="/api/v1/staff", tags=["staff"], responses=error_responses(401, 403, 422))

FromDate = Annotated[date, Query(alias="from", description="first local date (branch time zone), YYYY-MM-DD")]
ToDate = Annotated[date, Query(alias="to", description="last local date, inclusive, YYYY-MM-DD")]
GroupBy = Annotated[ReportBy, Query(description="rows per tier, tier-2 queue or staff member")]


class ReportRowOut(BaseModel):
    """One row of a report (durations are medians in seconds; null: no data)."""

    key: str
    label: str
    volume: int
    bot_confirmed: int
    bot_assumed: int
    first_response_seconds: float | None
    wait_seconds: float | None
    handle_seconds: float | None
    sla_breaches: int
    transfers: int
    ratings: int
    average_rating: float | None
    rating_counts: list[int]

    @classmethod
    def of(cls, row: ReportRow) -> ReportRowOut:
        """The response shape of routing's row."""
        return cls(**{**dataclasses.asdict(row), "rating_counts": list(row.rating_counts)})


class ReportOut(BaseModel):
    """A supervisor report: the range, the grouping and its rows."""

    from_date: str
    to_date: str
    by: str
    rows: list[ReportRowOut]

    @classmethod
    def of(cls, report: Report) -> ReportOut:
        """The response shape of routing's report."""
        return cls(
            from_date=report.first.isoformat(),
            to_date=report.last.isoformat(),
            by=report.by.value,
            rows=[ReportRowOut.of(row) for row in report.rows],
        )


@router.get("/reports")
async def reports(
    staff: CurrentStaff, container: ContainerDep, first: FromDate, last: ToDate, by: GroupBy = ReportBy.TIER
) -> ReportOut:
    """Volume, bot resolution, first response, wait, handle, SLA breaches, transfers and satisfaction."""
    return ReportOut.of(await container.routing.figures.report(staff.id, first, last, by))


@router.get("/reports.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def reports_csv(
    staff: CurrentStaff, container: ContainerDep, first: FromDate, last: ToDate, by: GroupBy = ReportBy.TIER
) -> Response:
    """The report as a CSV download (UTF-8 with BOM); every download is audited."""
    report = await container.routing.figures.report(staff.id, first, last, by)
    detail: dict[str, object] = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "by": by.value,
        "rows": len(report.rows),
    }
    await container.routing.audit(staff.id, AuditAction.DATA_EXPORT, "reports", detail)
    filename = f"reports-{by.value}-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
