"""A budget's figures in its current period, as the budget detectors and departure reminders
judge them (pure). Money in the user's currency."""

from __future__ import annotations

from dataclasses import dataclass

from pam_proactive.analysis.records import quick_init
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.stats import clamp, finite, positive
from pam_proactive.context import BudgetStatus, UserContext


@quick_init
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
    # Recurring payments (analysis.schedules): paid this period (clamped into
    # [0, spent - outlier_spent]), and still expected before the period ends (>= 0).
    scheduled_spent: float = 0.0
    scheduled_due: float = 0.0

    @property
    def spent_pct(self) -> float:
        """Spent as a percentage of the limit."""
        return self.spent / self.limit * 100.0

    @property
    def typical_daily(self) -> float:
        """Spend per elapsed day, outliers excluded (they are not expected to repeat) and
        scheduled payments too (they come on their own dates, see ``scheduled_due``)."""
        return max(0.0, self.spent - self.outlier_spent - self.scheduled_spent) / self.days_elapsed

    @property
    def projected(self) -> float:
        """Projected period total: spent + typical daily spend for each day left + the
        scheduled payments still expected in the period."""
        return self.spent + self.typical_daily * self.days_left + self.scheduled_due

    @property
    def remaining(self) -> float:
        """What is left of the limit (never below 0)."""
        return max(0.0, self.limit - self.spent)


def budget_label(budget: BudgetStatus) -> str:
    """'monthly fuel budget', 'weekly budget' (no category = all spending)."""
    category = (budget.category or "").strip().lower()
    return " ".join(p for p in (budget.period, category, "budget") if p)


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
    if end < start:
        return "period dates out of order"
    today = ctx.today
    if not start <= today <= end:
        return "today is outside the budget's period"
    threshold = positive(budget.alert_threshold_pct) or settings.budget_default_threshold_pct
    # The three parts below are zero (or missing) for nearly every budget, and zero-like
    # values (0, 0.0, None) all give 0.0 through finite, clamp and max: tested first, they
    # skip those calls (and finite's slow path for an int 0) for ~6 of 7 budgets.
    raw = budget.outlier_spent
    outlier = clamp(finite(raw) or 0.0, 0.0, max(spent, 0.0)) if raw else 0.0
    raw = budget.scheduled_spent
    scheduled = clamp(finite(raw) or 0.0, 0.0, max(spent - outlier, 0.0)) if raw else 0.0
    raw = budget.scheduled_due
    due = max(0.0, finite(raw) or 0.0) if raw else 0.0
    return BudgetFigures(  # positional, in field order: keywords cost ~40 % more per budget
        budget,
        limit,
        spent,
        outlier,  # outlier_spent
        (today - start).days + 1,  # days_elapsed
        (end - today).days,  # days_left
        threshold,  # threshold_pct
        scheduled,  # scheduled_spent
        due,  # scheduled_due
    )
