"""Ed25519 keys as Multikey: base58btc multibase strings with multicodec prefixes."""

from __future__ import annotations

from typing import NamedTuple

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# https://github.com/multiformats/multibase: "z" is base58btc (Bitcoin alphabet).
BASE58BTC = "z"
# https://github.com/multiformats/multicodec/blob/master/table.csv as unsigned varints:
# ed25519-pub 0xed -> ed 01, ed25519-priv 0x1300 -> 80 26.
ED25519_PUB_PREFIX = b"\xed\x01"
ED25519_PRIV_PREFIX = b"\x80\x26"
_KEY_LENGTH = 32


class MultikeyError(Exception):
    """A multibase or Multikey value that is malformed or is not an Ed25519 key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeyPair(NamedTuple):
    """An Ed25519 private key with its public key."""

    private_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey


def encode_multibase(data: bytes) -> str:
    """Encode bytes as a base58btc multibase string ('z' prefix)."""
    return BASE58BTC + base58.b58encode(data).decode("ascii")


def decode_multibase(value: str) -> bytes:
    """Decode a base58btc multibase string ('z' prefix) to bytes."""
    if not isinstance(value, str) or not value.startswith(BASE58BTC):
        raise MultikeyError("multibase value must be a string starting with 'z' (base58btc)")
    try:
        return base58.b58decode(value[1:].encode("ascii"))
    except ValueError as exc:
        raise MultikeyError(f"not valid base58btc: {exc}") from exc


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def encode_public_key(key: Ed25519PublicKey) -> str:
    """Encode an Ed25519 public key as a `z6Mk…` publicKeyMultibase."""
    return encode_multibase(ED25519_PUB_PREFIX + _raw_public(key))


def decode_public_key(value: str) -> Ed25519PublicKey:
    """Decode a publicKeyMultibase into an Ed25519 public key."""
    data = decode_multibase(value)
    if not data.startswith(ED25519_PUB_PREFIX):
        raise MultikeyError("publicKeyMultibase is not an Ed25519 public key (multicodec 0xed)")
    raw = data[len(ED25519_PUB_PREFIX) :]
    if len(raw) != _KEY_LENGTH:
        raise MultikeyError(f"Ed25519 public key must be {_KEY_LENGTH} bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def encode_private_key(key: Ed25519PrivateKey) -> str:
    """Encode an Ed25519 private key (its 32-byte seed) as a secretKeyMultibase."""
    return encode_multibase(ED25519_PRIV_PREFIX + key.private_bytes_raw())


def decode_private_key(value: str) -> Ed25519PrivateKey:
    """Decode a secretKeyMultibase (32-byte seed, or seed and public key) into a private key."""
    data = decode_multibase(value)
    if not data.startswith(ED25519_PRIV_PREFIX):
        raise MultikeyError("secretKeyMultibase is not an Ed25519 private key (multicodec 0x1300)")
    raw = data[len(ED25519_PRIV_PREFIX) :]
    # The W3C vc-di-eddsa vectors carry the 32-byte seed; 1EdTech's OB 3.0 example (like
    # @digitalbazaar/ed25519-multikey) carries seed || public key, 64 bytes.
    if len(raw) not in (_KEY_LENGTH, 2 * _KEY_LENGTH):
        raise MultikeyError(
            f"Ed25519 private key must be {_KEY_LENGTH} or {2 * _KEY_LENGTH} bytes, not {len(raw)}"
        )
    key = Ed25519PrivateKey.from_private_bytes(raw[:_KEY_LENGTH])
    if len(raw) == 2 * _KEY_LENGTH and raw[_KEY_LENGTH:] != _raw_public(key.public_key()):
        raise MultikeyError("the public half of the private key does not match its seed")
    return key


def generate_ed25519() -> KeyPair:
    """Generate a fresh Ed25519 key pair."""
    private_key = Ed25519PrivateKey.generate()
    return KeyPair(private_key, private_key.public_key())
