"""The financial section of a batch's contexts: category statistics, budgets in their current
period, recurring payments and the last 7 days' expenses (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from pam_proactive.analysis.outliers import OutlierRule
from pam_proactive.context import FinancialContext, QualityBuilder
from pam_proactive.data.assemble import build_financial
from pam_proactive.data.columnar._rows import cut_columns, rows_by_user
from pam_proactive.data.columnar.frames import BatchFrames


def financial_section(frames: BatchFrames, rule: OutlierRule,
                      quality: Mapping[int, QualityBuilder]) -> dict[int, FinancialContext]:
    """Every batch user's :class:`FinancialContext`, by position ``i``; rows skipped or
    repaired are counted in the user's ``quality``."""
    expenses = rows_by_user(frames.expenses)
    budgets = rows_by_user(frames.budgets)
    out = {}
    for i, today in frames.people.select("i", "today").iter_rows():
        q = quality[i]
        mine = [cut_columns(r, (1,), q) for r in expenses.get(i, ())]
        row = None
        if mine:
            recent = [r[4] for r in mine if r[3] > -7]
            row = (i, [r[1] for r in mine], [r[2] for r in mine], [r[3] for r in mine],
                   recent, [r[5] for r in mine])
        out[i] = build_financial(row, [cut_columns(r, (2,), q) for r in budgets.get(i, ())],
                                 today, q, rule)
    return out
