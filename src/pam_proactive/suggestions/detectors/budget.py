"""Budgets: exceeded, on pace to overspend, or past the alert threshold.

One suggestion per budget and period, the most severe; the three types share the dedup key
``budget:<budget_id>:<period_start>`` so a rise from threshold to exceeded updates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pam_proactive.analysis.dates import add_days, format_date
from pam_proactive.analysis.stats import clamp, finite, positive
from pam_proactive.analysis.units import format_money, format_percent
from pam_proactive.context import BudgetStatus, UserContext
from pam_proactive.suggestions.detectors._common import (
    after,
    candidate,
    day_start,
    note,
    r1,
    r2,
)
from pam_proactive.suggestions.detectors.settings import DetectorSettings
from pam_proactive.suggestions.models import Candidate, Priority

EXCEEDED = "budget_exceeded"
FORECAST = "budget_forecast_overspend"
THRESHOLD = "budget_threshold"
DETECTOR = "budget"


@dataclass(frozen=True, slots=True)
class BudgetFigures:
    """A budget's validated numbers as of today (money in the user's currency)."""

    budget: BudgetStatus
    limit: float
    spent: float
    outlier_spent: float  # clamped into [0, spent]
    days_elapsed: int  # today - period_start + 1
    days_left: int  # period_end - today
    threshold_pct: float

    @property
    def spent_pct(self) -> float:
        """Spent as a percentage of the limit."""
        return self.spent / self.limit * 100.0

    @property
    def typical_daily(self) -> float:
        """Spend per elapsed day, outliers excluded (they are not expected to repeat)."""
        return max(0.0, self.spent - self.outlier_spent) / self.days_elapsed

    @property
    def projected(self) -> float:
        """Projected period total: spent + typical daily spend for each day left."""
        return self.spent + self.typical_daily * self.days_left

    @property
    def remaining(self) -> float:
        """What is left of the limit (never below 0)."""
        return max(0.0, self.limit - self.spent)


def budget_label(budget: BudgetStatus) -> str:
    """'monthly fuel budget', 'weekly budget' (no category = all spending)."""
    period = budget.period if budget.period in ("weekly", "monthly", "yearly") else ""
    category = budget.category.strip().lower() if isinstance(budget.category, str) else ""
    return " ".join(p for p in (period, category, "budget") if p)


def budget_figures(
    ctx: UserContext, budget: BudgetStatus, settings: DetectorSettings
) -> BudgetFigures | str:
    """The budget's figures, or the reason (a short phrase) it cannot be judged."""
    limit = positive(budget.limit)
    if limit is None:
        return "limit is not a positive number"
    spent = finite(budget.spent)
    if spent is None:
        return "spent is not a number"
    start, end = budget.period_start, budget.period_end
    if not isinstance(start, date) or not isinstance(end, date) or end < start:
        return "period dates missing or out of order"
    if not start <= ctx.today <= end:
        return "today is outside the budget's period"
    threshold = positive(budget.alert_threshold_pct) or settings.budget_default_threshold_pct
    outlier = clamp(finite(budget.outlier_spent) or 0.0, 0.0, max(spent, 0.0))
    return BudgetFigures(
        budget=budget,
        limit=limit,
        spent=spent,
        outlier_spent=outlier,
        days_elapsed=(ctx.today - start).days + 1,
        days_left=(end - ctx.today).days,
        threshold_pct=threshold,
    )


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
        excluding = (
            f" (not counting {format_money(f.outlier_spent, money)} of one-off expenses)"
            if f.outlier_spent > 0
            else ""
        )
        over_pct = format_percent(f.projected / f.limit * 100.0 - 100.0)
        return (
            f"On pace to overspend your {label}",
            f"You've spent {spent} of your {limit} {label} in {f.days_elapsed} day{plural}. "
            f"At your usual {pace} a day{excluding}, you're on track for about "
            f"{format_money(f.projected, money)} by {end}, {over_pct} over.",
        )
    return (
        f"{label.capitalize()} {format_percent(f.spent_pct)} used",
        f"You've spent {spent} of your {limit} {label} ({format_percent(f.spent_pct)}); "
        f"{format_money(f.remaining, money)} is left until {end}.",
    )


def detect_budgets(ctx: UserContext, now: datetime, settings: DetectorSettings) -> list[Candidate]:
    """At most one candidate per budget and period: ``budget_exceeded`` (high) at 100% of the
    limit, else ``budget_forecast_overspend`` (medium) when the projection reaches
    ``budget_forecast_pct``, else ``budget_threshold`` (low) past the alert threshold."""
    out: list[Candidate] = []
    for budget in ctx.financial.budgets:
        figures = budget_figures(ctx, budget, settings)
        if isinstance(figures, str):
            note(ctx, DETECTOR, f"budget {budget.budget_id} skipped: {figures}")
            continue
        found = _classify(figures, settings)
        if found is None:
            continue
        kind, priority = found
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
            )
        )
    return out
