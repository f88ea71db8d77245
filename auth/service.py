"""What the API and the command line call: one object that issues and checks tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from auth.errors import InvalidToken
from auth.keys import load_or_create
from auth.principals import Anonymous, Principal, principal_from_claims
from auth.settings import AuthSettings
from auth.tokens import Audience, TokenIssuer, TokenVerifier, verifier_for


@dataclass(frozen=True)
class AuthService:
    """Token issuer and verifier built from settings."""

    issuer: TokenIssuer
    verifier: TokenVerifier

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> AuthService:
        """Load (or create) the signing key and build the pair."""
        key = load_or_create(settings.signing_key_file)
        return cls(
            issuer=TokenIssuer(
                key, settings.issuer, timedelta(seconds=settings.access_token_ttl_seconds)
            ),
            verifier=verifier_for(
                key,
                issuer=settings.issuer,
                leeway=timedelta(seconds=settings.clock_leeway_seconds),
            ),
        )

    def principal_from_header(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer`` header (``Anonymous`` when absent).

        A present but invalid token gives ``Anonymous(failure=...)``: public fields still work,
        and fields that need a principal answer ``UNAUTHENTICATED`` with the reason.
        """
        if not authorization:
            return Anonymous()
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Anonymous(
                InvalidToken("Use an Authorization header of the form 'Bearer <token>'.")
            )
        try:
            return principal_from_claims(self.verifier.verify(token.strip(), Audience.MOBILE))
        except InvalidToken as exc:
            return Anonymous(exc)
