"""The odometer outlier rule."""

from __future__ import annotations

from pam_proactive.analysis.limits import (
    ODOMETER_OUTLIER_MILES,
    odometer_outliers,
    plausible_max_odometer,
)


def test_a_reading_far_above_the_others_is_not_the_odometer() -> None:
    readings = [10_000, 10_300, 10_700, 1_010_700]
    assert odometer_outliers(readings) == {1_010_700}
    assert plausible_max_odometer(readings) == 10_700


def test_years_of_driving_between_readings_are_kept() -> None:
    # A service record from years ago and today's odometer, within the bound.
    readings = [40_000, 40_000 + ODOMETER_OUTLIER_MILES]
    assert odometer_outliers(readings) == frozenset()
    assert plausible_max_odometer(readings) == 40_000 + ODOMETER_OUTLIER_MILES


def test_several_typos_are_peeled_from_the_top() -> None:
    assert odometer_outliers([10_000, 500_000, 2_000_000]) == {500_000, 2_000_000}


def test_a_lone_reading_is_kept_and_none_gives_none() -> None:
    assert plausible_max_odometer([999_999]) == 999_999
    assert plausible_max_odometer([]) is None


def test_the_highest_kept_reading_agrees_with_the_outlier_rule() -> None:
    """plausible_max_odometer is the highest reading odometer_outliers keeps, whether the top
    two distinct readings are close (its shortcut) or not, with repeated readings."""
    cases = [
        [10_000.0, 10_000.0],
        [10_000.0, 10_500.0, 10_500.0],
        [10_000.0, 500_000.0, 500_000.0],
        [10_000.0, 500_000.0, 2_000_000.0, 2_000_000.0],
        [1_000.0, 1_000.0 + ODOMETER_OUTLIER_MILES, 1_000.0 + 2 * ODOMETER_OUTLIER_MILES + 1],
        [7.0, 3.0],
    ]
    for readings in cases:
        kept = set(readings) - odometer_outliers(readings)
        assert plausible_max_odometer(readings) == max(kept), readings
