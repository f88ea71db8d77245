"""Access tokens: what verification accepts and everything it must reject."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth.errors import InvalidToken
from auth.keys import signing_key_from, thumbprint
from auth.secrets import MissingSecret, Secrets
from auth.settings import AuthSettings
from auth.tokens import Audience, TokenIssuer, TokenVerifier, verifier_for

ISSUER = "https://mhi.test"
Pair = tuple[TokenIssuer, TokenVerifier]


@pytest.fixture
def key_pair() -> Pair:
    key = signing_key_from(Ed25519PrivateKey.generate())
    issuer = TokenIssuer(key, ISSUER, timedelta(minutes=15))
    return issuer, verifier_for(key, issuer=ISSUER, leeway=timedelta(seconds=30))


def _b64(data: Mapping[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TestVerify:
    def test_a_fresh_token_verifies_with_its_claims(self, key_pair: Pair) -> None:
        issuer, verifier = key_pair
        claims = verifier.verify(issuer.mint("person-1", Audience.MOBILE), Audience.MOBILE)
        assert claims.subject == "person-1"
        assert claims.audience is Audience.MOBILE
        assert claims.expires_at - claims.issued_at == timedelta(minutes=15)
        assert len(claims.token_id) == 32

    def test_header_names_the_key_and_algorithm(self, key_pair: Pair) -> None:
        issuer, _ = key_pair
        header = jwt.get_unverified_header(issuer.mint("p", Audience.MOBILE))
        assert header == {"alg": "EdDSA", "kid": issuer.key.kid, "typ": "JWT"}

    def test_unsigned_token_is_rejected(self, key_pair: Pair) -> None:
        issuer, verifier = key_pair
        payload = jwt.decode(issuer.mint("p", Audience.MOBILE), options={"verify_signature": False})
        forged = f"{_b64({'alg': 'none', 'kid': issuer.key.kid})}.{_b64(payload)}."
        with pytest.raises(InvalidToken):
            verifier.verify(forged, Audience.MOBILE)

    def test_hmac_signed_with_the_public_key_is_rejected(self, key_pair: Pair) -> None:
        issuer, verifier = key_pair
        public_pem = issuer.key.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        payload = jwt.decode(issuer.mint("p", Audience.MOBILE), options={"verify_signature": False})
        header = {"alg": "HS256", "kid": issuer.key.kid, "typ": "JWT"}
        signing_input = f"{_b64(header)}.{_b64(payload)}".encode()
        import hashlib
        import hmac

        signature = (
            base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
            .rstrip(b"=")
            .decode()
        )
        with pytest.raises(InvalidToken):
            verifier.verify(f"{signing_input.decode()}.{signature}", Audience.MOBILE)

    def test_expired_token_is_rejected(self, key_pair: Pair) -> None:
        issuer, verifier = key_pair
        old = datetime.now(UTC) - timedelta(hours=1)
        with pytest.raises(InvalidToken, match="expired"):
            verifier.verify(issuer.mint("p", Audience.MOBILE, now=old), Audience.MOBILE)

    def test_token_for_another_audience_is_rejected(self, key_pair: Pair) -> None:
        issuer, verifier = key_pair
        with pytest.raises(InvalidToken):
            verifier.verify(issuer.mint("p", Audience.DESK), Audience.MOBILE)

    def test_token_from_another_issuer_is_rejected(self, key_pair: Pair) -> None:
        issuer, verifier = key_pair
        other = TokenIssuer(issuer.key, "https://evil.example", timedelta(minutes=5))
        with pytest.raises(InvalidToken):
            verifier.verify(other.mint("p", Audience.MOBILE), Audience.MOBILE)

    def test_unknown_key_is_rejected(self, key_pair: Pair) -> None:
        _, verifier = key_pair
        stranger = TokenIssuer(
            signing_key_from(Ed25519PrivateKey.generate()), ISSUER, timedelta(minutes=5)
        )
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.verify(stranger.mint("p", Audience.MOBILE), Audience.MOBILE)

    def test_key_id_pointing_at_a_trusted_key_does_not_save_a_foreign_signature(
        self, key_pair: Pair
    ) -> None:
        issuer, verifier = key_pair
        foreign = signing_key_from(Ed25519PrivateKey.generate())
        token = jwt.encode(
            {"sub": "p"}, foreign.private_key, algorithm="EdDSA", headers={"kid": issuer.key.kid}
        )
        with pytest.raises(InvalidToken):
            verifier.verify(token, Audience.MOBILE)

    def test_tampered_payload_is_rejected(self, key_pair: Pair) -> None:
        issuer, verifier = key_pair
        header, payload, signature = issuer.mint("alice", Audience.MOBILE).split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["sub"] = "mallory"
        with pytest.raises(InvalidToken):
            verifier.verify(f"{header}.{_b64(claims)}.{signature}", Audience.MOBILE)

    @pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "...."])
    def test_garbage_is_rejected(self, key_pair: Pair, garbage: str) -> None:
        _, verifier = key_pair
        with pytest.raises(InvalidToken):
            verifier.verify(garbage, Audience.MOBILE)


class FakeTime:
    """A clock for a verifier's remembered tokens, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now


class TestRemembered:
    """A verifier with a memory of verified tokens skips only the signature and parsing."""

    @pytest.fixture
    def pair(self) -> tuple[TokenIssuer, TokenVerifier, FakeTime]:
        key = signing_key_from(Ed25519PrivateKey.generate())
        clock = FakeTime()
        return (TokenIssuer(key, ISSUER, timedelta(minutes=15)),
                TokenVerifier({key.kid: key.public_key}, ISSUER, timedelta(seconds=30),
                              cache_size=3, clock=clock), clock)

    def test_a_remembered_token_gives_the_same_claims(
            self, pair: tuple[TokenIssuer, TokenVerifier, FakeTime]) -> None:
        issuer, verifier, _ = pair
        token = issuer.mint("p", Audience.MOBILE)
        first = verifier.verify(token, Audience.MOBILE)
        assert verifier.remembered == 1
        assert verifier.verify(token, Audience.MOBILE) == first
        assert verifier.remembered == 1

    def test_a_remembered_token_past_its_expiry_is_refused(
            self, pair: tuple[TokenIssuer, TokenVerifier, FakeTime]) -> None:
        issuer, verifier, clock = pair
        token = issuer.mint("p", Audience.MOBILE)
        claims = verifier.verify(token, Audience.MOBILE)
        clock.now = claims.expires_at.timestamp() + 29  # within the leeway, as PyJWT
        assert verifier.verify(token, Audience.MOBILE) == claims
        clock.now = claims.expires_at.timestamp() + 30
        with pytest.raises(InvalidToken, match="expired") as refused:
            verifier.verify(token, Audience.MOBILE)
        assert refused.value.reason == "TOKEN_EXPIRED"
        assert verifier.remembered == 0

    def test_a_remembered_token_is_still_refused_for_another_audience(
            self, pair: tuple[TokenIssuer, TokenVerifier, FakeTime]) -> None:
        issuer, verifier, _ = pair
        token = issuer.mint("p", Audience.DESK)
        verifier.verify(token, Audience.DESK, Audience.MOBILE)
        with pytest.raises(InvalidToken, match="not valid"):
            verifier.verify(token, Audience.MOBILE)

    def test_failures_are_not_remembered(
            self, pair: tuple[TokenIssuer, TokenVerifier, FakeTime]) -> None:
        issuer, verifier, _ = pair
        token = issuer.mint("p", Audience.MOBILE)
        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        for _ in range(2):
            with pytest.raises(InvalidToken):
                verifier.verify(tampered, Audience.MOBILE)
        assert verifier.remembered == 0

    def test_the_memory_is_bounded_least_recently_used_first_out(
            self, pair: tuple[TokenIssuer, TokenVerifier, FakeTime]) -> None:
        issuer, verifier, _ = pair
        tokens = [issuer.mint(f"p{index}", Audience.MOBILE) for index in range(5)]
        for token in tokens[:3]:
            verifier.verify(token, Audience.MOBILE)
        verifier.verify(tokens[0], Audience.MOBILE)  # used again: the newest
        for token in tokens[3:]:
            verifier.verify(token, Audience.MOBILE)
        assert verifier.remembered == 3
        assert set(verifier._verified) == {  # which ones, by their hashes
            hashlib.sha256(token.encode()).digest() for token in (tokens[0], *tokens[3:])}
        # A forgotten token is verified again, not refused.
        assert verifier.verify(tokens[1], Audience.MOBILE).subject == "p1"


class TestKeys:
    def test_secret_file_is_created_private_and_reused(self, tmp_path: Path) -> None:
        path = tmp_path / "auth" / "secret.key"
        settings = AuthSettings(environment="development", secret_key=None,
                                secret_key_file=path)
        first = Secrets.from_settings(settings)
        assert path.stat().st_mode & 0o777 == 0o600
        assert len(base64.b64decode(path.read_bytes().strip())) >= 32
        again = Secrets.from_settings(settings)
        assert again == first
        assert again.digest("otp", "123456") == first.digest("otp", "123456")

    def test_an_existing_secret_file_is_not_rewritten(self, tmp_path: Path) -> None:
        path = tmp_path / "secret.key"
        root = bytes(range(100, 132))
        path.write_bytes(base64.b64encode(root))
        settings = AuthSettings(environment="test", secret_key=None, secret_key_file=path)
        assert Secrets.from_settings(settings) == Secrets.from_root(root)
        assert path.read_bytes() == base64.b64encode(root)

    def test_production_without_a_secret_refuses_to_start(self, tmp_path: Path) -> None:
        path = tmp_path / "secret.key"
        settings = AuthSettings(environment="production", secret_key=None,
                                secret_key_file=path)
        with pytest.raises(MissingSecret):
            Secrets.from_settings(settings)
        assert not path.exists()

    def test_a_short_root_secret_is_refused(self) -> None:
        with pytest.raises(MissingSecret):
            Secrets.from_root(bytes(31))

    def test_kid_is_the_rfc7638_thumbprint(self) -> None:
        key = signing_key_from(Ed25519PrivateKey.generate())
        assert key.kid == thumbprint(key.public_key)
        jwk = key.public_jwk()
        assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["kid"] == key.kid
        assert "d" not in jwk
