"""The fleet report's settings: a wrong value stops startup naming the variable."""

from __future__ import annotations

import pytest

from pam_proactive.config import load_settings
from pam_proactive.errors import ConfigurationError

SHARED = "whsec_" + "c2hhcmVkLXNlY3JldC1vZi10aGUtd2ViaG9vay0zMmI="
OWN = "whsec_" + "b3duLXNlY3JldC1vZi10aGUtb3BlcmF0b3Itd2ViaG9vaw=="
_NAMES = ("PAM_OPERATOR_WEBHOOK_URL", "PAM_OPERATOR_WEBHOOK_SECRET", "PAM_WEBHOOK_URL",
          "PAM_WEBHOOK_SECRET", "PAM_FLEET_CRITICAL_SCORE")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    s = load_settings()
    assert (s.operator_webhook_url, s.operator_secret, s.fleet_critical_score) == (
        None, None, 60.0)


def test_operator_webhook_needs_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAM_OPERATOR_WEBHOOK_URL", "https://ops.example/fleet")
    with pytest.raises(ConfigurationError, match="PAM_OPERATOR_WEBHOOK_SECRET"):
        load_settings()
    monkeypatch.setenv("PAM_WEBHOOK_SECRET", SHARED)  # the suggestion webhook's will do
    assert load_settings().operator_secret == SHARED
    monkeypatch.setenv("PAM_OPERATOR_WEBHOOK_SECRET", OWN)
    assert load_settings().operator_secret == OWN


def test_operator_webhook_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAM_OPERATOR_WEBHOOK_URL", "ftp://ops.example/fleet")
    monkeypatch.setenv("PAM_OPERATOR_WEBHOOK_SECRET", OWN)
    with pytest.raises(ConfigurationError, match="PAM_OPERATOR_WEBHOOK_URL"):
        load_settings()


@pytest.mark.parametrize("value", ["-1", "101", "lots"])
def test_critical_score_range(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PAM_FLEET_CRITICAL_SCORE", value)
    with pytest.raises(ConfigurationError, match="PAM_FLEET_CRITICAL_SCORE"):
        load_settings()
