"""The one-pair shortcuts of zone() and outlier_rule(): never another name's zone or another
settings object's rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from zoneinfo import ZoneInfo

from pam_proactive.analysis.dates import zone
from pam_proactive.analysis.outliers import OutlierRule, outlier_rule
from pam_proactive.analysis.settings import DetectorSettings


def test_zone_follows_the_name_it_is_given() -> None:
    denver, paris = "America/Denver", "Europe/Paris"
    same_text = "".join(["America/", "Denver"])  # equal to denver, another object
    for name, expected in [(denver, ZoneInfo(denver)), (denver, ZoneInfo(denver)),
                           (paris, ZoneInfo(paris)), (same_text, ZoneInfo(denver)),
                           (None, UTC), ("Not/AZone", UTC), (denver, ZoneInfo(denver)),
                           ("", UTC), (None, UTC)]:
        assert zone(name) == expected, name


def test_outlier_rule_follows_the_settings_it_is_given() -> None:
    usual = DetectorSettings()
    strict = replace(usual, anomaly_median_factor=9.0, anomaly_mad_factor=8.0,
                     anomaly_min_count=7)
    for settings in (usual, usual, strict, usual, strict, strict):
        assert outlier_rule(settings) == OutlierRule(settings.anomaly_median_factor,
                                                     settings.anomaly_mad_factor,
                                                     settings.anomaly_min_count)
    assert outlier_rule(usual) is outlier_rule(usual)
