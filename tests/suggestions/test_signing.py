"""Standard Webhooks signatures: the shipped signer and verifier, checked against the spec's
reference implementation (the `standardwebhooks` package)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from pam_proactive.config import load_settings
from pam_proactive.errors import ConfigurationError
from pam_proactive.suggestions.signing import (
    WebhookVerificationError,
    sign_headers,
    verify,
)
from receiver import SECRET

OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())
BODY = b'{"id":"x","title":"Oil change"}'


def test_signature_is_hmac_of_id_timestamp_and_body() -> None:
    headers = sign_headers([SECRET], "msg_1", STAMP, BODY)
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"msg_1.{STAMP}.".encode() + BODY, hashlib.sha256).digest()
    assert headers == {"webhook-id": "msg_1", "webhook-timestamp": str(STAMP),
                       "webhook-signature": "v1," + base64.b64encode(digest).decode()}
    assert verify(SECRET, headers, BODY, now=NOW) == "msg_1"


def test_the_reference_implementation_accepts_our_signatures() -> None:
    now = datetime.now(UTC)
    headers = sign_headers([SECRET, OLD], "msg_2", int(now.timestamp()), BODY)
    assert Webhook(SECRET).verify(BODY, headers) == {"id": "x", "title": "Oil change"}
    assert Webhook(OLD).verify(BODY, headers) is not None  # rotation: either secret verifies
    reference = Webhook(SECRET).sign("msg_2", now, BODY.decode())
    assert reference in headers["webhook-signature"].split()


def test_rotation_signs_with_every_secret() -> None:
    headers = sign_headers([SECRET, OLD], "msg_3", STAMP, BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify(OLD, headers, BODY, now=NOW) == "msg_3"
    assert verify([OLD, SECRET], headers, BODY, now=NOW) == "msg_3"
    only_new = sign_headers([SECRET], "msg_3", STAMP, BODY)
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(OLD, only_new, BODY, now=NOW)


@pytest.mark.parametrize(("change", "reason"), [
    ({"webhook-id": "msg_other"}, "no signature matches"),  # a forged dedup key
    ({"webhook-timestamp": str(STAMP + 1)}, "no signature matches"),  # re-dated, same sig
    ({"webhook-signature": "v1," + base64.b64encode(b"0" * 32).decode()}, "no signature"),
    ({"webhook-signature": "v2,abc"}, "no signature matches"),
    ({"webhook-timestamp": "yesterday"}, "Unix seconds"),
    ({"webhook-id": ""}, "missing"),
])
def test_tampered_requests_are_rejected(change: dict[str, str], reason: str) -> None:
    headers = sign_headers([SECRET], "msg_4", STAMP, BODY) | change
    with pytest.raises(WebhookVerificationError, match=reason):
        verify(SECRET, headers, BODY, now=NOW)


def test_a_changed_body_is_rejected() -> None:
    headers = sign_headers([SECRET], "msg_5", STAMP, BODY)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(SECRET, headers, BODY + b" ", now=NOW)


def test_timestamps_outside_the_tolerance_are_rejected() -> None:
    headers = sign_headers([SECRET], "msg_6", STAMP, BODY)
    # A captured request replayed later: within 5 minutes it verifies, after that never.
    assert verify(SECRET, headers, BODY, now=NOW + timedelta(seconds=299)) == "msg_6"
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(SECRET, headers, BODY, now=NOW + timedelta(seconds=301))
    with pytest.raises(WebhookVerificationError, match="future"):
        verify(SECRET, headers, BODY, now=NOW - timedelta(seconds=301))
    assert verify(SECRET, headers, BODY, now=NOW + timedelta(hours=1), tolerance=7200) == "msg_6"
    # A year-old capture given a fresh timestamp no longer matches its signature.
    year_old = sign_headers([SECRET], "msg_6", STAMP - 365 * 86400, BODY)
    redated = year_old | {"webhook-timestamp": str(STAMP)}
    with pytest.raises(WebhookVerificationError):
        verify(SECRET, redated, BODY, now=NOW)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(SECRET, year_old, BODY, now=NOW)


def test_header_names_are_case_insensitive() -> None:
    headers = {k.title(): v for k, v in sign_headers([SECRET], "msg_7", STAMP, BODY).items()}
    assert verify(SECRET, headers, BODY, now=NOW) == "msg_7"


@pytest.mark.parametrize(("value", "message"), [
    ("plain-text-secret", "whsec_"),
    ("whsec_!!!notbase64", "base64"),
    ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes"),
    (f"{SECRET},nope", "whsec_"),
])
def test_secrets_must_be_whsec(monkeypatch: pytest.MonkeyPatch, value: str, message: str
                               ) -> None:
    monkeypatch.setenv("PAM_WEBHOOK_URL", "https://hooks.example/pam")
    monkeypatch.setenv("PAM_WEBHOOK_SECRET", value)
    with pytest.raises(ConfigurationError, match="PAM_WEBHOOK_SECRET") as info:
        load_settings()
    assert message in str(info.value)
    assert value not in str(info.value)  # a secret is never echoed


def test_a_rotation_list_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAM_WEBHOOK_URL", "https://hooks.example/pam")
    monkeypatch.setenv("PAM_WEBHOOK_SECRET", f"{SECRET}, {OLD}")
    assert load_settings().webhook_secret == f"{SECRET}, {OLD}"


@pytest.mark.parametrize(("variable", "value"), [
    ("PAM_CHANNELS", "pigeon"), ("PAM_CHANNELS", "none,webhook"),
    ("PAM_DELIVERY_RETRY_SCHEDULE", "5s,soon"), ("PAM_DELIVERY_RETRY_SCHEDULE", "0s,5m"),
    ("PAM_DELIVERY_CONCURRENCY", "0"),
])
def test_delivery_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str,
                                             value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_delivery_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAM_CHANNELS", "PAM_DELIVERY_RETRY_SCHEDULE", "PAM_DELIVERY_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert s.retry_delays == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert (s.declared_channels, s.delivery_concurrency) == (None, 16)
    assert load_settings(channels="none").declared_channels == ()
    assert load_settings(channels="webhook").declared_channels == ("webhook",)
