"""Actor keys: fresh pairs that sign and verify, sealed with the node secret and only with it."""

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation.multikey import decode_public_key
from node.errors import ConfigurationError
from node.keys import KeyMaterial, Sealer, ed25519_private_key, generate, rsa_private_key

SECRET = "node-secret-" + "k" * 40


@pytest.fixture(scope="module")
def material() -> KeyMaterial:
    return generate(Sealer(SECRET))


def test_sealed_data_round_trips() -> None:
    sealer = Sealer(SECRET)
    token = sealer.seal(b"private bytes")
    assert b"private bytes" not in token.encode("ascii")
    assert sealer.unseal(token) == b"private bytes"
    assert Sealer(SECRET).unseal(token) == b"private bytes"  # the key derives from the secret


def test_a_different_secret_cannot_unseal() -> None:
    token = Sealer(SECRET).seal(b"private bytes")
    with pytest.raises(ConfigurationError) as raised:
        Sealer(SECRET + "changed").unseal(token)
    assert "secret" in raised.value.reason


def test_a_damaged_token_cannot_unseal() -> None:
    token = Sealer(SECRET).seal(b"private bytes")
    with pytest.raises(ConfigurationError):
        Sealer(SECRET).unseal(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))


def test_private_keys_are_not_stored_in_the_clear(material: KeyMaterial) -> None:
    assert "PRIVATE KEY" not in material.rsa_private_sealed
    assert material.rsa_public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert material.ed25519_public_multibase.startswith("z6Mk")  # Multikey Ed25519 prefix


def test_rsa_key_signs_for_its_public_half(material: KeyMaterial) -> None:
    private = rsa_private_key(Sealer(SECRET), material.rsa_private_sealed)
    assert private.key_size == 2048
    signature = private.sign(b"(request-target): post /inbox", padding.PKCS1v15(), hashes.SHA256())
    public = serialization.load_pem_public_key(material.rsa_public_pem.encode("ascii"))
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, b"(request-target): post /inbox", padding.PKCS1v15(), hashes.SHA256())


def test_ed25519_key_signs_for_its_multikey(material: KeyMaterial) -> None:
    private = ed25519_private_key(Sealer(SECRET), material.ed25519_private_sealed)
    signature = private.sign(b"proof")
    decode_public_key(material.ed25519_public_multibase).verify(signature, b"proof")


def test_keys_sealed_under_another_secret_fail_clearly(material: KeyMaterial) -> None:
    other = Sealer("another-secret-" + "o" * 40)
    with pytest.raises(ConfigurationError):
        rsa_private_key(other, material.rsa_private_sealed)
    with pytest.raises(ConfigurationError):
        ed25519_private_key(other, material.ed25519_private_sealed)


def test_every_actor_gets_its_own_keys(material: KeyMaterial) -> None:
    other = generate(Sealer(SECRET))
    assert other.rsa_public_pem != material.rsa_public_pem
    assert other.ed25519_public_multibase != material.ed25519_public_multibase
