"""Actor key pairs: RSA for HTTP Signatures, Ed25519 for object proofs, sealed at rest."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from federation.multikey import encode_public_key
from node.errors import ConfigurationError


@dataclass(frozen=True)
class KeyMaterial:
    """A new actor's keys: public halves in the clear, private halves sealed."""

    rsa_public_pem: str
    rsa_private_sealed: str
    ed25519_public_multibase: str
    ed25519_private_sealed: str


class Sealer:
    """Encrypts private keys at rest with a key derived from the node secret."""

    def __init__(self, secret: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"guildhall actor keys"
        ).derive(secret.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode("ascii")

    def unseal(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except InvalidToken as exc:
            raise ConfigurationError(
                "a private key cannot be decrypted: the node secret has changed"
            ) from exc


def generate(sealer: Sealer) -> KeyMaterial:
    """Fresh RSA-2048 and Ed25519 key pairs for a new actor."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    return KeyMaterial(
        rsa_public_pem=rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii"),
        rsa_private_sealed=sealer.seal(
            rsa_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        ed25519_public_multibase=encode_public_key(ed_key.public_key()),
        ed25519_private_sealed=sealer.seal(ed_key.private_bytes_raw()),
    )


def rsa_private_key(sealer: Sealer, sealed: str) -> rsa.RSAPrivateKey:
    """The RSA private key behind a sealed PEM."""
    # Our own keys, generated here and sealed: skipping the costly RSA self-check is safe.
    key = serialization.load_pem_private_key(
        sealer.unseal(sealed), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError("stored key is not an RSA key")
    return key


def ed25519_private_key(sealer: Sealer, sealed: str) -> ed25519.Ed25519PrivateKey:
    """The Ed25519 private key behind a sealed raw key."""
    return ed25519.Ed25519PrivateKey.from_private_bytes(sealer.unseal(sealed))
