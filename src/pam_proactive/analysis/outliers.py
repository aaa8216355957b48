"""One definition of a one-off outlier expense, used by the data layer (to keep outliers out
of budget projections) and by the ``spending_anomaly`` detector."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pam_proactive.analysis.records import quick_init
from pam_proactive.analysis.settings import DetectorSettings


@dataclass(frozen=True, slots=True)
class Baseline:
    """A category's spending baseline: count, median and median absolute deviation."""

    count: int
    median: float | None  # user's currency
    mad: float | None  # user's currency


def baseline_of(amounts: Sequence[float] | None) -> Baseline:
    """Count, median and MAD of the finite amounts (any order)."""
    values = sorted(a for a in (amounts or ()) if a is not None and math.isfinite(a))
    n = len(values)
    if n == 0:
        return Baseline(0, None, None)
    med = _middle(values)
    return Baseline(n, med, _middle(sorted(abs(v - med) for v in values)))


def _middle(ordered: Sequence[float]) -> float:
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else ordered[mid - 1] / 2 + ordered[mid] / 2


@quick_init
@dataclass(frozen=True, slots=True)
class OutlierRule:
    """An expense is an outlier when larger than both ``k_median`` × the category's median and
    median + ``k_mad`` × MAD, with at least ``min_history`` earlier expenses in the category."""

    k_median: float = 3.0
    k_mad: float = 5.0
    min_history: int = 5

    def bar(self, base: Baseline) -> float | None:
        """The amount (user's currency) an expense must exceed to be an outlier; None when
        the baseline is too thin or unusable."""
        return self.bar_of(base.count, base.median, base.mad)

    def bar_of(self, count: int, median: float | None, mad: float | None) -> float | None:
        """:meth:`bar` of the baseline (``count``, ``median``, ``mad``), without building it
        (the anomaly detector judges each category of each traveler)."""
        if count < self.min_history or median is None or mad is None:
            return None
        if not (median > 0 and mad >= 0):
            return None
        return max(self.k_median * median, median + self.k_mad * mad)


def above(amounts: Sequence[float] | None, bar: float | None) -> float:
    """Sum of the amounts greater than ``bar`` (0 when there is no bar)."""
    if bar is None or not amounts:
        return 0.0
    return sum(a for a in amounts if a is not None and a > bar)


# The latest (settings, rule) pair: the anomaly detector asks once per traveler, with the
# sweep's one settings object. Settings are frozen and the pair holds them, so the same
# object always gives an equal rule.
_latest_rule: tuple[DetectorSettings, OutlierRule] | None = None


def outlier_rule(settings: DetectorSettings) -> OutlierRule:
    """The anomaly thresholds of ``settings`` as the shared outlier rule."""
    global _latest_rule
    latest = _latest_rule  # one read: the pair is replaced whole
    if latest is not None and latest[0] is settings:
        return latest[1]
    rule = OutlierRule(settings.anomaly_median_factor, settings.anomaly_mad_factor,
                       settings.anomaly_min_count)
    _latest_rule = (settings, rule)
    return rule
