"""The asymmetric key that signs access tokens (Ed25519), and its public JWK.

Keys live in the database and rotate (``auth.keyring``); the ``kid`` is the RFC 7638
thumbprint, so verifiers can hold several keys at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """A private key with its key id."""

    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The verifying half."""
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK (RFC 8037), for ``/.well-known/jwks.json``."""
        return {**_okp_members(self.public_key), "kid": self.kid, "use": "sig", "alg": ALGORITHM}


def _okp_members(public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}


def thumbprint(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 JWK thumbprint: SHA-256 of the required members in lexicographic order."""
    canonical = json.dumps(_okp_members(public_key), separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def signing_key_from(private_key: Ed25519PrivateKey) -> SigningKey:
    """Wrap a private key with its thumbprint as ``kid``."""
    return SigningKey(kid=thumbprint(private_key.public_key()), private_key=private_key)
