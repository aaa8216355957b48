"""The shipped alert rules: valid for Prometheus (promtool), firing as intended (promtool's
unit tests), and using only metrics and labels the engine exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from pam_proactive.observability import metrics

RULES = Path(str(resources.files("pam_proactive.observability") / "alerts.yml"))
UNIT_TESTS = Path(__file__).with_name("alerts_test.yml")
PROMTOOL = shutil.which("promtool")
ALERTS = {"PamDatabaseUnreachable", "PamJobRunMissed", "PamJobRunFailed", "PamSlowQueries",
          "PamDeliveryFailures", "PamOutboxDead", "PamFleetCriticalRising",
          "PamRelevanceBelowTarget", "PamSuggestionsReportedWrong"}

_SELECTOR = re.compile(r"\b(pam_[a-z0-9_]+)(\{[^}]*\})?")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def unknown_references(expr: str) -> list[str]:
    """Metric names and selector labels in ``expr`` that the engine does not export."""
    names = metrics.metric_names()
    labels: dict[str, set[str]] = {family.name: set() for family in metrics.REGISTRY.collect()}
    for collector in metrics.REGISTRY._collector_to_names:  # labels of each metric object
        for name in metrics.REGISTRY._collector_to_names[collector]:
            labels.setdefault(name, set()).update(getattr(collector, "_labelnames", ()))
    problems = []
    for name, selector in _SELECTOR.findall(expr):
        if name not in names:
            problems.append(name)
            continue
        known = labels.get(name, set()) | {"le", "instance", "job"}
        problems.extend(f"{name}{{{label}}}" for label in _MATCHER.findall(selector or "")
                        if label not in known)
    return problems


def test_every_expected_alert_is_shipped() -> None:
    assert {rule["alert"] for rule in rules()} >= ALERTS


def test_rules_use_only_exported_metrics_and_labels() -> None:
    for rule in rules():
        assert _SELECTOR.search(rule["expr"]), rule["alert"]
        assert unknown_references(rule["expr"]) == [], rule["alert"]


def test_the_name_check_catches_a_typo() -> None:
    assert unknown_references('rate(pam_db_querys_total[5m])') == ["pam_db_querys_total"]
    assert unknown_references('pam_deliveries_total{chanel="x"}') == [
        "pam_deliveries_total{chanel}"]


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (.ci/run installs it)")
def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run([str(PROMTOOL), "check", "rules", str(RULES)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (.ci/run installs it)")
def test_alerts_fire_on_their_conditions() -> None:
    done = subprocess.run([str(PROMTOOL), "test", "rules", UNIT_TESTS.name],
                          cwd=UNIT_TESTS.parent, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
