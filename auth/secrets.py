"""The secrets ``auth`` derives from ``AUTH_SECRET_KEY``: the key-encryption key and the pepper.

Codes, refresh tokens, client secrets and the IIN in throttle buckets are stored as
HMAC-SHA256 under the pepper: a stolen table gives nothing to test guesses against offline
without the key, and every comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from auth.settings import AuthSettings

_MIN_SECRET_BYTES = 32
_NONCE_BYTES = 12
# Crockford's base32 without I, L, O, U: easy to read aloud, and QR alphanumeric-mode safe.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class MissingSecret(RuntimeError):
    """Production started without ``AUTH_SECRET_KEY``."""


def _derive(root: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"mhi-auth/{label}".encode()).derive(root)


@dataclass(frozen=True)
class Secrets:
    """Keys derived from the root secret; never printed, never logged."""

    key_encryption_key: bytes
    pepper: bytes

    @classmethod
    def from_root(cls, root: bytes) -> Secrets:
        """Derive both keys from the root secret (at least 32 bytes)."""
        if len(root) < _MIN_SECRET_BYTES:
            raise MissingSecret("AUTH_SECRET_KEY must hold at least 32 random bytes (base64)")
        return cls(_derive(root, "key-encryption"), _derive(root, "pepper"))

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Secrets:
        """From ``AUTH_SECRET_KEY``; outside production, from (or into) ``secret_key_file``."""
        if settings.secret_key is not None:
            return cls.from_root(base64.b64decode(settings.secret_key.get_secret_value()))
        if settings.environment == "production":
            raise MissingSecret("production needs AUTH_SECRET_KEY (32+ random bytes, base64)")
        return cls.from_root(_local_root(settings.secret_key_file))

    def digest(self, purpose: str, value: str) -> bytes:
        """HMAC-SHA256 of ``value`` under the pepper, separated by ``purpose``."""
        return hmac.new(self.pepper, f"{purpose}\x00{value}".encode(), sha256).digest()

    def matches(self, purpose: str, value: str, stored: bytes) -> bool:
        """Whether ``value`` hashes to ``stored`` (constant-time)."""
        return hmac.compare_digest(self.digest(purpose, value), stored)

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        """AES-256-GCM under the key-encryption key; ``context`` is bound as associated data."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self.key_encryption_key).encrypt(nonce, plaintext,
                                                               context.encode())

    def decrypt(self, sealed: bytes, context: str) -> bytes:
        """The plaintext of ``encrypt`` (raises ``InvalidTag`` if key or context differ)."""
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return AESGCM(self.key_encryption_key).decrypt(nonce, ciphertext, context.encode())


def _local_root(path: Path) -> bytes:
    """The development root secret, created on first use (mode 0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64encode(secrets.token_bytes(_MIN_SECRET_BYTES)))
    return base64.b64decode(path.read_bytes().strip())


def random_code(length: int, alphabet: str = CODE_ALPHABET) -> str:
    """``length`` characters drawn uniformly from ``alphabet`` by the system's CSPRNG."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def normalize_code(value: str) -> str:
    """A typed or scanned code as stored: upper case, no spaces or dashes, O→0, I/L→1."""
    cleaned = "".join(ch for ch in value.upper() if ch.isalnum())
    return cleaned.translate(str.maketrans("OIL", "011"))


def group(code: str, size: int = 4) -> str:
    """``ABCD-EFGH``: a code in groups, easier to read aloud."""
    return "-".join(code[i:i + size] for i in range(0, len(code), size))
