"""``spending_anomaly``: a recent expense far above what the category usually costs.

A payment that fits a recurring schedule (a monthly site fee, a premium, a subscription:
:mod:`pam_proactive.analysis.schedules`) is expected, never an anomaly; one that breaks its
schedule (much larger than usual) is judged as any other expense.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from pam_proactive.analysis.boundaries import earliest_day_boundary
from pam_proactive.analysis.dates import add_days, format_date
from pam_proactive.analysis.outliers import OutlierRule, outlier_rule
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.stats import finite, positive
from pam_proactive.analysis.units import format_money
from pam_proactive.context import CategoryStats, Expense, UserContext
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

TYPE = "spending_anomaly"


def anomaly_bar(stats: CategoryStats, settings: DetectorSettings) -> float | None:
    """The amount (user's currency) an expense must exceed to be anomalous in its category:
    max(factor x median, median + k x MAD); None without a usable baseline. The same rule
    keeps one-off outliers out of budget projections (see :class:`OutlierRule`)."""
    return _bar(stats, outlier_rule(settings))


def _bar(stats: CategoryStats, rule: OutlierRule) -> float | None:
    return rule.bar_of(stats.baseline_count, finite(stats.baseline_median),
                       finite(stats.baseline_mad))


def _budgets_counting(ctx: UserContext, expense: Expense) -> list[str]:
    """Subjects of the budgets whose current period counts ``expense``: its category's, or
    an all-spending one (no category), with the expense's date in the period."""
    return [
        budget_subject(b.budget_id, b.period_start.isoformat())
        for b in ctx.financial.budgets
        if (b.category is None or b.category == expense.category)
        and b.period_start <= expense.spent_on <= b.period_end
    ]


def detect_spending_anomaly(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> DetectorResult:
    """A low-priority ``spending_anomaly`` per expense of the last ``anomaly_window_days``
    above its category's bar (see :func:`anomaly_bar`)."""
    expenses = ctx.financial.recent_expenses
    if not expenses:  # nothing to judge
        return NOTHING
    found = Findings(TYPE)
    out: list[Candidate] = []
    money = ctx.profile.currency
    first, today = add_days(ctx.today, -(settings.anomaly_window_days - 1)), ctx.today
    rule = outlier_rule(settings)
    bars: dict[str, float | None] = {}  # by category: each is judged once per run
    for expense in expenses:
        amount = positive(expense.amount)
        if amount is None or not first <= expense.spent_on <= today:
            continue
        if expense.scheduled:  # a recurring payment on its schedule is expected
            found.note("recurring payment on its schedule")
            continue
        stats = ctx.financial.categories.get(expense.category)
        if stats is None:
            bar = None
        elif expense.category in bars:
            bar = bars[expense.category]
        else:
            bar = bars[expense.category] = _bar(stats, rule)
        if stats is None or bar is None:
            found.note("no usable baseline for the expense's category")
            continue
        if amount <= bar:
            continue
        median = stats.baseline_median or 0.0
        ratio = amount / median
        category = str(expense.category).strip().lower() or "uncategorised"
        message = (
            f"{format_money(amount, money)} on {category} on {format_date(expense.spent_on)} is "
            f"about {ratio:,.0f}× your usual {category} expense ({format_money(median, money)}, "
            f"the median of {stats.baseline_count} expenses in the 90 days before last week). "
            "If it was a one-off, there's nothing to do; if not, check it against your budget."
        )
        out.append(
            candidate(
                ctx,
                now,
                type=TYPE,
                priority=Priority.LOW,
                title=f"Unusual {category} expense: {format_money(amount, money)}",
                message=message,
                dedup_key=f"{TYPE}:{expense.expense_id}",
                data={
                    "expense_id": expense.expense_id,
                    "category": expense.category,
                    "amount": r2(amount),
                    "spent_on": expense.spent_on.isoformat(),
                    "baseline_median": r2(median),
                    "baseline_mad": r2(stats.baseline_mad or 0.0),
                    "baseline_count": stats.baseline_count,
                    "ratio_to_median": r1(ratio),
                    "bar": r2(bar),
                    "thresholds": {
                        "median_factor": settings.anomaly_median_factor,
                        "mad_factor": settings.anomaly_mad_factor,
                        "min_count": settings.anomaly_min_count,
                    },
                    "currency": money,
                    "confidence": 0.8,
                },
                expires_at=day_start(ctx, add_days(expense.spent_on, settings.anomaly_window_days))
                or after(now, days=1),
                tags=("budget",),
                subjects=_budgets_counting(ctx, expense),
            )
        )
    return found.result(out)


def spending_anomaly_boundary(ctx: UserContext, now: datetime, settings: DetectorSettings,
                              keys: Collection[str]) -> datetime | None:
    """Recent expenses: each leaves the ``anomaly_window_days`` window at a local midnight."""
    return earliest_day_boundary(ctx, (
        add_days(e.spent_on, settings.anomaly_window_days)
        for e in ctx.financial.recent_expenses if isinstance(e.spent_on, date)))


SPEC = DetectorSpec(
    name=TYPE,
    types=(SuggestionType(
        TYPE, group="budget", job="pattern",
        rule="A day's spending in a category is far above its usual level."),),
    detect=detect_spending_anomaly,
    boundary=spending_anomaly_boundary,
    settings=("anomaly_window_days", "anomaly_median_factor", "anomaly_mad_factor",
              "anomaly_min_count"),
)
