"""The pure parts of per-traveler adaptation: its bounds, its settings and its sentences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from pam_proactive.config import load_settings
from pam_proactive.errors import ConfigurationError
from pam_proactive.suggestions.adaptation import (
    OFFER_LIFETIME,
    OFFER_TYPE,
    Adaptation,
    AdaptationPolicy,
    describe,
    digest_only,
    explained,
    offer_candidate,
)
from pam_proactive.suggestions.models import Priority

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def adaptation(kind: str, level: int, value: int, answers: int) -> Adaptation:
    return Adaptation(user_id=uuid4(), type="fuel_low", kind=kind,  # type: ignore[arg-type]
                      dedup_key="fuel_low:v1" if kind == "wrong" else "", level=level,
                      value=value, answers=answers, since=NOW, updated_at=NOW,
                      offered_at=None, offer_answered_at=None, reset_at=None, reset_by=None)


def test_the_settings_are_the_policy_and_wrong_ones_stop_startup(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAM_ADAPT_NOT_USEFUL_ANSWERS", "3,5,8")
    monkeypatch.setenv("PAM_ADAPT_HOLD_MAX_DAYS", "4")
    policy = AdaptationPolicy.from_settings(load_settings())
    assert policy.levels == (3, 5, 8) and policy.hold_max_days == 4
    assert policy.params()["l3"] == 8 and policy.params()["notice"] == timedelta(days=2)
    for variable, value in (("PAM_ADAPT_NOT_USEFUL_ANSWERS", "4,3,2"),
                            ("PAM_ADAPT_NOT_USEFUL_ANSWERS", "2,3"),
                            ("PAM_ADAPT_COOLDOWN_FACTOR", "9"),
                            ("PAM_ADAPT_HOLD_MAX_DAYS", "31"),
                            ("PAM_ADAPTATION", "maybe")):
        with monkeypatch.context() as m:
            m.setenv(variable, value)
            with pytest.raises(ConfigurationError, match=variable):
                load_settings()
    with pytest.raises(ValueError, match="levels"):
        AdaptationPolicy(levels=(2, 2, 4))


def test_each_adaptation_says_what_it_does_and_why() -> None:
    assert digest_only(2) and digest_only(3) and not digest_only(1)
    one = describe(adaptation("not_useful", 1, 2, 2))
    assert one == ("You told us fuel low suggestions were not useful twice, so they wait 2 "
                   "times longer after you dismiss one.")
    three = describe(adaptation("not_useful", 3, 2, 4))
    assert "4 times" in three and "digest only" in three and "offered once" in three
    held = describe(adaptation("too_early", 1, 1, 1))
    assert "too early once" in held and "held 1 day," in held
    assert "until the numbers behind it change" in describe(adaptation("wrong", 1, 0, 1))
    reset = Adaptation(**{**{f: getattr(adaptation("not_useful", 0, 0, 2), f)
                             for f in Adaptation.__dataclass_fields__},
                          "reset_by": "operator"})
    assert describe(reset).startswith("Reset by the operator")
    assert explained([reset]) == []  # only what is in force explains a suggestion
    [entry] = explained([adaptation("too_early", 1, 3, 3)])
    assert (entry["kind"], entry["value"], entry["since"]) == ("too_early", 3, NOW.isoformat())


def test_the_offer_is_low_and_expires_once() -> None:
    user = uuid4()
    offer = offer_candidate(user, "spending_anomaly", 4, NOW)
    assert offer.type == OFFER_TYPE and offer.priority is Priority.LOW
    assert offer.dedup_key == f"{OFFER_TYPE}:spending_anomaly"
    assert offer.expires_at == NOW + OFFER_LIFETIME and offer.computed_for == NOW
    assert "4 times" in offer.message and "We will not ask again." in offer.message
    assert offer.data["offered_type"] == "spending_anomaly"
