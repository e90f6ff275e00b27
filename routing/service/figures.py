"""The supervisors' figures: today's and a report over dates, of the branch they oversee.

An admin sees the whole firm's figures; a duty manager those of their own branch's clients; anyone else is
refused (routing.errors.Forbidden).
"""

from __future__ import annotations

from datetime import date, datetime

from routing.reports import Report, ReportBy
from routing.service import access
from routing.service.lookups import Lookups
from routing.service.reports import Reports
from routing.service.stats import DayStats, Stats


class Figures:
    """Day figures and reports, scoped to the viewer's branch."""

    def __init__(self, stats: Stats, reports: Reports, lookups: Lookups) -> None:
        self._stats = stats
        self._reports = reports
        self._lookups = lookups

    async def today(self, viewer_id: str, now: datetime | None = None) -> DayStats:
        """The figures of the day containing `now` (default: now) that the viewer oversees."""
        branch = await self._branch_of(viewer_id)
        return await self._stats.today(now, branch)

    async def report(self, viewer_id: str, first: date, last: date, by: ReportBy) -> Report:
        """The report per tier, queue or staff member for local dates `first`..`last` that the viewer oversees."""
        branch = await self._branch_of(viewer_id)
        return await self._reports.report(first, last, by, branch)

    async def _branch_of(self, viewer_id: str) -> str | None:
        viewer = await self._lookups.staff(viewer_id)
        access.check_may_see_figures(viewer)
        return access.supervised_branch(viewer)
