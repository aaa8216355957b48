"""Standard Webhooks signatures (https://www.standardwebhooks.com/): signing and verifying.

Every request carries three headers:

- ``webhook-id``: the message id, the same on every retry (the receiver's deduplication key);
- ``webhook-timestamp``: Unix seconds when the attempt was signed;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, one per
  secret, space-separated (several while a secret is being rotated).

The id and the timestamp are signed with the body, so a captured request cannot be replayed
later (its timestamp falls outside the tolerance) nor given another id (the signature no longer
matches). Secrets are ``whsec_<base64>`` strings; the key is the decoded bytes.

Receivers call :func:`verify` on the raw body bytes, before any JSON parsing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from pam_proactive.config import parse_webhook_secret

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
DEFAULT_TOLERANCE = 300.0  # seconds a timestamp may be off the receiver's clock
_VERSION = "v1"


class WebhookVerificationError(ValueError):
    """The request is not a valid, fresh signed webhook; the message says why (no values)."""


def secret_key(secret: str | bytes) -> bytes:
    """A ``whsec_`` secret's key bytes, or raw key bytes as given."""
    return secret if isinstance(secret, bytes) else parse_webhook_secret(secret)


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``<msg_id>.<timestamp>.<body>`` with ``key``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{_VERSION},{base64.b64encode(digest).decode()}"


def sign_headers(secrets: Iterable[str | bytes], msg_id: str, timestamp: int, body: bytes
                 ) -> dict[str, str]:
    """The three headers of one request: every secret signs (rotation: old and new)."""
    signatures = " ".join(signature(secret_key(s), msg_id, timestamp, body) for s in secrets)
    if not signatures:
        raise ValueError("at least one secret is needed to sign")
    return {ID_HEADER: msg_id, TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signatures}


def verify(secrets: str | bytes | Iterable[str | bytes], headers: Mapping[str, str],
           body: bytes, *, tolerance: float = DEFAULT_TOLERANCE,
           now: datetime | None = None) -> str:
    """For receivers: check a request's headers against its raw ``body``; return its
    ``webhook-id`` (the deduplication key) or raise :class:`WebhookVerificationError`.

    ``secrets``: one ``whsec_`` secret or several (accept the old and the new one while
    rotating). ``tolerance``: seconds the timestamp may differ from ``now`` (default the
    wall clock) either way. Header names are matched case-insensitively; signatures are
    compared in constant time.
    """
    keys = [secret_key(s) for s in ((secrets,) if isinstance(secrets, str | bytes) else secrets)]
    if not keys:
        raise ValueError("at least one secret is needed to verify")
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, given = (lower.get(h) for h in (ID_HEADER, TIMESTAMP_HEADER,
                                                   SIGNATURE_HEADER))
    if not msg_id or not stamp or not given:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or "
                                       "webhook-signature header")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not Unix seconds") from None
    moment = (now or datetime.now(UTC)).timestamp()
    if timestamp < moment - tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if timestamp > moment + tolerance:
        raise WebhookVerificationError("webhook-timestamp is in the future")
    offered = []
    for part in given.split():
        version, _, value = part.partition(",")
        if version != _VERSION:
            continue
        try:
            offered.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    for key in keys:
        expected = base64.b64decode(signature(key, msg_id, timestamp, body).split(",", 1)[1])
        if any(hmac.compare_digest(expected, o) for o in offered):
            return msg_id
    raise WebhookVerificationError("no signature matches")
