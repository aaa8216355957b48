"""Budgets: exceeded, on pace to overspend, or past the alert threshold.

One suggestion per budget and period, the most severe; the three types share the dedup key
``budget:<budget_id>:<period_start>`` so a rise from threshold to exceeded updates it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from pam_proactive.analysis.boundaries import earliest_day_boundary, tomorrow
from pam_proactive.analysis.budget import BudgetFigures, budget_figures, budget_label
from pam_proactive.analysis.dates import add_days, format_date
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.units import format_money, format_percent
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors._common import (
    NOTHING,
    Findings,
    after,
    candidate,
    day_start,
    r1,
    r2,
)
from pam_proactive.suggestions.detectors.spec import DetectorSpec, SuggestionType
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority
from pam_proactive.suggestions.relations import budget_subject

EXCEEDED = "budget_exceeded"
FORECAST = "budget_forecast_overspend"
THRESHOLD = "budget_threshold"
DETECTOR = "budget"


def _forecast_applies(figures: BudgetFigures, settings: DetectorSettings) -> bool:
    return (
        figures.days_elapsed >= settings.budget_forecast_min_days
        and figures.spent_pct >= settings.budget_forecast_min_spent_pct
        and figures.projected >= figures.limit * settings.budget_forecast_pct / 100.0
    )


def _classify(figures: BudgetFigures, settings: DetectorSettings) -> tuple[str, Priority] | None:
    if figures.spent >= figures.limit:
        return EXCEEDED, Priority.HIGH
    if _forecast_applies(figures, settings):
        return FORECAST, Priority.MEDIUM
    if figures.spent_pct >= figures.threshold_pct:
        return THRESHOLD, Priority.LOW
    return None


def _message(ctx: UserContext, kind: str, f: BudgetFigures) -> tuple[str, str]:
    money = ctx.profile.currency
    label = budget_label(f.budget)
    spent, limit = format_money(f.spent, money), format_money(f.limit, money)
    end = format_date(f.budget.period_end)
    plural = "s" if f.days_elapsed != 1 else ""
    if kind == EXCEEDED:
        over = format_money(f.spent - f.limit, money)
        left = (
            f"on the period's last day ({end})"
            if f.days_left <= 0
            else f"with {f.days_left} day{'s' if f.days_left != 1 else ''} left until {end}"
        )
        return (
            f"{label.capitalize()} exceeded",
            f"You've spent {spent} of your {limit} {label} ({format_percent(f.spent_pct)}), "
            f"{over} over, {left}.",
        )
    if kind == FORECAST:
        pace = format_money(f.typical_daily, money)
        left_out = [
            f"{format_money(amount, money)} of {what}"
            for amount, what in ((f.outlier_spent, "one-off expenses"),
                                 (f.scheduled_spent, "regular payments"))
            if amount > 0
        ]
        excluding = f" (not counting {' and '.join(left_out)})" if left_out else ""
        coming = (
            f" and {format_money(f.scheduled_due, money)} of regular payments still due"
            if f.scheduled_due > 0
            else ""
        )
        over_pct = format_percent(f.projected / f.limit * 100.0 - 100.0)
        return (
            f"On pace to overspend your {label}",
            f"You've spent {spent} of your {limit} {label} in {f.days_elapsed} day{plural}. "
            f"At your usual {pace} a day{excluding}{coming}, you're on track for about "
            f"{format_money(f.projected, money)} by {end}, {over_pct} over.",
        )
    return (
        f"{label.capitalize()} {format_percent(f.spent_pct)} used",
        f"You've spent {spent} of your {limit} {label} ({format_percent(f.spent_pct)}); "
        f"{format_money(f.remaining, money)} is left until {end}.",
    )


def detect_budgets(ctx: UserContext, now: datetime, settings: DetectorSettings) -> DetectorResult:
    """At most one candidate per budget and period: ``budget_exceeded`` (high) at 100% of the
    limit, else ``budget_forecast_overspend`` (medium) when the projection reaches
    ``budget_forecast_pct``, else ``budget_threshold`` (low) past the alert threshold."""
    budgets = ctx.financial.budgets
    if not budgets:  # nothing to judge
        return NOTHING
    found = Findings(DETECTOR)
    out: list[Candidate] = []
    for budget in budgets:
        figures = budget_figures(ctx, budget, settings)
        if isinstance(figures, str):
            found.note(f"budget skipped: {figures}")
            continue
        kind_priority = _classify(figures, settings)
        if kind_priority is None:
            continue
        kind, priority = kind_priority
        title, message = _message(ctx, kind, figures)
        period_start = budget.period_start.isoformat()
        out.append(
            candidate(
                ctx,
                now,
                type=kind,
                priority=priority,
                title=title,
                message=message,
                dedup_key=f"budget:{budget.budget_id}:{period_start}",
                data={
                    "budget_id": budget.budget_id,
                    "category": budget.category,
                    "period": budget.period,
                    "period_start": period_start,
                    "period_end": budget.period_end.isoformat(),
                    "limit": r2(figures.limit),
                    "spent": r2(figures.spent),
                    "spent_pct": r1(figures.spent_pct),
                    "outlier_spent": r2(figures.outlier_spent),
                    "scheduled_spent": r2(figures.scheduled_spent),
                    "scheduled_due": r2(figures.scheduled_due),
                    "days_elapsed": figures.days_elapsed,
                    "days_left": figures.days_left,
                    "typical_daily": r2(figures.typical_daily),
                    "projected": r2(figures.projected),
                    "thresholds": {
                        "alert_pct": figures.threshold_pct,
                        "forecast_pct": settings.budget_forecast_pct,
                        "forecast_min_days": settings.budget_forecast_min_days,
                        "forecast_min_spent_pct": settings.budget_forecast_min_spent_pct,
                    },
                    "currency": ctx.profile.currency,
                    "confidence": 1.0 if kind != FORECAST else 0.7,
                },
                expires_at=day_start(ctx, add_days(budget.period_end, 1)) or after(now, days=1),
                tags=("budget",),
                subjects=(budget_subject(budget.budget_id, period_start),),
            )
        )
    return found.result(out)


def budget_boundary(ctx: UserContext, now: datetime, settings: DetectorSettings,
                    keys: Collection[str]) -> datetime | None:
    """Budgets: days elapsed and left change every local day while a budget's period runs
    (pace, forecast, wording); the period's end, the day after ``period_end``."""
    days: list[date] = []  # each flips the output at its local midnight
    today = ctx.today
    running = False  # a period runs today: its figures change tomorrow (listed once)
    for budget in ctx.financial.budgets:
        start, end = budget.period_start, budget.period_end
        if not isinstance(start, date) or not isinstance(end, date):
            continue
        if start > today:
            days.append(start)
        elif end >= today:
            running = True
    if running:
        days.append(tomorrow(ctx))
    return earliest_day_boundary(ctx, days)


SPEC = DetectorSpec(
    name=DETECTOR,
    types=(
        SuggestionType(EXCEEDED, group="budget", job="monitor",
                       rule="Spending in the budget's period passed its limit."),
        SuggestionType(FORECAST, group="budget", job="predictive",
                       rule="At the typical daily pace, spending is projected to pass the "
                            "budget's limit before the period ends."),
        SuggestionType(THRESHOLD, group="budget", job="predictive",
                       rule="Spending in the budget's period passed the alert percentage of "
                            "its limit."),
    ),
    detect=detect_budgets,
    boundary=budget_boundary,
    settings=("budget_forecast_pct", "budget_forecast_min_days", "budget_forecast_min_spent_pct"),
)
