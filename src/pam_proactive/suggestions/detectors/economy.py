"""``fuel_economy_drop``: recent fill-ups show markedly worse mpg than the user's baseline."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from pam_proactive.analysis.boundaries import next_local_midnight
from pam_proactive.analysis.dates import format_date
from pam_proactive.analysis.fuel import (
    SKIP_IMPLAUSIBLE_INTERVAL,
    economy_windows,
    implausible_interval_count,
    mpg_median,
    primary_vehicle,
)
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.units import format_economy, format_percent, is_metric, shown_economy
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors._common import Findings, after, candidate, r1, r2
from pam_proactive.suggestions.detectors.spec import DetectorSpec, SuggestionType
from pam_proactive.suggestions.models import DetectorResult, Priority

TYPE = "fuel_economy_drop"


def _stated_change(now_mpg: float, usual_mpg: float, units: str) -> tuple[float, str, str]:
    """The change the message states, computed on the two figures it shows, in their unit:
    in mpg the share of economy lost ('26% worse than'), in L/100 km the share of fuel
    added ('35% more fuel than'), with the title's words. (percent, comparison, title)."""
    shown_now, shown_usual = shown_economy(now_mpg, units), shown_economy(usual_mpg, units)
    if is_metric(units):
        return (shown_now - shown_usual) / shown_usual * 100.0, "more fuel than", "Fuel use up"
    return (shown_usual - shown_now) / shown_usual * 100.0, "worse than", "Fuel economy down"


def detect_fuel_economy_drop(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> DetectorResult:
    """Medium when the median mpg of the recent intervals is at least ``economy_drop_pct``
    below the baseline median (which needs ``economy_baseline_min_intervals`` intervals), and
    the latest interval ended within ``economy_recent_max_age_days``."""
    found = Findings(TYPE)
    found.skip(SKIP_IMPLAUSIBLE_INTERVAL, implausible_interval_count(ctx, settings))
    windows = economy_windows(ctx, settings)
    last_end = windows.last_end
    if last_end is None or len(windows.baseline) < settings.economy_baseline_min_intervals:
        found.note("not enough full-to-full fill-ups for a baseline")
        return found.result()
    age = (ctx.today - last_end).days
    if not 0 <= age <= settings.economy_recent_max_age_days:
        found.note("no recent full-to-full fill-ups")
        return found.result()
    baseline = windows.baseline_mpgs  # read past the cheap checks: most travelers stop there
    now_mpg = mpg_median(windows.recent_mpgs)
    usual = mpg_median(baseline)
    if now_mpg is None or usual is None or usual <= 0:
        return found.result()
    drop = (usual - now_mpg) / usual * 100.0
    if not drop >= settings.economy_drop_pct:
        return found.result()
    recent = windows.recent()  # built for the candidate only: most travelers get none
    last = recent[-1]
    units = ctx.profile.units
    vehicle = primary_vehicle(ctx)
    change, compared, title = _stated_change(now_mpg, usual, units)
    message = (
        f"Your last {len(recent)} full fill-ups (since {format_date(recent[0].start_date)}) "
        f"averaged {format_economy(now_mpg, units)}, {format_percent(change)} {compared} your "
        f"usual {format_economy(usual, units)} (median of {len(baseline)} earlier fill-ups). "
        "Common causes are low tyre pressure, a dragging brake, a heavier load, a roof rack or "
        "headwinds; if it keeps up, it's worth a check."
    )
    return found.result([
        candidate(
            ctx,
            now,
            type=TYPE,
            priority=Priority.MEDIUM,
            title=f"{title} {format_percent(change)}",
            message=message,
            dedup_key=f"{TYPE}:{vehicle.vehicle_id or 'profile'}:{last.end_fill_id}",
            data={
                "recent_mpg": r2(now_mpg),
                "baseline_mpg": r2(usual),
                "drop_pct": r1(drop),  # in mpg: the rule's figure
                "shown_change_pct": r1(change),  # between the two figures the message shows
                "recent_intervals": [
                    {
                        "end_fill_id": i.end_fill_id,
                        "miles": r1(i.miles),
                        "gallons": r2(i.gallons),
                        "mpg": r2(i.mpg),
                    }
                    for i in recent
                ],
                "baseline_count": len(baseline),
                "thresholds": {
                    "drop_pct": settings.economy_drop_pct,
                    "baseline_days": settings.economy_baseline_days,
                    "baseline_min_intervals": settings.economy_baseline_min_intervals,
                },
                "confidence": 0.8,
            },
            expires_at=after(now, days=14),
            tags=("fuel",),
        )
    ])


def fuel_economy_drop_boundary(ctx: UserContext, now: datetime, settings: DetectorSettings,
                               keys: Collection[str]) -> datetime | None:
    """Economy: the recent and baseline windows are counted in days back from today, so
    with any fill on record the result can change at the next local midnight."""
    return next_local_midnight(ctx) if ctx.vehicle.fills else None


# (name, boundary function) of every detector: the ones reading ``now`` take the dedup keys


SPEC = DetectorSpec(
    name=TYPE,
    types=(SuggestionType(
        TYPE, group="fuel", job="pattern",
        rule="Recent miles per gallon fell below the vehicle's own baseline by more than the "
             "allowed drop."),),
    detect=detect_fuel_economy_drop,
    boundary=fuel_economy_drop_boundary,
    settings=("economy_baseline_days", "economy_baseline_min_intervals", "economy_drop_pct",
              "economy_recent_max_age_days"),
)
