"""``fuel_log_stale``: the worked example of docs/adding-a-detector.md, kept here so that a
test proves the guide (tests/suggestions/detectors/test_registry.py registers it).

A real detector module would live in src/pam_proactive/suggestions/detectors/ and add its
``SPEC`` to ``REGISTRY``; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from pam_proactive.analysis.boundaries import day_boundary
from pam_proactive.analysis.dates import add_days, format_date
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors._common import Findings, after, candidate
from pam_proactive.suggestions.detectors.spec import DetectorSpec, SuggestionType
from pam_proactive.suggestions.models import DetectorResult, Priority

TYPE = "fuel_log_stale"


def detect_fuel_log_stale(ctx: UserContext, now: datetime,
                          settings: DetectorSettings) -> DetectorResult:
    """Low when the latest fill-up on record is older than ``economy_recent_max_age_days``
    (days): fuel level and economy estimates then rest on stale data."""
    found = Findings(TYPE)
    if not ctx.vehicle.fills:
        found.note("no fill-ups on record")
        return found.result()
    last = ctx.vehicle.fills[-1]
    if (ctx.today - last.filled_on).days <= settings.economy_recent_max_age_days:
        return found.result()
    return found.result([candidate(
        ctx, now, type=TYPE, priority=Priority.LOW,
        title="Log your fill-ups",
        message=f"Your last fill-up on record is from {format_date(last.filled_on)}. Log "
                "the ones since, so fuel and economy estimates stay right.",
        dedup_key=f"{TYPE}:{last.fill_id}",
        data={"last_fill_on": last.filled_on,
              "thresholds": {"max_age_days": settings.economy_recent_max_age_days}},
        expires_at=after(now, days=7),
        tags=("fuel",))])


def fuel_log_stale_boundary(ctx: UserContext, now: datetime, settings: DetectorSettings,
                            keys: Collection[str]) -> datetime | None:
    """The local midnight at which the latest fill-up becomes too old (daily rule)."""
    if not ctx.vehicle.fills:
        return None
    last = ctx.vehicle.fills[-1].filled_on
    return day_boundary(ctx, add_days(last, settings.economy_recent_max_age_days + 1))


SPEC = DetectorSpec(
    name=TYPE,
    types=(SuggestionType(TYPE, group="fuel", job="pattern",
                          rule="No fill-up was logged within the allowed number of days."),),
    detect=detect_fuel_log_stale,
    boundary=fuel_log_stale_boundary,
    settings=("economy_recent_max_age_days",),
)
