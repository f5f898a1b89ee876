"""Ed25519 Multikey encoding against published keys."""

import json
from pathlib import Path

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.multikey import (
    MultikeyError,
    decode_multibase,
    decode_private_key,
    decode_public_key,
    encode_multibase,
    encode_private_key,
    encode_public_key,
    generate_ed25519,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
W3C_KEYS = json.loads((VECTORS / "w3c-vc-di-eddsa" / "TestVectors" / "keyPair.json").read_text())
OB3_KEYS = json.loads((VECTORS / "ob3-1edtech-eddsa-rdfc-2022" / "keypair.json").read_text())


def test_w3c_private_key_derives_its_published_public_key() -> None:
    private_key = decode_private_key(W3C_KEYS["privateKeyMultibase"])
    assert encode_public_key(private_key.public_key()) == W3C_KEYS["publicKeyMultibase"]
    assert encode_private_key(private_key) == W3C_KEYS["privateKeyMultibase"]


def test_ob3_private_key_with_public_half_decodes_to_published_seed() -> None:
    private_key = decode_private_key(OB3_KEYS["secretKeyMultibase"])
    assert private_key.private_bytes_raw().hex() == OB3_KEYS["privateKeySeedHex"]
    public_key = decode_public_key(OB3_KEYS["publicKeyMultibase"])
    assert public_key.public_bytes_raw().hex() == OB3_KEYS["publicKeyHex"]
    assert encode_public_key(private_key.public_key()) == OB3_KEYS["publicKeyMultibase"]


def test_public_key_round_trip_starts_with_z6mk() -> None:
    pair = generate_ed25519()
    encoded = encode_public_key(pair.public_key)
    assert encoded.startswith("z6Mk")
    assert decode_public_key(encoded).public_bytes_raw() == pair.public_key.public_bytes_raw()


def test_generated_keys_sign_and_verify() -> None:
    private_key, public_key = generate_ed25519()
    restored = decode_private_key(encode_private_key(private_key))
    public_key.verify(restored.sign(b"guildhall"), b"guildhall")


def test_multibase_round_trip() -> None:
    assert decode_multibase(encode_multibase(b"\x00\x01hello")) == b"\x00\x01hello"


@pytest.mark.parametrize("value", ["", "m" + "A" * 10, "z0OIl"])
def test_decode_multibase_rejects_non_base58btc(value: str) -> None:
    with pytest.raises(MultikeyError):
        decode_multibase(value)


def test_decode_public_key_rejects_private_prefix() -> None:
    with pytest.raises(MultikeyError, match="0xed"):
        decode_public_key(W3C_KEYS["privateKeyMultibase"])


def test_decode_private_key_rejects_public_prefix() -> None:
    with pytest.raises(MultikeyError, match="0x1300"):
        decode_private_key(W3C_KEYS["publicKeyMultibase"])


def test_decode_public_key_rejects_wrong_length() -> None:
    short = "z" + base58.b58encode(b"\xed\x01" + b"\x01" * 31).decode()
    with pytest.raises(MultikeyError, match="32 bytes, not 31"):
        decode_public_key(short)


def test_decode_private_key_rejects_wrong_length() -> None:
    odd = "z" + base58.b58encode(b"\x80\x26" + b"\x01" * 48).decode()
    with pytest.raises(MultikeyError, match="not 48"):
        decode_private_key(odd)


def test_decode_private_key_rejects_mismatched_public_half() -> None:
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    other = generate_ed25519().public_key.public_bytes_raw()
    value = "z" + base58.b58encode(b"\x80\x26" + seed + other).decode()
    with pytest.raises(MultikeyError, match="does not match"):
        decode_private_key(value)
