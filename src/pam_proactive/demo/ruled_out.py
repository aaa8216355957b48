"""Suggestion types that a rule of their own rules out on a date, whatever the travelers' data
(pure): the demo names them instead of leaving an unexplained zero.

Both are budget types, judged on calendar periods (Monday-Sunday weeks, months, years). For a
period of ``n`` days on its day ``d``, spending ``S`` at a steady pace projects to
``S * n / d`` (one-off expenses are left out of the pace).

- ``budget_forecast_overspend`` needs ``d >= budget_forecast_min_days`` and, with ``S`` still
  below the limit ``L``, a projection of ``budget_forecast_pct`` % of it: only while
  ``pct/100 * d / n < 1``. At 110 %: a week's days 5-6, a month's days 5-28 or so, a year's
  days 5-331. On a Monday-to-Friday from December 1 to 4 (or in late November, or from
  December 29 to January 4) none of the three allows it, on any traveler's data.
- ``budget_threshold`` (past the alert threshold, 80 %, but not on pace to overspend) needs,
  at a steady pace, ``0.8 * n / d < 1.1`` (the period more than 73 % gone) or a period too
  young for a forecast (fewer than 5 days in). In between, a budget
  past 80 % is on pace to overspend instead; only one-off expenses (left out of the pace) can
  still make it a threshold, so the demo names it only when none was found.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pam_proactive.analysis.dates import format_date
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.data.assemble import period_bounds
from pam_proactive.suggestions.detectors.budget import FORECAST, THRESHOLD

PERIODS = ("weekly", "monthly", "yearly")


def forecast_possible(period: str, today: date, detector_settings: DetectorSettings) -> bool:
    """Whether a budget of ``period`` can be on pace to overspend on ``today`` (some spending
    below the limit projects to ``budget_forecast_pct`` % of it)."""
    start, end = period_bounds(period, today)
    length = (end - start).days + 1
    day = (today - start).days + 1
    return (
        day >= detector_settings.budget_forecast_min_days
        and detector_settings.budget_forecast_min_spent_pct < 100.0
        and detector_settings.budget_forecast_pct * day / length < 100.0
    )


def _why_not(today: date, detector_settings: DetectorSettings) -> str:
    """Each period's position on ``today`` ('weekly day 4 of 7, ...')."""
    parts = []
    for period in PERIODS:
        start, end = period_bounds(period, today)
        parts.append(f"{period} day {(today - start).days + 1} of {(end - start).days + 1}")
    return ", ".join(parts)


def threshold_possible(period: str, today: date, detector_settings: DetectorSettings) -> bool:
    """Whether a budget of ``period`` spending at a steady pace can be past the default alert
    threshold on ``today`` without being on pace to overspend (always, while the period is
    too young for a forecast)."""
    start, end = period_bounds(period, today)
    length = (end - start).days + 1
    day = (today - start).days + 1
    threshold_pct = detector_settings.budget_default_threshold_pct
    return (
        day < detector_settings.budget_forecast_min_days
        or detector_settings.budget_forecast_min_spent_pct > threshold_pct
        or threshold_pct * length / day < detector_settings.budget_forecast_pct
    )


def ruled_out(days: set[date], detector_settings: DetectorSettings) -> dict[str, str]:
    """Types that no traveler can get on any of ``days`` (their local dates), each with the
    reason, one sentence; ``budget_threshold`` when spending at a steady pace cannot."""
    if not days:
        return {}
    shown = " and ".join(format_date(d) for d in sorted(days))
    where = f"{_why_not(min(days), detector_settings)}"
    pace_pct = detector_settings.budget_forecast_pct
    threshold_pct = detector_settings.budget_default_threshold_pct
    found = {}
    if not any(forecast_possible(p, d, detector_settings) for p in PERIODS for d in days):
        found[FORECAST] = (
            f"not possible on {shown} (the travelers' local dates): a budget period must be "
            f"at least {detector_settings.budget_forecast_min_days} days in and early enough "
            f"that spending still under the limit can project to {pace_pct:g} "
            f"% of it ({where})")
    if not any(threshold_possible(p, d, detector_settings) for p in PERIODS for d in days):
        found[THRESHOLD] = (
            f"not possible at a steady pace on {shown}: no budget period is far enough along "
            f"({where}) for {threshold_pct:g} % used to project under "
            f"{pace_pct:g} %, so a budget past "
            f"{threshold_pct:g} % is on pace to overspend instead; "
            "only a one-off expense (left out of the pace) could make it one")
    return found


def local_dates(now: datetime, zones: set[str | None]) -> set[date]:
    """The local dates of ``now`` in ``zones`` (None: a traveler without a time zone, read
    in UTC as the engine does)."""
    return {now.astimezone(ZoneInfo(z or "UTC")).date() for z in zones}
