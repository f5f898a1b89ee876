"""HTTP Signatures: signing as Mastodon does; verifying draft-cavage and RFC 9421 requests."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation.signatures import (
    HttpSignatureAuth,
    PublicKey,
    SignatureError,
    load_public_key_pem,
    parse_signature_request,
    read_signed_request,
    sign_request,
    verify,
    verify_with_refetch,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "signatures"
MASTODON = json.loads((FIXTURES / "mastodon_signature_verification_spec.json").read_text())
RFC9421 = json.loads((FIXTURES / "rfc9421_appendix_b.json").read_text())

NOW = datetime(2023, 12, 20, 10, 0, tzinfo=UTC)
KEY_ID = "https://school.example/members/ada#main-key"
INBOX = "https://remote.example/users/bob/inbox"
ACTIVITY = b'{"type":"Follow","actor":"https://school.example/members/ada"}'


def _private_key(pem: str) -> Any:
    return serialization.load_pem_private_key(pem.encode(), password=None)


MASTODON_KEY: rsa.RSAPrivateKey = _private_key(MASTODON["private_key_pem"])
# Independent of Mastodon's key, so "wrong key" tests cannot pass by accident.
OUR_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _rsa_sign(key: rsa.RSAPrivateKey, text: str) -> str:
    signature = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def _signed_post(now: datetime = NOW, body: bytes = ACTIVITY) -> dict[str, str]:
    return sign_request(
        "POST",
        INBOX,
        {"Content-Type": "application/activity+json"},
        body,
        KEY_ID,
        OUR_KEY,
        now,
    )


def _check(
    method: str, path: str, headers: dict[str, str], body: bytes, now: datetime = NOW
) -> None:
    verify(parse_signature_request(method, path, headers, body, now), OUR_KEY.public_key())


# Mastodon's own vectors (spec/requests/signature_verification_spec.rb), signed by its Ruby code.


@pytest.mark.parametrize("case", MASTODON["cases"], ids=lambda case: case["name"])
def test_mastodon_signature_verification_spec(case: dict[str, Any]) -> None:
    now = datetime.fromisoformat(MASTODON["now"])

    def check() -> None:
        signed = parse_signature_request(
            case["method"],
            case["path"],
            case["headers"],
            case["body"].encode(),
            now,
            scheme=MASTODON["scheme"],
        )
        assert signed.key_id == MASTODON["key_id"]
        verify(signed, MASTODON_KEY.public_key())

    if case["error"] is None:
        check()
    else:
        with pytest.raises(SignatureError) as raised:
            check()
        assert case["error"] in raised.value.reason


# Signing


def test_sign_request_matches_mastodon_request_rb_byte_for_byte() -> None:
    # What Mastodon's app/lib/request.rb sends for a delivery: (request-target), Host and Date
    # from set_common_headers!, Digest from set_digest!, Content-Type from the delivery worker.
    date = "Wed, 20 Dec 2023 10:00:00 GMT"
    digest = f"SHA-256={_sha256(ACTIVITY)}"
    signing_string = (
        "(request-target): post /users/bob/inbox\n"
        "host: remote.example\n"
        f"date: {date}\n"
        f"digest: {digest}\n"
        "content-type: application/activity+json"
    )
    expected = (
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",'
        'headers="(request-target) host date digest content-type",'
        f'signature="{_rsa_sign(MASTODON_KEY, signing_string)}"'
    )

    headers = sign_request(
        "POST",
        INBOX,
        {"Content-Type": "application/activity+json"},
        ACTIVITY,
        KEY_ID,
        MASTODON_KEY,
        NOW,
    )

    assert headers == {
        "Content-Type": "application/activity+json",
        "Host": "remote.example",
        "Date": date,
        "Digest": digest,
        "Signature": expected,
    }


def test_sign_get_covers_accept_and_query() -> None:
    accept = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    headers = sign_request(
        "GET",
        "https://remote.example/users/bob/outbox?page=true",
        {"Accept": accept},
        None,
        KEY_ID,
        OUR_KEY,
        NOW,
    )

    assert 'headers="(request-target) host date accept"' in headers["Signature"]
    assert "Digest" not in headers
    signed = read_signed_request("GET", "/users/bob/outbox?page=true", headers)
    assert (
        signed.bases[0]
        == (
            "(request-target): get /users/bob/outbox?page=true\n"
            "host: remote.example\n"
            "date: Wed, 20 Dec 2023 10:00:00 GMT\n"
            f"accept: {accept}"
        ).encode()
    )
    _check("GET", "/users/bob/outbox?page=true", headers, b"")


def test_sign_keeps_a_non_default_port_in_host() -> None:
    headers = sign_request("GET", "http://127.0.0.1:8001/actor", {}, None, KEY_ID, OUR_KEY, NOW)
    assert headers["Host"] == "127.0.0.1:8001"
    default = sign_request("GET", "https://remote.example:443/a", {}, None, KEY_ID, OUR_KEY, NOW)
    assert default["Host"] == "remote.example"


def test_sign_replaces_a_stale_digest() -> None:
    headers = sign_request(
        "POST", INBOX, {"digest": "SHA-256=stale"}, ACTIVITY, KEY_ID, OUR_KEY, NOW
    )
    assert "digest" not in headers
    assert headers["Digest"] == f"SHA-256={_sha256(ACTIVITY)}"


def test_sign_replaces_a_stale_signature() -> None:
    first = _signed_post(now=NOW - timedelta(minutes=10))
    again = sign_request("POST", INBOX, first, ACTIVITY, KEY_ID, OUR_KEY, NOW)
    assert [name for name in again if name.lower() == "signature"] == ["Signature"]
    _check("POST", "/users/bob/inbox", again, ACTIVITY)


def test_sign_refuses_a_naive_clock() -> None:
    with pytest.raises(ValueError):
        sign_request("GET", INBOX, {}, None, KEY_ID, OUR_KEY, datetime(2023, 12, 20))


def test_sign_then_verify_round_trip() -> None:
    headers = _signed_post()
    signed = parse_signature_request("POST", "/users/bob/inbox", headers, ACTIVITY, NOW)
    assert signed.key_id == KEY_ID
    assert signed.scheme == "draft-cavage"
    assert signed.covered == ("(request-target)", "host", "date", "digest", "content-type")
    verify(signed, OUR_KEY.public_key())


# RFC 9421 Appendix B and section 4.3, with the RFC's published test keys.


def _rfc_request(example: str) -> tuple[dict[str, str], dict[str, Any]]:
    vector = RFC9421["examples"][example]
    headers = dict(vector.get("headers", RFC9421["test_request"]["headers"]))
    headers["Signature-Input"] = vector["signature_input"]
    headers["Signature"] = vector["signature"]
    return headers, vector


def _rfc_key(name: str) -> PublicKey:
    return load_public_key_pem(RFC9421["keys"][name]["public_key_pem"])


def test_rfc9421_b26_ed25519_reproduced_byte_for_byte() -> None:
    headers, vector = _rfc_request("B.2.6")
    request = RFC9421["test_request"]

    signed = read_signed_request(request["method"], request["path"], headers)

    assert signed.key_id == "test-key-ed25519"
    assert signed.bases == (vector["signature_base"].encode(),)
    private = _private_key(RFC9421["keys"]["test-key-ed25519"]["private_key_pem"])
    assert private.sign(signed.bases[0]) == signed.signature
    verify(signed, _rfc_key("test-key-ed25519"))


def test_rfc9421_b26_is_refused_by_policy_because_content_digest_is_not_covered() -> None:
    headers, _ = _rfc_request("B.2.6")
    request = RFC9421["test_request"]
    created = datetime.fromtimestamp(1618884473, UTC)
    with pytest.raises(SignatureError, match="Content-Digest"):
        parse_signature_request("POST", request["path"], headers, request["body"].encode(), created)


def test_rfc9421_b23_rsa_pss_full_coverage_passes_every_check() -> None:
    headers, vector = _rfc_request("B.2.3")
    request = RFC9421["test_request"]
    now = datetime.fromtimestamp(1618884473, UTC)

    signed = parse_signature_request(
        "POST", request["path"], headers, request["body"].encode(), now
    )

    assert signed.bases == (vector["signature_base"].encode(),)
    assert signed.algorithm is None  # no `alg`: the key decides, here RSA-PSS
    verify(signed, _rfc_key("test-key-rsa-pss"))


def test_rfc9421_proxy_signature_rsa_v1_5_reproduced_and_verified() -> None:
    headers, vector = _rfc_request("4.3-proxy_sig")
    body = RFC9421["test_request"]["body"].encode()
    now = datetime.fromtimestamp(1618884500, UTC)

    signed = parse_signature_request("POST", vector["path"], headers, body, now)

    assert signed.algorithm == "rsa-v1_5-sha256"
    assert signed.bases == (vector["signature_base"].encode(),)
    private = _private_key(RFC9421["keys"]["test-key-rsa"]["private_key_pem"])
    assert private.sign(signed.bases[0], padding.PKCS1v15(), hashes.SHA256()) == signed.signature
    # The RFC publishes this public key in PKCS#1 form ("BEGIN RSA PUBLIC KEY").
    verify(signed, _rfc_key("test-key-rsa"))


def test_rfc9421_expires_parameter_is_honoured() -> None:
    headers, vector = _rfc_request("4.3-proxy_sig")
    body = RFC9421["test_request"]["body"].encode()
    later = datetime.fromtimestamp(1618884540, UTC) + timedelta(hours=1, seconds=1)
    with pytest.raises(SignatureError, match="time window"):
        parse_signature_request("POST", vector["path"], headers, body, later)


def test_key_type_must_match_the_declared_algorithm() -> None:
    headers, vector = _rfc_request("4.3-proxy_sig")
    signed = read_signed_request("POST", vector["path"], headers)
    with pytest.raises(SignatureError, match="does not match algorithm"):
        verify(signed, _rfc_key("test-key-ed25519"))


def _rfc9421_post(key: ed25519.Ed25519PrivateKey, body: bytes, created: int) -> dict[str, str]:
    """An RFC 9421 request built by hand from §2.3, independently of the code under test."""
    digest = f"sha-256=:{_sha256(body)}:"
    params = (
        '("@method" "@target-uri" "content-digest");'
        f'created={created};keyid="https://remote.example/users/bob#ed25519-key";alg="ed25519"'
    )
    base = (
        '"@method": POST\n'
        '"@target-uri": https://school.example/inbox\n'
        f'"content-digest": {digest}\n'
        f'"@signature-params": {params}'
    )
    signature = base64.b64encode(key.sign(base.encode())).decode()
    return {
        "Host": "school.example",
        "Content-Digest": digest,
        "Signature-Input": f"sig1={params}",
        "Signature": f"sig1=:{signature}:",
    }


def test_rfc9421_ed25519_request_round_trip_and_tampered_body() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    headers = _rfc9421_post(key, ACTIVITY, int(NOW.timestamp()))

    signed = parse_signature_request("POST", "/inbox", headers, ACTIVITY, NOW)
    verify(signed, key.public_key())

    with pytest.raises(SignatureError, match="Content-Digest does not match the body"):
        parse_signature_request("POST", "/inbox", headers, ACTIVITY + b" ", NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        verify(signed, ed25519.Ed25519PrivateKey.generate().public_key())


def test_rfc9421_unknown_algorithm() -> None:
    headers = _rfc9421_post(ed25519.Ed25519PrivateKey.generate(), ACTIVITY, 1703066400)
    headers["Signature-Input"] = headers["Signature-Input"].replace('"ed25519"', '"hmac-sha256"')
    with pytest.raises(SignatureError, match="Unsupported signature algorithm 'hmac-sha256'"):
        read_signed_request("POST", "/inbox", headers)


@pytest.mark.parametrize(
    ("signature_input", "reason"),
    [
        ('sig1=("@method" "@target-uri"', "not a valid RFC 8941 dictionary"),
        ('other=("@method");created=1;keyid="k"', "no Signature matches"),
        ('sig1=("@method" "@method");created=1;keyid="k"', "covered twice"),
        ('sig1=(date);created=1;keyid="k"', "must be strings"),
        ('sig1=("@method" "@query-param";name="a");created=1;keyid="k"', "not supported"),
        ('sig1=("@status");created=1;keyid="k"', "not supported"),
        ('sig1=("@method" "x-missing");created=1;keyid="k"', "x-missing is missing"),
        ('sig1=("@method");created=1', "keyid is required"),
        ('sig1=("@method");created="soon";keyid="k"', "created is not an integer"),
    ],
)
def test_rfc9421_malformed_inputs(signature_input: str, reason: str) -> None:
    headers = {"Host": "a.example", "Signature-Input": signature_input, "Signature": "sig1=:AAAA:"}
    with pytest.raises(SignatureError, match=reason):
        read_signed_request("GET", "/", headers)


def test_rfc9421_requires_target_and_method() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    headers = _rfc9421_post(key, ACTIVITY, int(NOW.timestamp()))
    headers["Signature-Input"] = 'sig1=("content-digest");created=1703066400;keyid="k"'
    with pytest.raises(SignatureError, match="must cover @method"):
        parse_signature_request("POST", "/inbox", headers, ACTIVITY, NOW)


# Draft-cavage negative cases


def test_tampered_body_fails_the_digest() -> None:
    with pytest.raises(SignatureError, match="Digest does not match the body"):
        _check("POST", "/users/bob/inbox", _signed_post(), ACTIVITY.replace(b"Follow", b"Block"))


def test_post_without_digest_is_refused() -> None:
    headers = sign_request("POST", INBOX, {}, None, KEY_ID, OUR_KEY, NOW)
    with pytest.raises(SignatureError, match="must cover the Digest header"):
        _check("POST", "/users/bob/inbox", headers, ACTIVITY)
    # Even an empty POST must sign its digest, as Mastodon requires.
    with pytest.raises(SignatureError, match="must cover the Digest header"):
        _check("POST", "/users/bob/inbox", headers, b"")


def test_covered_digest_header_must_be_present() -> None:
    headers = _signed_post()
    del headers["Digest"]
    with pytest.raises(SignatureError, match="signed header digest is missing"):
        _check("POST", "/users/bob/inbox", headers, ACTIVITY)


@pytest.mark.parametrize(
    ("covered", "reason"),
    [
        ("host date", "must cover (request-target)"),
        ("(request-target) date", "must cover the Host header"),
        ("(request-target) host", "must cover the Date header"),
    ],
)
def test_required_headers_must_be_covered(covered: str, reason: str) -> None:
    values = {
        "(request-target)": "get /actor",
        "host": "school.example",
        "date": "Wed, 20 Dec 2023 10:00:00 GMT",
    }
    lines = [f"{name}: {values[name]}" for name in covered.split()]
    headers = {
        "Host": "school.example",
        "Date": values["date"],
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="{covered}",'
            f'signature="{_rsa_sign(OUR_KEY, chr(10).join(lines))}"'
        ),
    }
    with pytest.raises(SignatureError) as raised:
        _check("GET", "/actor", headers, b"")
    assert reason in raised.value.reason


@pytest.mark.parametrize(
    ("signed_at", "accepted"),
    [
        (NOW - timedelta(minutes=64), True),  # 5 minutes of validity plus one hour of skew
        (NOW - timedelta(minutes=66), False),
        (NOW - timedelta(hours=2), False),
        (NOW + timedelta(minutes=59), True),
        (NOW + timedelta(minutes=61), False),
    ],
)
def test_clock_window(signed_at: datetime, accepted: bool) -> None:
    headers = _signed_post(now=signed_at)
    if accepted:
        _check("POST", "/users/bob/inbox", headers, ACTIVITY)
    else:
        with pytest.raises(SignatureError, match="outside acceptable time window"):
            _check("POST", "/users/bob/inbox", headers, ACTIVITY)


def test_wrong_key_does_not_verify() -> None:
    signed = parse_signature_request("POST", "/users/bob/inbox", _signed_post(), ACTIVITY, NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        verify(signed, OTHER_KEY.public_key())


def test_small_rsa_keys_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    headers = sign_request("POST", INBOX, {}, ACTIVITY, KEY_ID, small, NOW)
    signed = parse_signature_request("POST", "/users/bob/inbox", headers, ACTIVITY, NOW)
    with pytest.raises(SignatureError, match="1024 bits are not accepted"):
        verify(signed, small.public_key())


def test_changed_covered_header_does_not_verify() -> None:
    headers = _signed_post()
    headers["Content-Type"] = "text/plain"
    with pytest.raises(SignatureError, match="does not verify"):
        _check("POST", "/users/bob/inbox", headers, ACTIVITY)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ('keyId="k",signature=', "Error parsing signature parameters"),
        ('keyId="k" signature="AAAA"', "Error parsing signature parameters"),
        ('keyId="k",keyId="j",signature="AAAA"', "duplicated"),
        ('keyId="k",algorithm="rsa-sha256"', "keyId and signature are required"),
        ('keyId="k",algorithm="rsa-sha256",headers="date",signature="!!!"', "not valid base64"),
        ('keyId="k",algorithm="rsa-sha512",signature="AAAA"', "Unsupported signature algorithm"),
        ('keyId="k",algorithm="ed25519",signature="AAAA"', "Unsupported signature algorithm"),
        ('keyId="k",algorithm="rsa-sha256",headers="(created)",signature="AAAA"', "(created)"),
        ('keyId="k",algorithm="hs2019",headers="(created)",signature="AAAA"', "created missing"),
    ],
)
def test_malformed_draft_signatures(signature: str, reason: str) -> None:
    headers = {"Host": "a.example", "Date": "Wed, 20 Dec 2023 10:00:00 GMT", "Signature": signature}
    with pytest.raises(SignatureError) as raised:
        read_signed_request("GET", "/", headers)
    assert reason in raised.value.reason


def test_unsigned_request() -> None:
    with pytest.raises(SignatureError, match="not signed"):
        read_signed_request("GET", "/", {"Host": "a.example"})


def test_oversized_headers_are_refused_before_parsing() -> None:
    headers = _signed_post()
    headers["Signature"] = headers["Signature"].replace(KEY_ID, KEY_ID + "x" * 9000)
    with pytest.raises(SignatureError, match="larger than 8192"):
        _check("POST", "/users/bob/inbox", headers, ACTIVITY)
    many = " ".join(f"x-{i}" for i in range(40))
    signature = f'keyId="k",algorithm="rsa-sha256",headers="{many}",signature="AAAA"'
    with pytest.raises(SignatureError, match="between 1 and 32"):
        read_signed_request("GET", "/", {"Signature": signature})


def test_legacy_signature_prefix_is_accepted() -> None:
    # Old node-http-signature versions prefix the value with "Signature "; Mastodon accepts it.
    headers = _signed_post()
    headers["Signature"] = "Signature " + headers["Signature"]
    _check("POST", "/users/bob/inbox", headers, ACTIVITY)


def test_repeated_fields_are_joined() -> None:
    # draft-cavage §2.3: a field sent on several lines is signed as its values joined by ", ".
    headers = sign_request(
        "GET", INBOX, {"Accept": "application/activity+json, text/html"}, None, KEY_ID, OUR_KEY, NOW
    )
    pairs = [(name, value) for name, value in headers.items() if name != "Accept"]
    pairs += [("Accept", "application/activity+json"), ("accept", " text/html ")]
    signed = parse_signature_request("GET", "/users/bob/inbox", iter(pairs), b"", NOW)
    verify(signed, OUR_KEY.public_key())


def test_hs2019_with_created_and_an_ed25519_key() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    created = int(NOW.timestamp())
    digest = f"SHA-256={_sha256(ACTIVITY)}"
    lines = [
        "(request-target): post /inbox",
        "host: school.example",
        f"(created): {created}",
        f"digest: {digest}",
    ]
    signature = base64.b64encode(key.sign("\n".join(lines).encode())).decode()
    headers = {
        "Host": "school.example",
        "Digest": digest,
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="hs2019",created={created},'
            f'headers="(request-target) host (created) digest",signature="{signature}"'
        ),
    }
    signed = parse_signature_request("POST", "/inbox", headers, ACTIVITY, NOW)
    assert signed.created == NOW
    verify(signed, key.public_key())
    with pytest.raises(SignatureError, match="time window"):
        parse_signature_request("POST", "/inbox", headers, ACTIVITY, NOW + timedelta(hours=2))


# Keys


def test_load_public_key_pem() -> None:
    spki = OUR_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert isinstance(load_public_key_pem(spki.decode()), rsa.RSAPublicKey)
    assert isinstance(_rfc_key("test-key-ed25519"), ed25519.Ed25519PublicKey)
    with pytest.raises(SignatureError, match="not a valid PEM"):
        load_public_key_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


# Refetching a rotated key


async def test_verify_with_refetch_uses_the_cached_key_when_it_works() -> None:
    signed = parse_signature_request("POST", "/users/bob/inbox", _signed_post(), ACTIVITY, NOW)
    calls: list[tuple[str, bool]] = []

    async def fetch_key(key_id: str, refresh: bool) -> PublicKey:
        calls.append((key_id, refresh))
        return OUR_KEY.public_key()

    assert await verify_with_refetch(signed, fetch_key) is not None
    assert calls == [(KEY_ID, False)]


async def test_verify_with_refetch_refetches_a_rotated_key_once() -> None:
    signed = parse_signature_request("POST", "/users/bob/inbox", _signed_post(), ACTIVITY, NOW)
    calls: list[tuple[str, bool]] = []
    fresh = OUR_KEY.public_key()

    async def fetch_key(key_id: str, refresh: bool) -> PublicKey:
        calls.append((key_id, refresh))
        return fresh if refresh else OTHER_KEY.public_key()

    assert await verify_with_refetch(signed, fetch_key) is fresh
    assert calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_verify_with_refetch_gives_up_after_one_refetch() -> None:
    signed = parse_signature_request("POST", "/users/bob/inbox", _signed_post(), ACTIVITY, NOW)
    calls: list[bool] = []

    async def fetch_key(key_id: str, refresh: bool) -> PublicKey:
        calls.append(refresh)
        return OTHER_KEY.public_key()

    with pytest.raises(SignatureError, match="does not verify"):
        await verify_with_refetch(signed, fetch_key)
    assert calls == [False, True]


# httpx.Auth against a verifying peer


def _verifying_peer(seen: list[tuple[str, ...]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        try:
            signed = parse_signature_request(
                request.method,
                request.url.raw_path.decode("ascii"),
                request.headers,
                request.content,
                NOW,
                scheme=request.url.scheme,
            )
            verify(signed, OUR_KEY.public_key())
        except SignatureError as error:
            return httpx.Response(401, json={"error": error.reason})
        seen.append(signed.covered)
        return httpx.Response(202)

    return httpx.MockTransport(handle)


async def test_http_signature_auth_signs_deliveries_and_fetches() -> None:
    seen: list[tuple[str, ...]] = []
    auth = HttpSignatureAuth(KEY_ID, OUR_KEY, clock=lambda: NOW)
    async with httpx.AsyncClient(transport=_verifying_peer(seen), auth=auth) as client:
        delivered = await client.post(
            INBOX, content=ACTIVITY, headers={"Content-Type": "application/activity+json"}
        )
        fetched = await client.get(
            "http://127.0.0.1:8001/users/bob/outbox?page=true",
            headers={"Accept": "application/activity+json"},
        )

    assert (delivered.status_code, fetched.status_code) == (202, 202)
    assert seen == [
        ("(request-target)", "host", "date", "digest", "content-type"),
        ("(request-target)", "host", "date", "accept"),
    ]


def test_http_signature_auth_works_with_the_sync_client() -> None:
    seen: list[tuple[str, ...]] = []
    auth = HttpSignatureAuth(KEY_ID, OUR_KEY, clock=lambda: NOW)
    with httpx.Client(transport=_verifying_peer(seen), auth=auth) as client:
        response = client.post(INBOX, json={"type": "Follow"})
    assert response.status_code == 202
    assert seen == [("(request-target)", "host", "date", "digest", "content-type")]


async def test_http_signature_auth_is_rejected_when_the_clock_is_off() -> None:
    auth = HttpSignatureAuth(KEY_ID, OUR_KEY, clock=lambda: NOW - timedelta(hours=3))
    async with httpx.AsyncClient(transport=_verifying_peer([]), auth=auth) as client:
        response = await client.post(INBOX, content=ACTIVITY)
    assert response.status_code == 401
    assert response.json() == {"error": "Signed request date outside acceptable time window"}
