"""Who is calling: the operator (``PAM_API_TOKEN``), a traveler (a Supabase user JWT), or,
when no token is configured and the server listens on loopback only, any local process.

A traveler's JWT is checked as Supabase issues it: HS256 with ``SUPABASE_JWT_SECRET``, or an
asymmetric key (ES256, RS256) from the project's JWKS (``SUPABASE_JWKS`` inline, or fetched
from ``SUPABASE_JWKS_URL``); ``exp`` and ``sub`` required, ``aud`` = ``PAM_JWT_AUDIENCE``
(default ``authenticated``). The token's ``sub`` is the traveler's user id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import jwt
from jwt.exceptions import InvalidSubjectError

from pam_proactive.api.errors import forbidden, unauthorized
from pam_proactive.config import Settings

CallerKind = Literal["operator", "local", "user"]
_ASYMMETRIC = ("ES256", "RS256")


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller. ``rate_key`` identifies it for rate limiting."""

    kind: CallerKind
    user_id: UUID | None
    rate_key: str

    @property
    def is_operator(self) -> bool:
        """True for the API token's holder (or a local caller when no token is set)."""
        return self.kind != "user"

    def require_operator(self) -> None:
        """Raise 403 unless this caller may use operator endpoints."""
        if not self.is_operator:
            raise forbidden("operator endpoint: use the API token (PAM_API_TOKEN), "
                            "not a traveler's JWT")

    def require_user(self, user_id: UUID) -> None:
        """Raise 403 unless this caller may see and change ``user_id``'s data."""
        if not self.is_operator and self.user_id != user_id:
            raise forbidden("this token's subject is another traveler: a traveler's JWT only "
                            "reaches its own data")


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Caller`, or raises 401."""

    def __init__(self, settings: Settings) -> None:
        self._token = settings.api_token.get_secret_value().encode() if settings.api_token \
            else None
        self._secret = settings.supabase_jwt_secret.get_secret_value() \
            if settings.supabase_jwt_secret else None
        self._jwks = jwt.PyJWKSet.from_json(settings.supabase_jwks) \
            if settings.supabase_jwks else None
        self._jwks_client = jwt.PyJWKClient(settings.supabase_jwks_url, cache_keys=True) \
            if settings.supabase_jwks_url else None
        self.audience = settings.jwt_audience

    @property
    def open_locally(self) -> bool:
        """True when no API token is configured: loopback callers need no credentials."""
        return self._token is None

    @property
    def accepts_jwts(self) -> bool:
        """True when some JWT verification key is configured."""
        return bool(self._secret or self._jwks or self._jwks_client)

    async def authenticate(self, authorization: str | None, client: str) -> Caller:
        """The caller behind ``authorization`` (the header's value, or None)."""
        if not authorization:
            if self.open_locally:
                return Caller("local", None, f"ip:{client}")
            raise unauthorized("missing_credentials",
                               "send Authorization: Bearer <PAM_API_TOKEN or a user JWT>")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise unauthorized("invalid_credentials",
                               "the Authorization header must be 'Bearer <token>'")
        if self._token is not None and hmac.compare_digest(credential.encode(), self._token):
            return Caller("operator", None, "token:" + _fingerprint(credential))
        if credential.count(".") == 2 and self.accepts_jwts:
            user_id = await self._verify_jwt(credential)
            return Caller("user", user_id, f"user:{user_id}")
        raise unauthorized("invalid_credentials",
                           "the bearer token is neither the API token nor a user JWT this "
                           "server can verify")

    async def _verify_jwt(self, token: str) -> UUID:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthorized("invalid_token", "the JWT is malformed") from None
        alg = header.get("alg")
        key = await self._key_for(alg, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[str(alg)], audience=self.audience,
                options={"require": ["exp", "sub", "aud"]}, leeway=5)
        except jwt.PyJWTError as exc:
            raise unauthorized("invalid_token", jwt_failure(exc, self.audience)) from None
        sub = claims["sub"]
        if not isinstance(sub, str):
            raise unauthorized("invalid_token", "the JWT's 'sub' claim is not a string: it "
                               "must be the traveler's user id")
        try:
            return UUID(sub)
        except ValueError:
            raise unauthorized("invalid_token", "the JWT's subject is not a user id") from None

    async def _key_for(self, alg: object, kid: object) -> Any:
        if alg == "HS256":
            if not self._secret:
                raise unauthorized("invalid_token", "HS256 JWTs are not accepted here: "
                                   "SUPABASE_JWT_SECRET is not set")
            return self._secret
        if alg not in _ASYMMETRIC:  # the header's value is the caller's: not echoed
            raise unauthorized("invalid_token", "the JWT's algorithm is not accepted: use "
                               f"HS256 or {' or '.join(_ASYMMETRIC)}")
        if self._jwks is not None:
            for candidate in self._jwks.keys:
                if kid is None or candidate.key_id == kid:
                    return candidate
        if self._jwks_client is not None:
            try:  # the client caches keys; the first fetch blocks, so off the event loop
                return await asyncio.to_thread(self._jwks_client.get_signing_key, str(kid))
            except jwt.PyJWKClientError:
                pass
        raise unauthorized("invalid_token",
                           "the JWT's signing key is not in the configured JWKS")


# PyJWT's claim checks, each with the reason said to the caller (PyJWT's own messages are
# not passed on: they may quote a claim's value). Subclasses first.
_JWT_FAILURES: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the JWT has expired: sign in again"),
    (jwt.ImmatureSignatureError, "the JWT is not valid yet (its 'nbf' or 'iat' is in the "
                                 "future): check the issuer's clock"),
    (jwt.InvalidAudienceError, "the JWT's audience is not {audience!r}"),
    (jwt.InvalidIssuedAtError, "the JWT's 'iat' claim is not a number"),
    (InvalidSubjectError, "the JWT's 'sub' claim is not a string: it must be the "
                          "traveler's user id"),
    (jwt.InvalidSignatureError, "the JWT's signature does not verify"),
    (jwt.InvalidAlgorithmError, "the JWT's algorithm does not match its key"),
    (jwt.DecodeError, "the JWT is malformed"),
)


def jwt_failure(exc: jwt.PyJWTError, audience: str) -> str:
    """Why PyJWT refused a token, in words that never quote the token's own values."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the JWT has no {exc.claim!r} claim"
    for kind, reason in _JWT_FAILURES:
        if isinstance(exc, kind):
            return reason.format(audience=audience)
    return "the JWT is invalid (" + type(exc).__name__ + ")"


def _fingerprint(secret: str) -> str:
    """A short, non-reversible name for a secret (rate-limit keys never hold it)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]
